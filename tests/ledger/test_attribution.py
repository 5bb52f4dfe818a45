"""Rules 1, 2, 3, 4, 6, 7: a paid order's money reaches the right people, exactly once."""
from datetime import datetime
from decimal import Decimal

import pytest

from marketplace.coops.models import SharingRule
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment
from marketplace.ledger.balances import household_balance
from marketplace.ledger.errors import NotReady
from marketplace.ledger.models import JournalEntry, LotAllocation
from marketplace.ledger.services import account_id, balance_fen, entry_for_key, household_account, owed_to_fen


def credited(household):
    return owed_to_fen(household_account(household.id))


def test_the_articles_lili_minor_grains_pay_500_yuan_at_intake_and_90_at_sale(district):
    lili = district.household()
    coop = district.cooperative(profit_return_rate="0.30", members=[(lili, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)  # 8元/斤, floor 5元/斤

    district.lot(grains, lili, 100)  # 100 斤
    assert credited(lili) == 500_00

    _order, payment = district.paid_order([(grains, 100)])
    attribute_payment(payment.id)
    assert credited(lili) == 500_00 + 90_00
    sale = entry_for_key(f"attr:line:{_order.lines[0].id}")
    assert sale.rule == "cooperative_sale"
    assert sale.rule_settings["profit_return_rate"] == "0.3000"
    assert sale.rule_settings["allocations"] == [
        {"lot_id": sale.rule_settings["allocations"][0]["lot_id"], "household_id": lili.id, "lot_units": 100,
         "floor_price_fen": 500, "return_fen": 90_00}]
    assert sale.rule_settings["sharing_rule_id"] is not None


def test_poor_household_selling_direct_pays_no_commission(district):
    poor = district.household(verified_poor=True)
    eggs = district.variant(poor, price_fen=1_250)
    order, payment = district.paid_order([(eggs, 4)])
    attribute_payment(payment.id)
    assert credited(poor) == 5_000
    entry = entry_for_key(f"attr:line:{order.lines[0].id}")
    assert entry.rule_settings["commission_rate"] == "0"
    assert entry.rule_settings["platform_commission_rate"] == "0.05"
    assert owed_to_fen(account_id("platform_fees")) == 0


def test_household_not_verified_poor_pays_the_platform_rate(district, app):
    app.config["PLATFORM_COMMISSION_RATE"] = "0.08"
    try:
        other = district.household(verified_poor=False)
        honey = district.variant(other, price_fen=3_333)
        order, payment = district.paid_order([(honey, 3)])
        attribute_payment(payment.id)
    finally:
        app.config["PLATFORM_COMMISSION_RATE"] = "0.05"
    assert owed_to_fen(account_id("platform_fees")) == 800  # 9 999 × 8 % = 799.92 → 800
    assert credited(other) == 9_999 - 800
    assert entry_for_key(f"attr:line:{order.lines[0].id}").rule_settings["commission_rate"] == "0.08"


def test_shipping_round_up_and_supplier_line_are_credited_and_the_fee_is_the_platforms(district):
    poor = district.household()
    shop = district.supplier(commission_rate="0.05")
    eggs = district.variant(poor, price_fen=1_000)
    soap = district.variant(shop, price_fen=2_000)
    order, payment = district.paid_order([(eggs, 1), (soap, 1)], shipping_fen=800, donation_fen=200, fee_fen=150)
    attribute_payment(payment.id)

    assert credited(poor) == 1_000
    assert owed_to_fen(account_id("supplier_payable", "supplier", shop.id)) == 1_900
    assert owed_to_fen(account_id("platform_fees")) == 100
    assert owed_to_fen(account_id("shipping")) == 800
    assert owed_to_fen(account_id("love_fund", "town", district.town.id)) == 200
    assert balance_fen(account_id("payment_fees")) == 150
    assert balance_fen(account_id("stripe_receivable")) == order.total_fen - 150
    assert balance_fen(account_id("sales_pending")) == 0


def test_sold_units_come_from_the_oldest_lots_first_and_units_beyond_the_lots_stay_with_the_cooperative(district):
    first, second = district.household(), district.household()
    coop = district.cooperative(profit_return_rate="0.50", members=[(first, 1), (second, 1)])
    box = district.variant(coop, price_fen=2_000, floor_price_fen=600, lot_units=2)  # a 2-斤 box for 20元
    old = district.lot(box, first, 3, received_on=datetime(2026, 1, 1).date())
    new = district.lot(box, second, 5, received_on=datetime(2026, 2, 1).date())

    order, payment = district.paid_order([(box, 5)])  # 10 斤: 3 from the old lot, 5 from the new, 2 beyond
    attribute_payment(payment.id)

    db.session.refresh(old)
    db.session.refresh(new)
    assert (old.quantity_remaining, new.quantity_remaining) == (0, 0)
    allocations = db.session.query(LotAllocation).order_by(LotAllocation.id).all()
    assert [(a.lot_id, a.lot_units) for a in allocations] == [(old.id, 3), (new.id, 5)]
    # 0.5 × u × (10元 − 6元) per 斤
    assert credited(first) == 3 * 600 + 3 * 200
    assert credited(second) == 5 * 600 + 5 * 200
    entry = entry_for_key(f"attr:line:{order.lines[0].id}")
    assert entry.rule_settings["units_beyond_lots"] == 2
    assert owed_to_fen(account_id("cooperative_revenue", "cooperative", coop.id)) == 10_000 - 1_600


def test_the_sharing_rule_in_force_when_the_order_was_paid_applies(district):
    grower = district.household()
    coop = district.cooperative(profit_return_rate="0.10", members=[(grower, 1)])
    millet = district.variant(coop, price_fen=1_000, floor_price_fen=500)
    district.lot(millet, grower, 10)
    order, payment = district.paid_order([(millet, 10)], paid_at=datetime(2026, 3, 1))
    db.session.add(SharingRule(cooperative_id=coop.id, profit_return_rate=Decimal("0.90"),
                               dividend_rate=Decimal("0.5"), effective_at=datetime(2026, 6, 1)))
    db.session.commit()

    attribute_payment(payment.id)
    assert credited(grower) == 10 * 500 + 500  # 10 % of 10 × 5元, not 90 %


def test_attributing_a_payment_twice_posts_once(district):
    poor = district.household()
    eggs = district.variant(poor, price_fen=1_000)
    order, payment = district.paid_order([(eggs, 2)], shipping_fen=500)
    first = attribute_payment(payment.id)
    again = attribute_payment(payment.id)
    assert first.id == again.id
    assert db.session.query(JournalEntry).filter_by(order_id=order.id).count() == 3
    assert credited(poor) == 2_000


def test_a_payment_not_yet_succeeded_is_not_attributed(district):
    poor = district.household()
    eggs = district.variant(poor, price_fen=1_000)
    order = district.order([(eggs, 1)], status="pending_payment")
    payment = district.payment(order, status="processing")
    with pytest.raises(NotReady):
        attribute_payment(payment.id)
    db.session.rollback()
    assert db.session.query(JournalEntry).count() == 0


def test_a_payment_that_does_not_match_its_order_posts_nothing(district):
    poor = district.household()
    eggs = district.variant(poor, price_fen=1_000)
    order, payment = district.paid_order([(eggs, 1)])
    payment.amount_fen = 999
    db.session.commit()
    with pytest.raises(DomainError):
        attribute_payment(payment.id)
    db.session.rollback()
    assert db.session.query(JournalEntry).filter_by(order_id=order.id).count() == 0
    assert household_balance(poor.id).posted_fen == 0
