"""What a cooperative manager sees first: sales, money credited to members, stock running low.

Money to households is read from the ledger's journal entries (their `rule` names the
mechanism), never recomputed from today's settings.
"""
from collections import defaultdict
from types import SimpleNamespace

from sqlalchemy import or_, select

from marketplace.catalog.models import Product, SupplyLot, Variant
from marketplace.coops import scope
from marketplace.coops.models import Cooperative, CooperativePeriod, Membership
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import household_mechanism
from marketplace.orders.models import Order, OrderLine
from marketplace.orders.fulfilment import local_day
from marketplace.local_time import local_today

SOLD_STATUSES = ("paid", "packed", "shipped", "delivered", "completed", "partially_refunded", "refunded")
LOW_STOCK_UNITS = 10


def _months_back(today, count):
    months, year, month = [], today.year, today.month
    for _step in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def sales_by_product_and_month(cooperative_id, months=6, today=None):
    """Net sales (after refunds) in fen per product and month (China time) over the last `months`.

    Returns (months, rows): rows are (product title pair, {month: fen}, total fen), best seller first.
    """
    month_keys = _months_back(today or local_today(), months)
    seller_id = scope.cooperative_seller_id(cooperative_id)
    lines = db.session.execute(
        select(OrderLine.product_id, Product.title_zh, Product.title_en, OrderLine.line_total_fen,
               OrderLine.refunded_fen, Order.paid_at)
        .join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.seller_id == seller_id, Order.status.in_(SOLD_STATUSES), Order.paid_at.is_not(None))
    ).all()
    table = defaultdict(lambda: defaultdict(int))
    titles = {}
    for product_id, title_zh, title_en, total_fen, refunded_fen, paid_at in lines:
        month = local_day(paid_at).strftime("%Y-%m")
        if month in month_keys:
            table[product_id][month] += total_fen - refunded_fen
            titles[product_id] = (title_zh, title_en)
    rows = [(titles[pid], dict(by_month), sum(by_month.values())) for pid, by_month in table.items()]
    rows.sort(key=lambda row: -row[2])
    return month_keys, rows


def monthly_totals(month_keys, rows):
    return [(month, sum(by_month.get(month, 0) for _title, by_month, _total in rows)) for month in month_keys]


def credits_by_household(cooperative_id):
    """Money the ledger credited to each member household through this cooperative, by rule.

    Counts entries caused by this cooperative: floor purchases of its lots, its order lines
    (profit return, reversed on refund) and its period dividends. Returns (household,
    {mechanism: fen}, total fen), largest first; mechanisms are the ledger's names.
    """
    members = {m.household_id: m.household for m in db.session.scalars(
        select(Membership).where(Membership.cooperative_id == cooperative_id))}
    seller_id = scope.cooperative_seller_id(cooperative_id)
    coop_lots = select(SupplyLot.id).where(SupplyLot.cooperative_id == cooperative_id)
    coop_lines = select(OrderLine.id).where(OrderLine.seller_id == seller_id)
    coop_periods = [f"dividend:period:{pid}" for pid in db.session.scalars(
        select(CooperativePeriod.id).where(CooperativePeriod.cooperative_id == cooperative_id))]
    caused_here = or_(JournalEntry.lot_id.in_(coop_lots), JournalEntry.order_line_id.in_(coop_lines),
                      *[JournalEntry.idempotency_key.startswith(key) for key in coop_periods])
    postings = db.session.execute(
        select(Account.owner_id, JournalEntry.rule, JournalEntry.rule_settings, Posting.amount_fen)
        .join(Posting, Posting.account_id == Account.id).join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Account.kind == "household_payable", Account.owner_type == "household",
               Account.owner_id.in_(list(members)), caused_here)
    ).all()
    by_household = defaultdict(lambda: defaultdict(int))
    for household_id, rule, settings, amount_fen in postings:
        # A credit is negative (owed to the household); a refund counts against what it reverses.
        mechanism = household_mechanism(SimpleNamespace(rule=rule, rule_settings=settings))
        by_household[household_id][mechanism] -= amount_fen
    rows = [(members[hid], dict(rules), sum(rules.values())) for hid, rules in by_household.items()]
    rows.sort(key=lambda row: (-row[2], row[0].id))
    return rows


def low_stock(cooperative_id):
    """Variants on sale with LOW_STOCK_UNITS or fewer left."""
    return db.session.scalars(
        select(Variant).join(Product)
        .where(Product.seller_id == scope.cooperative_seller_id(cooperative_id), Product.status == "active",
               Variant.is_active.is_(True), Variant.stock_available <= LOW_STOCK_UNITS)
        .order_by(Variant.stock_available, Variant.id)
    ).all()


def dashboard(actor_id):
    """Everything the dashboard shows, for the actor's cooperative."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    month_keys, sales_rows = sales_by_product_and_month(cooperative_id)
    credits = credits_by_household(cooperative_id)
    return {
        "cooperative": db.session.get(Cooperative, cooperative_id),
        "months": month_keys, "sales_rows": sales_rows, "monthly": monthly_totals(month_keys, sales_rows),
        "credits": credits, "credit_chart": [(household.head_name, total) for household, _rules, total in credits[:10]],
        "mechanisms": sorted({rule for _household, rules, _total in credits for rule in rules}),
        "low_stock": low_stock(cooperative_id),
    }
