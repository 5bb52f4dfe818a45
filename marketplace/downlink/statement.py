"""A supplier's statement: each order of its daily goods, what it paid, the platform's commission
at the rate agreed with the supplier, and what the supplier is owed for it.

Read from the supplier-sale entries and the rate and commission recorded on each (rule_settings
`commission_rate`, `commission_fen`), never from the supplier's rate today: a rate agreed later
changes no past order.
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from marketplace.downlink.scope import supplier_of
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.rules.names import SUPPLIER_SALE
from marketplace.ledger.services import account_id
from marketplace.local_time import local_day
from marketplace.orders.models import Order, OrderLine
from marketplace.people.models import Supplier


@dataclass
class StatementOrder:
    """One order on the statement; `rates` are the commission rates recorded on its lines (one, as a rule)."""

    order_no: str
    day: date
    lines: list = field(default_factory=list)  # OrderLines of the supplier's goods
    paid_fen: int = 0
    commission_fen: int = 0
    owed_fen: int = 0
    rates: list = field(default_factory=list)


def supplier_statement(actor_id, limit=50):
    """(agreed rate now, [StatementOrder]) of the acting supplier's `limit` latest orders, newest first."""
    supplier_id = supplier_of(actor_id)
    account = account_id("supplier_payable", "supplier", supplier_id)
    latest = db.session.scalars(
        select(JournalEntry.order_id).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account, JournalEntry.rule == SUPPLIER_SALE)
        .group_by(JournalEntry.order_id).order_by(func.max(JournalEntry.id).desc()).limit(limit)).all()
    rows = db.session.execute(
        select(JournalEntry, -Posting.amount_fen).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account, JournalEntry.rule == SUPPLIER_SALE, JournalEntry.order_id.in_(latest))
        .order_by(JournalEntry.id)
    ).all() if latest else []
    orders = {order.id: order for order in db.session.scalars(select(Order).where(Order.id.in_(latest)))}
    lines = {line.id: line for line in db.session.scalars(
        select(OrderLine).where(OrderLine.id.in_([entry.order_line_id for entry, _owed in rows])))}
    statement = {}
    for entry, owed_fen in rows:
        order = orders[entry.order_id]
        row = statement.setdefault(order.id, StatementOrder(order.public_no, local_day(order.paid_at or entry.created_at)))
        commission_fen = int(entry.rule_settings.get("commission_fen", 0))
        row.lines.append(lines[entry.order_line_id])
        row.owed_fen += owed_fen
        row.commission_fen += commission_fen
        row.paid_fen += owed_fen + commission_fen
        rate = Decimal(entry.rule_settings.get("commission_rate", "0"))
        if rate not in row.rates:
            row.rates.append(rate)
    agreed = db.session.get(Supplier, supplier_id).commission_rate
    return agreed, [statement[order_id] for order_id in latest if order_id in statement]


@dataclass(frozen=True)
class OwedBreakdown:
    """How "owed to you" is reached: what villagers paid for the supplier's goods, less the
    platform's commission recorded on each sale, less what was refunded or already paid out."""

    paid_fen: int
    commission_fen: int
    refunded_or_paid_out_fen: int
    owed_fen: int
    agreed_rate: Decimal


def owed_breakdown(actor_id, owed_fen):
    """The acting supplier's `owed_fen` (its payable balance now) explained from its sale entries."""
    supplier_id = supplier_of(actor_id)
    account = account_id("supplier_payable", "supplier", supplier_id)
    credited_fen, commission_fen = 0, 0
    for settings, credited in db.session.execute(
            select(JournalEntry.rule_settings, -Posting.amount_fen).join(Posting, Posting.entry_id == JournalEntry.id)
            .where(Posting.account_id == account, JournalEntry.rule == SUPPLIER_SALE)):
        credited_fen += int(credited)
        commission_fen += int((settings or {}).get("commission_fen", 0))
    return OwedBreakdown(paid_fen=credited_fen + commission_fen, commission_fen=commission_fen,
                         refunded_or_paid_out_fen=credited_fen - owed_fen, owed_fen=owed_fen,
                         agreed_rate=db.session.get(Supplier, supplier_id).commission_rate)
