"""Daily-goods lines pay the platform the commission agreed with their supplier (0 unless set)."""
from decimal import Decimal

from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment
from marketplace.ledger.services import account_id, entry_for_key, owed_to_fen


def test_a_supplier_with_no_agreed_rate_pays_no_commission(district):
    shop = district.supplier()
    soap = district.variant(shop, price_fen=2_000)
    order, payment = district.paid_order([(soap, 3)])
    attribute_payment(payment.id)

    assert owed_to_fen(account_id("supplier_payable", "supplier", shop.id)) == 6_000
    assert owed_to_fen(account_id("platform_fees")) == 0
    settings = entry_for_key(f"attr:line:{order.lines[0].id}").rule_settings
    assert (Decimal(settings["commission_rate"]), settings["commission_fen"]) == (0, 0)


def test_a_supplier_at_three_percent_pays_three_percent_recorded_on_the_entry(district, app):
    assert app.config["PLATFORM_COMMISSION_RATE"] == "0.05"  # the households' rate, not the supplier's
    shop = district.supplier(commission_rate="0.03")
    oil = district.variant(shop, price_fen=3_333)
    order, payment = district.paid_order([(oil, 3)])
    attribute_payment(payment.id)

    assert owed_to_fen(account_id("platform_fees")) == 300  # 9 999 × 3 % = 299.97 → 300
    assert owed_to_fen(account_id("supplier_payable", "supplier", shop.id)) == 9_999 - 300
    settings = entry_for_key(f"attr:line:{order.lines[0].id}").rule_settings
    assert Decimal(settings["commission_rate"]) == Decimal("0.03")
    assert settings["commission_fen"] == 300


def test_a_rate_agreed_later_changes_no_past_sale(district):
    shop = district.supplier(commission_rate="0.03")
    oil = district.variant(shop, price_fen=1_000)
    first, first_payment = district.paid_order([(oil, 1)])
    attribute_payment(first_payment.id)
    shop.commission_rate = Decimal("0.10")
    db.session.commit()
    second, second_payment = district.paid_order([(oil, 1)])
    attribute_payment(second_payment.id)

    assert entry_for_key(f"attr:line:{first.lines[0].id}").rule_settings["commission_fen"] == 30
    assert entry_for_key(f"attr:line:{second.lines[0].id}").rule_settings["commission_fen"] == 100
    assert owed_to_fen(account_id("supplier_payable", "supplier", shop.id)) == 970 + 900
