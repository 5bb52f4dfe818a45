"""Rule 5 in the district's calendar, and dividends posted exactly as previewed."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from marketplace.coops.models import CooperativePeriod, Membership, ShareHolding
from marketplace.extensions import db
from marketplace.ledger import services
from marketplace.ledger.attribution import (
    attribute_payment, distributable_profit_fen, freeze_dividend_preview, post_dividends, preview_dividends,
    preview_is_current,
)
from marketplace.ledger.services import household_account, owed_to_fen
from marketplace.local_time import day_bounds_utc, local_today

JUNE = (date(2026, 6, 1), date(2026, 6, 30))
MAY = (date(2026, 5, 1), date(2026, 5, 31))


def test_a_china_day_starts_at_four_pm_utc_the_day_before():
    assert day_bounds_utc(*JUNE) == (datetime(2026, 5, 31, 16, 0), datetime(2026, 6, 30, 16, 0))


def test_a_sale_at_half_past_midnight_china_time_on_the_first_belongs_to_that_month(district, monkeypatch):
    member = district.household()
    coop = district.cooperative(profit_return_rate="0", dividend_rate="0.50", members=[(member, 1)])
    grains = district.variant(coop, price_fen=1_000, floor_price_fen=400)
    district.lot(grains, member, 10)
    district.fund(coop, 4_000)  # the floor money is covered: the settled profit is distributable
    order, payment = district.paid_order([(grains, 10)], paid_at=datetime(2026, 5, 31, 16, 30))
    # 2026-05-31 16:30 UTC is 2026-06-01 00:30 in Shanghai: the entries are stamped then.
    monkeypatch.setattr(services, "utcnow", lambda: datetime(2026, 5, 31, 16, 30))
    attribute_payment(payment.id)
    district.settle(order)

    assert distributable_profit_fen(coop.id, *JUNE) == 6_000  # 10 000 revenue − 4 000 floor cost
    assert distributable_profit_fen(coop.id, *MAY) == 0
    assert preview_dividends(coop.id, *JUNE) == {member.id: 3_000}


def test_shares_changed_after_the_preview_move_no_fen(district):
    small, large = district.household(), district.household()
    coop = district.cooperative(profit_return_rate="0", dividend_rate="0.50", members=[(small, 1), (large, 2)])
    grains = district.variant(coop, price_fen=1_000, floor_price_fen=400)
    district.lot(grains, small, 10)
    district.fund(coop, 4_000)
    order, payment = district.paid_order([(grains, 10)])
    attribute_payment(payment.id)
    district.settle(order)
    start, end = date(local_today().year, 1, 1), date(local_today().year, 12, 31)

    preview = freeze_dividend_preview(coop.id, start, end)
    db.session.commit()
    assert {share.household_id: share.amount_fen for share in preview.shares} == {small.id: 1_000, large.id: 2_000}
    holding = db.session.scalar(select(ShareHolding).join(Membership).where(Membership.cooperative_id == coop.id,
                                                                            Membership.household_id == small.id))
    holding.quantity = Decimal(7)  # after the preview, the small member's land grows sevenfold
    db.session.commit()
    assert preview_dividends(coop.id, start, end) == {small.id: 2_333, large.id: 667}
    assert preview_is_current(preview)  # shares do not make a preview stale: they are frozen

    period = district.add(CooperativePeriod(cooperative_id=coop.id, period_start=start, period_end=end,
                                            dividend_rate=preview.dividend_rate, dividend_preview_id=preview.id))
    before = {h.id: owed_to_fen(household_account(h.id)) for h in (small, large)}
    entry = post_dividends(period.id)
    assert {h.id: owed_to_fen(household_account(h.id)) - before[h.id] for h in (small, large)} == \
        {small.id: 1_000, large.id: 2_000}
    assert entry.rule_settings["dividend_preview_id"] == preview.id
    assert entry.rule_settings["weights"] == {str(small.id): "1.000000", str(large.id): "2.000000"}


def test_a_late_sale_makes_the_preview_stale(district):
    member = district.household()
    coop = district.cooperative(profit_return_rate="0", dividend_rate="0.50", members=[(member, 1)])
    grains = district.variant(coop, price_fen=1_000, floor_price_fen=400)
    district.lot(grains, member, 20)
    district.fund(coop, 8_000)
    order, payment = district.paid_order([(grains, 10)])
    attribute_payment(payment.id)
    district.settle(order)
    year = local_today().year
    preview = freeze_dividend_preview(coop.id, date(year - 1, 1, 1), date(year + 1, 12, 31))
    db.session.commit()
    assert preview_is_current(preview)

    order, late = district.paid_order([(grains, 5)])
    attribute_payment(late.id)
    district.settle(order)
    assert not preview_is_current(preview)


def test_a_dividend_is_never_paid_from_money_that_covers_floor_purchases(district):
    member = district.household()
    coop = district.cooperative(profit_return_rate="0", dividend_rate="1", members=[(member, 1)])
    grains = district.variant(coop, price_fen=1_000, floor_price_fen=400)
    district.lot(grains, member, 30)  # 12 000 of floor money owed, nothing deposited
    order, payment = district.paid_order([(grains, 10)])
    attribute_payment(payment.id)
    year = local_today().year
    assert distributable_profit_fen(coop.id, date(year, 1, 1), date(year, 12, 31)) == 0  # not settled
    district.settle(order)
    # 10 000 settled revenue, all of it needed for the 12 000 of floor money: nothing to distribute.
    assert distributable_profit_fen(coop.id, date(year, 1, 1), date(year, 12, 31)) == 0
    district.fund(coop, 12_000)
    assert distributable_profit_fen(coop.id, date(year, 1, 1), date(year, 12, 31)) == 6_000
