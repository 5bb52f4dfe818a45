"""The quota report (消费帮扶 evidence): what an organisation bought here in a year against its
required share, by month, and where its money went — towns, villages, cooperatives and how many
households, by mechanism — read from the ledger, not from order totals.

An order counts in the year (district time) it was paid. "Bought" is what its goods' sellers were
credited, net of refunds (the ledger's order-attribution entries, shipping and love-fund
round-ups left out). Households reached: those credited by the order's entries (a direct sale,
a profit return) and those whose supplied lots the sold units were taken from (their guaranteed
floor purchase, 保底收购, at the lot's floor price, less units returned).
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from marketplace.coops.models import Cooperative
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, LotAllocation, Posting
from marketplace.ledger.rules.names import ORDER_ATTRIBUTION_RULES, mechanism_of
from marketplace.local_time import day_bounds_utc, local_day
from marketplace.orders.models import Order, OrderLine
from marketplace.organisations.models import Organisation, OrganisationQuota, Requisition
from marketplace.people.models import Household
from marketplace.places.models import Village

NOT_PURCHASING = ("shipping", "love_fund")
MECHANISMS = ("direct_sale", "profit_return", "floor_purchase")


@dataclass
class PlaceRow:
    town: str
    village: str
    poor_village: bool
    households: int
    fen: int


@dataclass
class QuotaReport:
    organisation: Organisation
    year: int
    declared_total_fen: int | None
    required_share: Decimal | None
    bought_fen: int = 0
    orders: int = 0
    months: list = field(default_factory=list)  # (month 1..12, fen)
    places: list = field(default_factory=list)  # PlaceRow
    cooperatives: list = field(default_factory=list)  # (name, fen)
    mechanisms: dict = field(default_factory=dict)  # mechanism -> (households, fen)
    households_reached: int = 0

    @property
    def required_fen(self):
        if self.declared_total_fen is None:
            return None
        return int((self.declared_total_fen * self.required_share).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def share_reached(self):
        """Bought here as a share of the declared total (a rate), or None without a quota."""
        if not self.declared_total_fen:
            return None
        return (Decimal(self.bought_fen) / Decimal(self.declared_total_fen)).quantize(Decimal("0.0001"))

    @property
    def quota_met(self):
        return self.required_fen is not None and self.bought_fen >= self.required_fen


def quota_report(organisation_id, year, locale="zh"):
    organisation = db.session.get(Organisation, organisation_id)
    quota = db.session.scalar(select(OrganisationQuota).where(OrganisationQuota.organisation_id == organisation_id,
                                                             OrganisationQuota.year == year))
    report = QuotaReport(organisation, year, quota.declared_total_fen if quota else None,
                         quota.required_share if quota else None)
    start, end = day_bounds_utc(date(year, 1, 1), date(year, 12, 31))
    paid = dict(db.session.execute(
        select(Order.id, Order.paid_at).join(Requisition, Requisition.order_id == Order.id)
        .where(Requisition.organisation_id == organisation_id, Order.paid_at >= start, Order.paid_at < end)).all())
    report.orders = len(paid)
    by_month = dict.fromkeys(range(1, 13), 0)
    households = {}  # household id -> {mechanism: fen}
    cooperatives = {}
    if paid:
        credited = db.session.execute(
            select(JournalEntry.order_id, JournalEntry.rule, JournalEntry.rule_settings, Account.kind,
                   Account.owner_id, Posting.amount_fen)
            .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Account.id == Posting.account_id)
            .where(JournalEntry.order_id.in_(paid), JournalEntry.rule.in_(ORDER_ATTRIBUTION_RULES),
                   Posting.amount_fen != 0))
        for order_id, rule, settings, kind, owner_id, amount in credited:
            if kind == "sales_pending" or kind in NOT_PURCHASING:
                continue
            by_month[local_day(paid[order_id]).month] -= amount
            if kind == "household_payable":
                mechanism = mechanism_of(rule, settings)
                mine = households.setdefault(owner_id, {})
                mine[mechanism] = mine.get(mechanism, 0) - amount
            elif kind == "cooperative_revenue":
                cooperatives[owner_id] = cooperatives.get(owner_id, 0) - amount
        floor = db.session.execute(
            select(LotAllocation.household_id,
                   func.sum((LotAllocation.lot_units - LotAllocation.returned_units) * LotAllocation.floor_price_fen))
            .join(OrderLine, OrderLine.id == LotAllocation.order_line_id)
            .where(OrderLine.order_id.in_(paid)).group_by(LotAllocation.household_id))
        for household_id, fen in floor:
            if fen:
                households.setdefault(household_id, {})["floor_purchase"] = int(fen)
    report.months = sorted(by_month.items())
    report.bought_fen = sum(by_month.values())
    reached = {owner: parts for owner, parts in households.items() if sum(parts.values()) > 0}
    report.households_reached = len(reached)
    for mechanism in MECHANISMS:
        fen = [parts.get(mechanism, 0) for parts in reached.values() if parts.get(mechanism, 0) > 0]
        report.mechanisms[mechanism] = (len(fen), sum(fen))
    report.places = _places(reached, locale)
    names = {row.id: row.name(locale) for row in db.session.scalars(
        select(Cooperative).where(Cooperative.id.in_(cooperatives)))} if cooperatives else {}
    report.cooperatives = sorted(((names.get(cid, str(cid)), fen) for cid, fen in cooperatives.items() if fen),
                                 key=lambda row: (-row[1], row[0]))
    return report


def _places(reached, locale):
    if not reached:
        return []
    rows = {}
    for household in db.session.scalars(select(Household).where(Household.id.in_(reached))):
        village = db.session.get(Village, household.village_id)
        key = village.id
        row = rows.setdefault(key, PlaceRow(village.town.name(locale), village.name(locale), village.is_poor_village,
                                            0, 0))
        row.households += 1
        row.fen += sum(reached[household.id].values())
    return sorted(rows.values(), key=lambda row: (-row.fen, row.town, row.village))


def report_years(organisation_id):
    """Years with a quota or a paid order, newest first (the report's year picker)."""
    years = set(db.session.scalars(select(OrganisationQuota.year)
                                   .where(OrganisationQuota.organisation_id == organisation_id)))
    return sorted(years, reverse=True)
