"""Rule 5: share dividends (股份分红) when a cooperative closes a period.

The distributable profit of a period is what the cooperative kept from its sales in the period
(cooperative_revenue credited by sales, less refunds) minus the floor value of the lot units
those sales took (what the cooperative paid its households at intake). The dividend pool is
d × that profit, split across members by shares × the weight of their kind, largest remainder.

A period is calendar days in the district's time zone (`local_time.day_bounds_utc`): a sale at
00:30 on the 1st in Shanghai belongs to that month, though it is still the previous month in UTC.
The weights and dividends are frozen in a `DividendPreview` when the manager previews; closing
posts exactly that preview, so shares changed in between move no fen.
"""
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from marketplace.catalog.models import Product, Seller
from marketplace.coops.models import (
    Cooperative, CooperativePeriod, DividendPreview, DividendPreviewShare, Membership, SharingRule,
)
from marketplace.database import utcnow
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.ledger.balances import cooperative_cover
from marketplace.ledger.models import JournalEntry, LotAllocation, Posting
from marketplace.ledger.rules.names import CLAIM, COOPERATIVE_SALE, DIVIDEND, REFUND
from marketplace.ledger.rules.sales import sharing_rule_in_force
from marketplace.ledger.services import account_id, entry_for_key, household_account, post_entry
from marketplace.local_time import day_bounds_utc
from marketplace.money import apply_rate, split_largest_remainder
from marketplace.orders.models import OrderLine


def _bounds(period_start, period_end):
    """The period's [start, end) in stored (UTC) time: its first and last days are the district's."""
    return day_bounds_utc(period_start, period_end)


def rule_at_end(cooperative_id, period_start, period_end):
    """The sharing rule in force when the period ended (the district's midnight after its last day)."""
    return sharing_rule_in_force(cooperative_id, _bounds(period_start, period_end)[1])


@dataclass(frozen=True)
class DistributableProfit:
    """How a period's distributable profit is reached, for the manager to read before closing."""

    revenue_fen: int  # kept from the period's sales, after refunds
    floor_cost_fen: int  # the floor price of the units sold, paid to households at intake
    headroom_fen: int  # what the platform holds for the cooperative beyond the floor money it owes
    profit_fen: int  # min(revenue − floor cost, headroom), never below zero

    @property
    def margin_fen(self):
        return self.revenue_fen - self.floor_cost_fen


def distributable_profit_fen(cooperative_id, period_start, period_end):
    """Revenue the cooperative kept from sales in the period minus the floor cost of the units sold,
    at most what the platform holds for it beyond its floor obligations (DESIGN §3 "Settlement"):
    a dividend is never paid from money that covers floor purchases, or that has not settled."""
    return distributable_profit(cooperative_id, period_start, period_end).profit_fen


def distributable_profit(cooperative_id, period_start, period_end):
    """`distributable_profit_fen` with the figures it is computed from."""
    start, end = _bounds(period_start, period_end)
    revenue = -int(db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account_id("cooperative_revenue", "cooperative", cooperative_id),
               JournalEntry.rule.in_((COOPERATIVE_SALE, REFUND, CLAIM)),
               JournalEntry.created_at >= start, JournalEntry.created_at < end)
    ))
    sold_lines = (select(JournalEntry.order_line_id)
                  .where(JournalEntry.rule == COOPERATIVE_SALE, JournalEntry.created_at >= start,
                         JournalEntry.created_at < end))
    cost = int(db.session.scalar(
        select(func.coalesce(func.sum((LotAllocation.lot_units - LotAllocation.returned_units)
                                      * LotAllocation.floor_price_fen), 0))
        .join(OrderLine, LotAllocation.order_line_id == OrderLine.id)
        .where(LotAllocation.order_line_id.in_(sold_lines))
        .where(OrderLine.product_id.in_(_products_of(cooperative_id)))
    ))
    headroom = dividend_headroom_fen(cooperative_id)
    return DistributableProfit(revenue_fen=revenue, floor_cost_fen=cost, headroom_fen=headroom,
                               profit_fen=max(min(revenue - cost, headroom), 0))


def dividend_headroom_fen(cooperative_id):
    """What the platform holds for the cooperative (settled revenue and deposits) beyond the floor
    money it still owes its households through the platform."""
    cover = cooperative_cover([cooperative_id])[cooperative_id]
    return cover.cover_fen - (cover.floor_owed_fen - cover.paid_itself_fen)


def _products_of(cooperative_id):
    return (select(Product.id).join(Seller, Product.seller_id == Seller.id)
            .where(Seller.cooperative_id == cooperative_id))


def member_weights(cooperative_id, rule, on_day):
    """(household_id, Σ shares × weight of their kind) of members on `on_day`, by household id."""
    members = db.session.scalars(
        select(Membership).where(Membership.cooperative_id == cooperative_id, Membership.joined_on <= on_day,
                                 (Membership.left_on.is_(None)) | (Membership.left_on > on_day))
        .order_by(Membership.household_id)
    ).all()
    weights = []
    for member in members:
        weight = sum((holding.quantity * rule.weight_of(holding.kind) for holding in member.holdings), Decimal(0))
        if weight > 0:
            weights.append((member.household_id, weight))
    return weights


def dividend_split(weights, pool_fen):
    """The dividend of each weighted member: `pool_fen` split by weight, largest remainder (ties by id)."""
    if pool_fen == 0 or not weights:
        return {household: 0 for household, _weight in weights}
    return split_largest_remainder(pool_fen, weights)


def preview_dividends(cooperative_id, period_start, period_end):
    """What closing this period now would pay each household: {household_id: fen}, nothing saved.

    Uses the sharing rule in force at the end of the period, its dividend rate and today's shares;
    `freeze_dividend_preview` saves the same figures for the manager to confirm.
    """
    if db.session.get(Cooperative, cooperative_id) is None:
        raise NotFound("No such cooperative.")
    rule = rule_at_end(cooperative_id, period_start, period_end)
    if rule is None:
        return {}
    profit = distributable_profit_fen(cooperative_id, period_start, period_end)
    weights = member_weights(cooperative_id, rule, period_end)
    return {household: fen for household, fen in dividend_split(weights, apply_rate(profit, rule.dividend_rate)).items()
            if fen}


def freeze_dividend_preview(cooperative_id, period_start, period_end, actor_id=None, rule=None,
                            dividend_rate=None, distributable_profit=None):
    """Compute the period's dividends now and save them as a `DividendPreview`; joins the caller's transaction.

    By default: the sharing rule in force at the end of the period, its dividend rate, the profit
    the ledger shows now and each member's shares now. Closing posts exactly this preview.
    """
    if db.session.get(Cooperative, cooperative_id) is None:
        raise NotFound("No such cooperative.")
    rule = rule if rule is not None else rule_at_end(cooperative_id, period_start, period_end)
    if dividend_rate is None:
        dividend_rate = rule.dividend_rate if rule is not None else Decimal(0)
    profit = (distributable_profit if distributable_profit is not None
              else distributable_profit_fen(cooperative_id, period_start, period_end))
    weights = member_weights(cooperative_id, rule, period_end) if rule is not None else []
    pool = apply_rate(profit, dividend_rate) if weights else 0
    amounts = dividend_split(weights, pool)
    preview = DividendPreview(
        cooperative_id=cooperative_id, period_start=period_start, period_end=period_end,
        sharing_rule_id=rule.id if rule is not None else None, dividend_rate=dividend_rate,
        distributable_profit_fen=profit, pool_fen=pool, created_by_id=actor_id,
        shares=[DividendPreviewShare(household_id=household, weight=weight, amount_fen=amounts[household])
                for household, weight in weights])
    db.session.add(preview)
    db.session.flush()
    return preview


def preview_is_current(preview):
    """True while the ledger still shows the preview's profit and the same rule was in force at the period's end.

    Shares changed since do not make it stale: the weights are frozen at preview, by design.
    """
    rule = rule_at_end(preview.cooperative_id, preview.period_start, preview.period_end)
    return ((rule.id if rule is not None else None) == preview.sharing_rule_id
            and distributable_profit_fen(preview.cooperative_id, preview.period_start, preview.period_end)
            == preview.distributable_profit_fen)


def post_dividends(period_id):
    """Rule 5 for a closing `CooperativePeriod`: posts exactly its confirmed preview; commits. Idempotent.

    Dr cooperative_revenue[C] pool, Cr household_payable[H] each member's frozen dividend.
    A period recorded without a preview (before previews were frozen) freezes one now from its
    own sharing rule, dividend rate and stored profit, and posts that.
    """
    period = db.session.execute(
        select(CooperativePeriod).where(CooperativePeriod.id == period_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if period is None:
        raise NotFound("No such cooperative period.")
    key = f"dividend:period:{period.id}"
    existing = entry_for_key(key)
    if existing is not None:
        db.session.commit()
        return existing
    preview = period.dividend_preview or _freeze_for_period(period)
    period.distributable_profit_fen = preview.distributable_profit_fen
    shares = {share.household_id: share.amount_fen for share in preview.shares if share.amount_fen}
    rule = db.session.get(SharingRule, preview.sharing_rule_id) if preview.sharing_rule_id else None
    pool = sum(shares.values())
    legs = [(account_id("cooperative_revenue", "cooperative", period.cooperative_id), pool)]
    legs += [(household_account(household), -fen) for household, fen in sorted(shares.items())]
    entry = post_entry(
        key, DIVIDEND, legs,
        rule_settings={**(rule.settings() if rule is not None else {"sharing_rule_id": None}),
                       "dividend_rate": str(preview.dividend_rate),
                       "distributable_profit_fen": preview.distributable_profit_fen,
                       "period_start": period.period_start.isoformat(), "period_end": period.period_end.isoformat(),
                       "dividend_preview_id": preview.id,
                       "weights": {str(share.household_id): str(share.weight) for share in preview.shares},
                       "shares_fen": {str(household): fen for household, fen in sorted(shares.items())}},
        memo=f"dividends of cooperative {period.cooperative_id} for {period.period_start}–{period.period_end}",
    )
    period.status = "closed"
    period.closed_at = period.closed_at or utcnow()
    db.session.commit()
    return entry


def _freeze_for_period(period):
    rule = (db.session.get(SharingRule, period.sharing_rule_id) if period.sharing_rule_id
            else rule_at_end(period.cooperative_id, period.period_start, period.period_end))
    preview = freeze_dividend_preview(
        period.cooperative_id, period.period_start, period.period_end, actor_id=period.closed_by_id, rule=rule,
        dividend_rate=period.dividend_rate, distributable_profit=period.distributable_profit_fen or None)
    period.dividend_preview = preview
    return preview
