"""Rule 5: share dividends (股份分红) when a cooperative closes a period.

The distributable profit of a period is what the cooperative kept from its sales in the period
(cooperative_revenue credited by sales, less refunds) minus the floor value of the lot units
those sales took (what the cooperative paid its households at intake). The dividend pool is
d × that profit, split across members by shares × the weight of their kind, largest remainder.
"""
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from marketplace.catalog.models import Product, Seller
from marketplace.coops.models import Cooperative, CooperativePeriod, Membership, SharingRule
from marketplace.database import utcnow
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry, LotAllocation, Posting
from marketplace.ledger.rules.names import COOPERATIVE_SALE, DIVIDEND, REFUND
from marketplace.ledger.rules.sales import sharing_rule_in_force
from marketplace.ledger.services import account_id, entry_for_key, household_account, post_entry
from marketplace.money import apply_rate, split_largest_remainder
from marketplace.orders.models import OrderLine


def _bounds(period_start, period_end):
    return datetime.combine(period_start, time.min), datetime.combine(period_end + timedelta(days=1), time.min)


def distributable_profit_fen(cooperative_id, period_start, period_end):
    """Revenue the cooperative kept from sales in the period minus the floor cost of the units sold."""
    start, end = _bounds(period_start, period_end)
    revenue = -int(db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account_id("cooperative_revenue", "cooperative", cooperative_id),
               JournalEntry.rule.in_((COOPERATIVE_SALE, REFUND)),
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
    return max(revenue - cost, 0)


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


def dividend_split(cooperative_id, rule, dividend_rate, profit_fen, on_day):
    """The dividend of each household: d × profit split by weighted shares."""
    pool = apply_rate(profit_fen, dividend_rate)
    weights = member_weights(cooperative_id, rule, on_day) if rule is not None else []
    if pool == 0 or not weights:
        return {}
    return {household: fen for household, fen in split_largest_remainder(pool, weights).items() if fen}


def preview_dividends(cooperative_id, period_start, period_end):
    """What closing this period now would pay each household: {household_id: fen}.

    Uses the sharing rule in force at the end of the period; `post_dividends` on a period closed
    with that rule and profit posts exactly this.
    """
    if db.session.get(Cooperative, cooperative_id) is None:
        raise NotFound("No such cooperative.")
    rule = sharing_rule_in_force(cooperative_id, _bounds(period_start, period_end)[1])
    if rule is None:
        return {}
    profit = distributable_profit_fen(cooperative_id, period_start, period_end)
    return dividend_split(cooperative_id, rule, rule.dividend_rate, profit, period_end)


def post_dividends(period_id):
    """Rule 5 for a closing `CooperativePeriod`; commits and marks it closed. Idempotent.

    The period's snapshot wins: its sharing rule and dividend rate, and its distributable profit
    (computed from the ledger and stored on the period if it was left at zero).
    Dr cooperative_revenue[C] pool, Cr household_payable[H] each share.
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
    rule = (db.session.get(SharingRule, period.sharing_rule_id) if period.sharing_rule_id
            else sharing_rule_in_force(period.cooperative_id, _bounds(period.period_start, period.period_end)[1]))
    if not period.distributable_profit_fen:
        period.distributable_profit_fen = distributable_profit_fen(
            period.cooperative_id, period.period_start, period.period_end)
    shares = dividend_split(period.cooperative_id, rule, period.dividend_rate, period.distributable_profit_fen,
                            period.period_end)
    pool = sum(shares.values())
    legs = [(account_id("cooperative_revenue", "cooperative", period.cooperative_id), pool)]
    legs += [(household_account(household), -fen) for household, fen in sorted(shares.items())]
    entry = post_entry(
        key, DIVIDEND, legs,
        rule_settings={**(rule.settings() if rule is not None else {"sharing_rule_id": None}),
                       "dividend_rate": str(period.dividend_rate),
                       "distributable_profit_fen": period.distributable_profit_fen,
                       "period_start": period.period_start.isoformat(), "period_end": period.period_end.isoformat(),
                       "shares_fen": {str(household): fen for household, fen in sorted(shares.items())}},
        memo=f"dividends of cooperative {period.cooperative_id} for {period.period_start}–{period.period_end}",
    )
    period.status = "closed"
    period.closed_at = period.closed_at or utcnow()
    db.session.commit()
    return entry
