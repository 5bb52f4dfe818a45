"""Ledger views of the downlink: the village's two-way flow by month, and what suppliers are owed."""
from sqlalchemy import or_, select

from marketplace.coops.models import Cooperative
from marketplace.downlink.pickup import CASH_PAYMENT
from marketplace.downlink.scope import agent_point, supplier_of
from marketplace.extensions import db
from marketplace.ledger.balances import supplier_payable_fen
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import EARNINGS_PAYMENT, PAYMENT_RECEIVED
from marketplace.orders.models import Order, OrderLine
from marketplace.people.models import Household, Supplier


PAYMENT_RULES = (PAYMENT_RECEIVED, EARNINGS_PAYMENT, CASH_PAYMENT)


def _orders_matching(*conditions):
    """Entries caused by these orders, whether posted per order or per order line."""
    orders = select(Order.id).where(*conditions)
    lines = select(OrderLine.id).join(Order, Order.id == OrderLine.order_id).where(*conditions)
    return or_(JournalEntry.order_id.in_(orders), JournalEntry.order_line_id.in_(lines))


def _by_month(rows):
    months = {}
    for created_at, amount_fen in rows:
        key = f"{created_at:%Y-%m}"
        months[key] = months.get(key, 0) + amount_fen
    return months


def _credits_by_month(accounts, cause):
    """Net credits (fen) to `accounts` per month "YYYY-MM" from entries matching `cause`."""
    return _by_month(db.session.execute(
        select(JournalEntry.created_at, -Posting.amount_fen).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id.in_(accounts), cause)
    ).all())


def _paid_by_month(cause):
    """What was paid (fen) per month by the payment entries matching `cause`: their debit side."""
    return _by_month(db.session.execute(
        select(JournalEntry.created_at, Posting.amount_fen).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.rule.in_(PAYMENT_RULES), Posting.amount_fen > 0, cause)
    ).all())


def two_way_by_month(actor_id):
    """What the agent's village sold up and bought down, per month, from the ledger.

    Sold up: credits to the village's households (floor purchases at intake and their uplink
    sales) and to its cooperatives (uplink sales), net of refunds. Bought down: what was paid
    for the service point's downlink orders (card, earnings or cash). Newest month first.
    """
    point = agent_point(actor_id)
    village_id = point.village_id
    households = select(Account.id).where(
        Account.kind == "household_payable", Account.owner_type == "household",
        Account.owner_id.in_(select(Household.id).where(Household.village_id == village_id)))
    cooperatives = select(Account.id).where(
        Account.kind == "cooperative_revenue", Account.owner_type == "cooperative",
        Account.owner_id.in_(select(Cooperative.id).where(Cooperative.village_id == village_id)))
    uplink_sale = _orders_matching(Order.direction == "uplink")
    up_households = _credits_by_month(households, or_(JournalEntry.lot_id.is_not(None), uplink_sale))
    up_cooperatives = _credits_by_month(cooperatives, uplink_sale)
    down = _paid_by_month(_orders_matching(Order.direction == "downlink", Order.service_point_id == point.id))
    months = sorted(set(up_households) | set(up_cooperatives) | set(down), reverse=True)
    return [{"month": month, "households_fen": up_households.get(month, 0),
             "cooperatives_fen": up_cooperatives.get(month, 0), "downlink_fen": down.get(month, 0)}
            for month in months]


def supplier_owed(actor_id):
    """What the ledger says the acting supplier is owed now (supplier_payable)."""
    return supplier_payable_fen(supplier_of(actor_id))


def supplier_payables_for_town(town_id, min_amount_fen=1):
    """Suppliers based in `town_id` and what each is owed, for the town's payout batch.

    Returns [(supplier, fen)] with fen >= min_amount_fen, by supplier id; the amounts are the
    ledger's supplier_payable balances, so an item built from them never pays more than is owed.
    """
    suppliers = db.session.scalars(select(Supplier).where(Supplier.town_id == town_id).order_by(Supplier.id)).all()
    owed = [(supplier, supplier_payable_fen(supplier.id)) for supplier in suppliers]
    return [(supplier, fen) for supplier, fen in owed if fen >= min_amount_fen]
