"""Numbers no column can hold, and digits Python reads differently (`²`, `①`), in the cooperative
portal's forms: refused with a message, never a 500, and nothing changes."""
from sqlalchemy import func, select

from marketplace.catalog.models import Product, SupplyLot, Variant
from marketplace.coops.models import SharingRule
from marketplace.extensions import db
from tests.coops.test_listings import PRODUCT, VARIANT
from tests.coops.test_lots import lot_form
from tests.coops.test_rules import NEW_RULES

HUGE = "9" * 400
ODD_DIGITS = ["²", "①", "٣", "2147483648", "-2147483649", HUGE]


def counts(app):
    with app.app_context():
        found = (db.session.scalar(select(func.count(SharingRule.id))), db.session.scalar(select(func.count(SupplyLot.id))),
                 db.session.scalar(select(func.count(Product.id))),
                 tuple(db.session.execute(select(Variant.id, Variant.stock_available, Variant.weight_grams,
                                                 Variant.lot_units).order_by(Variant.id)).all()))
        db.session.remove()
    return found


def test_an_invalid_share_weight_is_refused_on_the_rules_page(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    before = counts(app)
    for weight in ["abc", "-1", HUGE, "²"]:
        response = client.post("/coop/rules", data={**NEW_RULES, "weight_land": weight})
        assert response.status_code == 422, weight
    assert counts(app) == before


def test_numbers_beyond_a_column_in_a_variant_are_refused(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    before = counts(app)
    for field in ["stock_available", "weight_grams", "lot_units", "stock_seen"]:
        for number in ODD_DIGITS:
            response = client.post(f"/coop/variants/{lili.variant_id}", data={**VARIANT, field: number})
            assert response.status_code in (409, 422), (field, number)
    assert counts(app) == before


def test_numbers_beyond_a_column_in_a_lot_are_refused(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    before = counts(app)
    for number in ODD_DIGITS:
        response = client.post("/coop/lots/new", data=lot_form(lili, token=f"odd-{number[:8]}", quantity=number))
        assert response.status_code == 422, number
    assert counts(app) == before


def test_numbers_beyond_a_column_in_an_agents_listing_are_refused(app, client, auth, lili):
    auth.login_as("agent@demo.cn")
    before = counts(app)
    for number in ODD_DIGITS:
        response = client.post("/coop/on-behalf/listing", data={
            **PRODUCT, "household_id": lili.household_id, "variant_name_zh": "1斤装", "variant_name_en": "1 jin",
            "unit": "jin", "price": "9.50", "stock_available": number})
        assert response.status_code == 422, number
    assert counts(app) == before
