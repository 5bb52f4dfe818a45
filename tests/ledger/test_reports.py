"""Impact receipts, town impact and household statements, read from the ledger."""
from datetime import timedelta

from marketplace.extensions import db
from marketplace.ledger import household_statement, impact_receipt, town_impact
from marketplace.ledger.attribution import attribute_payment, attribute_refund, pay_order_from_earnings
from marketplace.local_time import local_today


def test_the_impact_receipt_shows_where_every_fen_went_and_respects_consent(district):
    named = district.household(consent=True)
    anonymous = district.household(consent=False)
    coop = district.cooperative(profit_return_rate="0.30", members=[(anonymous, 1)])
    eggs = district.variant(named, price_fen=1_000)
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    district.lot(grains, anonymous, 100)
    order, payment = district.paid_order([(eggs, 2), (grains, 10)], shipping_fen=600, donation_fen=100, fee_fen=250)

    assert impact_receipt(order.id).attributed is False
    attribute_payment(payment.id)
    receipt = impact_receipt(order.id)

    assert receipt.attributed and receipt.total_fen == order.total_fen
    rows = {(row.kind, row.label_zh): row.fen for row in receipt.rows}
    assert rows[("household", named.display_label_zh)] == 2_000
    village = anonymous.village
    assert rows[("household", f"{village.name_zh}的一户人家")] == 900  # 0.3 × 10 × 3元
    assert rows[("cooperative", coop.name_zh)] == 8_000 - 900
    assert rows[("platform", "平台服务费")] == -250  # no commission from a poor household; it bears the fee
    assert rows[("payment_fees", "支付手续费（平台承担）")] == 250
    assert rows[("shipping", "运费")] == 600
    assert rows[("love_fund", f"{district.town.name_zh}爱心基金")] == 100
    assert all(anonymous.head_name not in row.label_zh + row.label_en for row in receipt.rows)

    refund = district.refund(order, {order.lines[0]: 1})
    attribute_refund(refund.id)
    after = impact_receipt(order.id)
    assert after.total_fen == sum(row.fen for row in after.rows) == order.total_fen - 1_000


def test_a_household_statement_explains_opening_credits_spending_and_closing(district):
    household = district.household()
    coop = district.cooperative(profit_return_rate="0.30", members=[(household, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    district.lot(grains, household, 100)
    order, payment = district.paid_order([(grains, 100)])
    attribute_payment(payment.id)
    district.settle(order)  # settled: Lili's revenue covers the floor money, the return is available
    shop = district.supplier()
    soap = district.variant(shop, price_fen=1_500)
    downlink = district.order([(soap, 2)], household=household, status="pending_payment")
    pay_order_from_earnings(downlink.id, district.agent_for().id)

    today = local_today()  # statements are the district's calendar days
    statement = household_statement(household.id, today, today)
    assert statement.opening_fen == 0
    assert statement.credits_by_mechanism["floor_purchase"] == 500_00
    assert statement.credits_by_mechanism["profit_return"] == 90_00
    assert statement.spending_fen == 3_000
    assert statement.closing_fen == 590_00 - 3_000
    assert {line.order_no for line in statement.lines} >= {order.public_no, downlink.public_no}

    tomorrow = household_statement(household.id, today + timedelta(days=1), today + timedelta(days=1))
    assert tomorrow.opening_fen == tomorrow.closing_fen == 590_00 - 3_000
    assert tomorrow.lines == []


def test_town_impact_counts_households_reached_and_income_by_mechanism(district):
    grower, seller = district.household(), district.household()
    coop = district.cooperative(members=[(grower, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    district.lot(grains, grower, 10)
    eggs = district.variant(seller, price_fen=1_000)
    _order, payment = district.paid_order([(eggs, 3)])
    attribute_payment(payment.id)
    district.household()  # earned nothing

    impact = town_impact(district.town.id)
    assert impact.households_reached == 2
    assert impact.by_mechanism["floor_purchase"] == 5_000
    assert impact.by_mechanism["direct_sale"] == 3_000
    assert impact.income_fen == 8_000
    yesterday = local_today() - timedelta(days=1)
    assert town_impact(district.town.id, yesterday, yesterday).households_reached == 0
    db.session.rollback()
