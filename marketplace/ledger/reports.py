"""What the ledger tells people: a buyer's impact receipt, a town's impact, a household's statement.

Everything is read from posted entries (with the settings they recorded), never recomputed
from today's configuration.
"""
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from marketplace.coops.models import Cooperative
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, LotAllocation, Posting
from marketplace.ledger.rules.names import (
    INCOME_MECHANISMS, ORDER_ATTRIBUTION_RULES, ORDER_PAYMENT_RULES, PAYMENT_FEE, RECIPIENT_KINDS,
    household_mechanism,
)
from marketplace.ledger.services import household_account
from marketplace.local_time import day_bounds_utc
from marketplace.orders.models import Order, OrderLine
from marketplace.people.models import Household, Supplier
from marketplace.places.models import Town, Village


@dataclass(frozen=True)
class ReceiptRow:
    kind: str
    label_zh: str
    label_en: str
    fen: int
    owner_id: int | None = None
    # Households supplying a cooperative line: what they were paid at delivery to the cooperative
    # for these very units (the floor price, rule 3). Already theirs before this sale, so not
    # part of the receipt's total; `fen` is what this sale added on top.
    floor_fen: int = 0


@dataclass(frozen=True)
class ImpactReceipt:
    attributed: bool
    rows: list
    total_fen: int


ROW_ORDER = ("household", "cooperative", "supplier", "platform", "shipping", "love_fund", "payment_fees",
             "borne_by_cooperative", "borne_by_supplier", "borne_by_carrier", "borne_by_platform")
KIND_OF_ACCOUNT = {"household_payable": "household", "cooperative_revenue": "cooperative",
                   "supplier_payable": "supplier", "platform_fees": "platform", "shipping": "shipping",
                   "love_fund": "love_fund", "refund_losses": "borne_by_platform"}
# What a bearer gave back for a refund in a payee's place (an after-sales claim, or a refund after
# settlement): a receivable from the cooperative, the supplier or (no owner) the carrier.
RECEIVABLE_ROW = {"cooperative": "borne_by_cooperative", "supplier": "borne_by_supplier", "": "borne_by_carrier"}


def _label(kind, owner_id):
    if kind == "household":
        household = db.session.get(Household, owner_id)
        return household.public_label("zh"), household.public_label("en")
    if kind == "cooperative":
        coop = db.session.get(Cooperative, owner_id)
        return coop.name_zh, coop.name_en
    if kind == "supplier":
        supplier = db.session.get(Supplier, owner_id)
        return supplier.name_zh, supplier.name_en
    if kind == "love_fund":
        town = db.session.get(Town, owner_id)
        return f"{town.name_zh}爱心基金", f"{town.name_en} love fund"
    if kind == "borne_by_cooperative":
        coop = db.session.get(Cooperative, owner_id)
        return f"售后退款（{coop.name_zh}承担）", f"After-sales refund borne by {coop.name_en}"
    if kind == "borne_by_supplier":
        supplier = db.session.get(Supplier, owner_id)
        return f"售后退款（{supplier.name_zh}承担）", f"After-sales refund borne by {supplier.name_en}"
    return {"borne_by_carrier": ("售后退款（承运方承担）", "After-sales refund borne by the carrier"),
            "borne_by_platform": ("售后退款（平台承担）", "After-sales refund borne by the platform"),
            "platform": ("平台服务费", "Platform commission"), "shipping": ("运费", "Shipping"),
            "payment_fees": ("支付手续费（平台承担）", "Payment fees (borne by the platform)")}[kind]


def _floor_paid_for_order(order_id):
    """{household id: fen} paid at intake, at the lot's floor price, for the units of this order
    that came from the household's lots (units returned by a refund left out)."""
    rows = db.session.execute(
        select(LotAllocation.household_id,
               func.sum((LotAllocation.lot_units - LotAllocation.returned_units) * LotAllocation.floor_price_fen))
        .join(OrderLine, OrderLine.id == LotAllocation.order_line_id)
        .where(OrderLine.order_id == order_id)
        .group_by(LotAllocation.household_id)
    ).all()
    return {household_id: int(fen) for household_id, fen in rows if fen}


def impact_receipt(order_id):
    """Where the buyer's money went: one row per household, cooperative, supplier, the platform,
    shipping, the love fund and the payment fees; rows sum exactly to paid − refunded.

    Households appear by `public_label` (their consented label, or anonymous). The platform's
    row is its commission less the payment fees it bears, which get a row of their own.
    """
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound("No such order.")
    paid = db.session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.order_id == order.id, JournalEntry.rule.in_(ORDER_PAYMENT_RULES)))
    if not paid:
        return ImpactReceipt(attributed=False, rows=[], total_fen=0)
    credited = db.session.execute(
        select(Account.kind, Account.owner_type, Account.owner_id, func.sum(Posting.amount_fen))
        .join(Posting, Posting.account_id == Account.id)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.order_id == order.id, JournalEntry.rule.in_(ORDER_ATTRIBUTION_RULES),
               Account.kind.in_(RECIPIENT_KINDS))
        .group_by(Account.kind, Account.owner_type, Account.owner_id)
    ).all()
    fees = -int(db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .join(Account, Posting.account_id == Account.id)
        .where(JournalEntry.order_id == order.id, JournalEntry.rule == PAYMENT_FEE, Account.kind == "stripe_receivable")
    ))
    amounts = {}
    for account_kind, owner_type, owner_id, total in credited:
        kind = RECEIVABLE_ROW[owner_type] if account_kind == "claims_receivable" else KIND_OF_ACCOUNT[account_kind]
        owned = ("household", "cooperative", "supplier", "love_fund", "borne_by_cooperative", "borne_by_supplier")
        key = (kind, owner_id if kind in owned else None)
        amounts[key] = amounts.get(key, 0) - int(total)
    if fees:
        amounts[("platform", None)] = amounts.get(("platform", None), 0) - fees
        amounts[("payment_fees", None)] = fees
    floors = _floor_paid_for_order(order.id)
    for household_id in floors:
        amounts.setdefault(("household", household_id), 0)
    rows = [ReceiptRow(kind, *_label(kind, owner), fen, owner,
                       floor_fen=floors.get(owner, 0) if kind == "household" else 0)
            for (kind, owner), fen in sorted(amounts.items(),
                                             key=lambda item: (ROW_ORDER.index(item[0][0]), item[0][1] or 0))
            if fen or (kind == "household" and floors.get(owner))]
    return ImpactReceipt(attributed=True, rows=rows, total_fen=sum(row.fen for row in rows))


def _bounds(start, end):
    """[low, high) in stored UTC of the district's days start … end (or the moments themselves)."""
    low = day_bounds_utc(start)[0] if isinstance(start, date) and not isinstance(start, datetime) else start
    high = day_bounds_utc(end)[1] if isinstance(end, date) and not isinstance(end, datetime) else end
    return low, high


def _household_postings(household_ids, start=None, end=None):
    """(household_id, entry, fen credited) for each posting on these households' accounts, oldest first."""
    query = (select(Account.owner_id, JournalEntry, Posting.amount_fen)
             .join(Posting, Posting.account_id == Account.id)
             .join(JournalEntry, Posting.entry_id == JournalEntry.id)
             .where(Account.kind == "household_payable", Account.owner_id.in_(household_ids))
             .order_by(JournalEntry.id))
    if start is not None:
        query = query.where(JournalEntry.created_at >= start)
    if end is not None:
        query = query.where(JournalEntry.created_at < end)
    return [(owner, entry, -amount) for owner, entry, amount in db.session.execute(query).all()]


@dataclass(frozen=True)
class TownImpact:
    town_id: int
    households_reached: int
    income_fen: int
    by_mechanism: dict
    households_by_mechanism: dict


def town_impact(town_id, start=None, end=None):
    """Households of the town that earned anything in [start, end] (dates, inclusive) and income by mechanism."""
    if db.session.get(Town, town_id) is None:
        raise NotFound("No such town.")
    low, high = _bounds(start, end)
    households = db.session.scalars(select(Household.id).join(Village).where(Village.town_id == town_id)).all()
    by_mechanism = {mechanism: 0 for mechanism in INCOME_MECHANISMS}
    earners = {mechanism: set() for mechanism in INCOME_MECHANISMS}
    for household_id, entry, fen in _household_postings(households, low, high):
        mechanism = household_mechanism(entry)
        if mechanism in by_mechanism:
            by_mechanism[mechanism] += fen
            earners[mechanism].add(household_id)
    reached = set().union(*earners.values())
    return TownImpact(town_id=town_id, households_reached=len(reached), income_fen=sum(by_mechanism.values()),
                      by_mechanism=by_mechanism,
                      households_by_mechanism={mechanism: len(ids) for mechanism, ids in earners.items()})


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    entry_id: int
    mechanism: str
    fen: int
    rule: str
    memo: str
    order_no: str | None = None
    lot_id: int | None = None


@dataclass(frozen=True)
class HouseholdStatement:
    household_id: int
    start: date
    end: date
    opening_fen: int
    credits_by_mechanism: dict
    spending_fen: int
    payouts_fen: int
    other_fen: int
    closing_fen: int
    lines: list = field(default_factory=list)


def household_statement(household_id, start, end):
    """A household's statement for [start, end] (the district's calendar days, inclusive).

    Opening balance, every credit by mechanism (refunds counted against the mechanism they
    reverse), spending on downlink goods and payouts (positive numbers, net of failed payouts),
    and closing = opening + credits − spending − payouts + other.
    """
    if db.session.get(Household, household_id) is None:
        raise NotFound("No such household.")
    low, high = _bounds(start, end)
    account = household_account(household_id)
    opening = -int(db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0)).join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account, JournalEntry.created_at < low)))
    order_numbers = {}

    def order_no(order_id):
        if order_id not in order_numbers:
            order_numbers[order_id] = db.session.get(Order, order_id).public_no
        return order_numbers[order_id]

    postings = ((entry, fen) for _household, entry, fen in _household_postings([household_id], low, high))
    return statement_from_postings(household_id, start, end, opening, postings, order_no)


def statement_from_postings(household_id, start, end, opening_fen, postings, order_no):
    """A period's statement from its (entry, fen credited to the household) pairs in time order;
    `order_no(order_id)` names the order an entry belongs to."""
    credits = {mechanism: 0 for mechanism in INCOME_MECHANISMS}
    spending = payouts = other = 0
    lines = []
    for entry, fen in postings:
        mechanism = household_mechanism(entry)
        if mechanism in credits:
            credits[mechanism] += fen
        elif mechanism == "downlink_spending":
            spending -= fen
        elif mechanism == "payout":
            payouts -= fen
        else:
            other += fen
        lines.append(StatementLine(at=entry.created_at, entry_id=entry.id, mechanism=mechanism, fen=fen,
                                   rule=entry.rule, memo=entry.memo,
                                   order_no=order_no(entry.order_id) if entry.order_id else None,
                                   lot_id=entry.lot_id))
    closing = opening_fen + sum(credits.values()) - spending - payouts + other
    return HouseholdStatement(household_id=household_id, start=start, end=end, opening_fen=opening_fen,
                              credits_by_mechanism=credits, spending_fen=spending, payouts_fen=payouts,
                              other_fen=other, closing_fen=closing, lines=lines)
