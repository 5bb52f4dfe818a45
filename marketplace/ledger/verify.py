"""Check every invariant of DESIGN §3 on the live database: `flask --app wsgi ledger verify`.

Each check returns the ids of what breaks it; nothing here writes.
"""
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from marketplace.catalog.models import SupplyLot
from marketplace.extensions import db
from marketplace.ledger.balances import available_by_account, owed_and_pending
from marketplace.ledger.guards import APPEND_ONLY_TABLES
from marketplace.ledger.models import Account, JournalEntry, LotAllocation, Posting
from marketplace.ledger.rules.names import (
    COOPERATIVE_SALE, DIRECT_SALE, EARNINGS_PAYMENT, FLOOR_PURCHASE, ORDER_ATTRIBUTION_RULES, ORDER_PAYMENT_RULES,
    PAYOUT_APPROVED, RECIPIENT_KINDS, REFUND_FAILED, REFUND_PAID, SUPPLIER_SALE,
)
from marketplace.orders.models import Order, OrderLine
from marketplace.payments.models import Payment, Refund

SALE_RULES = (DIRECT_SALE, COOPERATIVE_SALE, SUPPLIER_SALE)
SPENDING_RULES = (PAYOUT_APPROVED, EARNINGS_PAYMENT)


@dataclass
class Violation:
    invariant: str
    message: str
    ids: dict


@dataclass
class Report:
    counts: dict = field(default_factory=dict)
    violations: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def fail(self, invariant, message, **ids):
        self.violations.append(Violation(invariant, message, ids))

    @property
    def ok(self):
        return not self.violations


def verify_ledger():
    """Run every check; returns a Report with counts, violations (with ids) and notes."""
    report = Report()
    for check in (check_entries_balance, check_orders_add_up, check_exactly_once, check_lots,
                  check_never_below_zero, check_available_not_negative, check_settings_recorded, check_immutability):
        check(report)
    return report


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def check_entries_balance(report):
    """Every entry has two or more postings summing to zero; the whole ledger sums to zero."""
    report.counts.update(entries=_count(JournalEntry), postings=_count(Posting), accounts=_count(Account))
    rows = db.session.execute(
        select(JournalEntry.id, func.count(Posting.id), func.coalesce(func.sum(Posting.amount_fen), 0))
        .outerjoin(Posting, Posting.entry_id == JournalEntry.id).group_by(JournalEntry.id)
        .having((func.count(Posting.id) < 2) | (func.coalesce(func.sum(Posting.amount_fen), 0) != 0))
    ).all()
    for entry_id, legs, total in rows:
        report.fail("entry_balances", f"entry has {legs} postings summing to {int(total)} fen", entry_id=entry_id)
    total = int(db.session.scalar(select(func.coalesce(func.sum(Posting.amount_fen), 0))))
    if total != 0:
        report.fail("ledger_sums_to_zero", f"the whole ledger sums to {total} fen", entry_id=None)


def _per_order(query):
    return {order_id: int(total) for order_id, total in db.session.execute(query).all()}


def check_orders_add_up(report):
    """Each attributed order credited exactly paid − refunded; its sales_pending nets to zero."""
    # In SQL as a subquery, not a list of ids: a live ledger has more orders than a statement has parameters.
    paid_orders = select(JournalEntry.order_id).where(JournalEntry.rule.in_(ORDER_PAYMENT_RULES),
                                                      JournalEntry.order_id.is_not(None))
    attributed = set(db.session.scalars(paid_orders))
    credited = _per_order(
        select(JournalEntry.order_id, -func.sum(Posting.amount_fen))
        .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
        .where(JournalEntry.rule.in_(ORDER_ATTRIBUTION_RULES), Account.kind.in_(RECIPIENT_KINDS))
        .group_by(JournalEntry.order_id))
    pending = _per_order(
        select(JournalEntry.order_id, func.sum(Posting.amount_fen))
        .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
        .where(JournalEntry.order_id.is_not(None), Account.kind == "sales_pending").group_by(JournalEntry.order_id))
    failed = aliased(JournalEntry)  # a refund Stripe failed after it was posted gave nothing back
    refunded = _per_order(
        select(Refund.order_id, func.sum(Refund.amount_fen)).join(JournalEntry, JournalEntry.refund_id == Refund.id)
        .where(JournalEntry.rule == REFUND_PAID,
               ~select(failed.id).where(failed.refund_id == Refund.id, failed.rule == REFUND_FAILED).exists())
        .group_by(Refund.order_id))
    paid_by_stripe = dict(db.session.execute(select(Payment.order_id, Payment.amount_fen)).all())
    for order in db.session.scalars(select(Order).where(Order.id.in_(paid_orders))):
        paid = paid_by_stripe.get(order.id, order.total_fen)
        expected = paid - refunded.get(order.id, 0)
        if credited.get(order.id, 0) != expected:
            report.fail("order_credits", f"order {order.public_no} credited {credited.get(order.id, 0)} fen, "
                        f"paid − refunded is {expected}", order_id=order.id)
        if pending.get(order.id, 0) != 0:
            report.fail("order_credits", f"order {order.public_no} leaves {pending[order.id]} fen in sales_pending",
                        order_id=order.id)
    stray = set(credited) - attributed
    for order_id in sorted(stray):
        report.fail("order_credits", "credits posted for an order that was never paid", order_id=order_id)
    waiting = db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.status == "succeeded",
        # NOT EXISTS, not NOT IN: PostgreSQL turns it into an anti-join; NOT IN over millions of
        # orders is compared row by row once the subquery's hash outgrows work_mem.
        ~select(JournalEntry.id).where(JournalEntry.order_id == Payment.order_id,
                                       JournalEntry.rule.in_(ORDER_PAYMENT_RULES)).exists()))
    report.counts.update(orders_attributed=len(attributed), payments_awaiting_attribution=waiting)


def check_exactly_once(report):
    """One payment entry per order, one sale entry per line of an attributed order, one floor purchase per lot."""
    for order_id, times in db.session.execute(
            select(JournalEntry.order_id, func.count()).where(JournalEntry.rule.in_(ORDER_PAYMENT_RULES))
            .group_by(JournalEntry.order_id).having(func.count() > 1)).all():
        report.fail("exactly_once", f"order paid {times} times in the ledger", order_id=order_id)
    sales = dict(db.session.execute(
        select(JournalEntry.order_line_id, func.count()).where(JournalEntry.rule.in_(SALE_RULES))
        .group_by(JournalEntry.order_line_id)).all())
    attributed = select(JournalEntry.order_id).where(JournalEntry.rule.in_(ORDER_PAYMENT_RULES))
    for line_id in db.session.scalars(select(OrderLine.id).where(OrderLine.order_id.in_(attributed))):
        if sales.get(line_id, 0) != 1:
            report.fail("exactly_once", f"order line attributed {sales.get(line_id, 0)} times", order_line_id=line_id)
    floors = dict(db.session.execute(
        select(JournalEntry.lot_id, func.count()).where(JournalEntry.rule == FLOOR_PURCHASE)
        .group_by(JournalEntry.lot_id)).all())
    for lot in db.session.scalars(select(SupplyLot)):
        if floors.get(lot.id, 0) != 1 and lot.quantity * lot.floor_price_fen > 0:
            report.fail("exactly_once", f"lot's floor purchase posted {floors.get(lot.id, 0)} times", lot_id=lot.id)
    report.counts.update(lots=len(floors))


def check_lots(report):
    """A lot's remaining units are its quantity less what was allocated and not returned."""
    taken = dict(db.session.execute(
        select(LotAllocation.lot_id, func.sum(LotAllocation.lot_units - LotAllocation.returned_units))
        .group_by(LotAllocation.lot_id)).all())
    for lot in db.session.scalars(select(SupplyLot)):
        if lot.quantity_remaining != lot.quantity - int(taken.get(lot.id) or 0):
            report.fail("lots", f"lot has {lot.quantity_remaining} units left, allocations say "
                        f"{lot.quantity - int(taken.get(lot.id) or 0)}", lot_id=lot.id)
    over = db.session.execute(
        select(OrderLine.id).join(LotAllocation, LotAllocation.order_line_id == OrderLine.id)
        .group_by(OrderLine.id, OrderLine.quantity, OrderLine.lot_units)
        .having(func.sum(LotAllocation.lot_units) > OrderLine.quantity * OrderLine.lot_units)).scalars().all()
    for line_id in over:
        report.fail("lots", "more lot units allocated than the line sold", order_line_id=line_id)


def check_never_below_zero(report):
    """After every payout approval or purchase from earnings, the payee's account still owes ≥ 0."""
    running = (select(Posting.entry_id, Posting.account_id, Account.owner_type, Account.owner_id,
                      func.sum(Posting.amount_fen).over(partition_by=Posting.account_id,
                                                        order_by=Posting.entry_id).label("balance"))
               .join(Account, Posting.account_id == Account.id)
               .where(Account.kind.in_(("household_payable", "supplier_payable")))).subquery()
    rows = db.session.execute(
        select(running.c.entry_id, running.c.owner_type, running.c.owner_id, running.c.balance)
        .join(JournalEntry, JournalEntry.id == running.c.entry_id)
        .where(JournalEntry.rule.in_(SPENDING_RULES), running.c.balance > 0)).all()
    for entry_id, owner_type, owner_id, balance in rows:
        report.fail("never_below_zero", f"{owner_type} {owner_id} left at {-int(balance)} fen",
                    entry_id=entry_id, **{f"{owner_type}_id": owner_id})


def check_available_not_negative(report):
    """Now, no household, supplier or love fund has less than nothing available (DESIGN §3
    "Settlement"): a refund never pushed one below zero, and no household was paid floor money its
    cooperative had not funded (`payouts_within_funding`)."""
    accounts = select(Account.id).where(Account.kind.in_(("household_payable", "supplier_payable", "love_fund")))
    owed = owed_and_pending(accounts)
    available = available_by_account(accounts)
    owners = {account: (kind, owner_type, owner_id) for account, kind, owner_type, owner_id in db.session.execute(
        select(Account.id, Account.kind, Account.owner_type, Account.owner_id).where(Account.id.in_(list(available))))}
    for account, fen in sorted(available.items()):
        if fen >= 0:
            continue
        kind, owner_type, owner_id = owners[account]
        total, pending = owed[account]
        unfunded = total - pending >= 0  # only the floor money awaiting funding takes it below zero
        report.fail("payouts_within_funding" if unfunded else "available_not_negative",
                    f"{owner_type} {owner_id} ({kind}) has {fen} fen available", account_id=account,
                    **{f"{owner_type}_id": owner_id})
    report.counts.update(payee_accounts=len(available))


def check_settings_recorded(report):
    """Every attribution entry says which rule and which settings produced it."""
    for entry_id in db.session.scalars(select(JournalEntry.id).where(
            JournalEntry.rule.in_(SALE_RULES + (FLOOR_PURCHASE,))).order_by(JournalEntry.id)):
        entry = db.session.get(JournalEntry, entry_id)
        if not entry.rule_settings:
            report.fail("settings_recorded", "attribution entry without its settings", entry_id=entry_id)


def check_immutability(report):
    """Postings never change: PostgreSQL rejects UPDATE and DELETE by trigger (see guards.py)."""
    if db.engine.dialect.name != "postgresql":
        report.notes.append("immutability: enforced by PostgreSQL triggers; not checkable on SQLite")
        return
    present = set(db.session.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
    for table in APPEND_ONLY_TABLES:
        if f"{table}_immutable" not in present:
            report.fail("immutability", f"trigger {table}_immutable is missing", table=table)
    if "postings_balance" not in present:
        report.fail("immutability", "trigger postings_balance is missing", table="postings")
