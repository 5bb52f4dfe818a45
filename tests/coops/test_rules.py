from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace.catalog.models import SupplyLot
from marketplace.coops.models import FloorPriceChange, SharingRule
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from tests.coops.conftest import make_paid_order, pay_and_attribute

NEW_RULES = {"profit_return_percent": "50", "dividend_percent": "20", "period": "month", "weight_land": "1",
             "weight_house": "1", "weight_fund": "2", "weight_cash": "1", "note": "社员大会决议"}


def test_a_rule_change_is_a_new_version_with_who_and_when(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    assert client.post("/coop/rules", data=NEW_RULES).status_code == 303
    with app.app_context():
        versions = db.session.scalars(select(SharingRule).filter_by(cooperative_id=lili.cooperative_id)
                                      .order_by(SharingRule.id)).all()
        assert len(versions) == 2
        assert versions[0].profit_return_rate == Decimal("0.30")  # the old version is untouched
        assert (versions[1].profit_return_rate, versions[1].created_by_id) == (Decimal("0.50"), lili.manager_id)
    assert "社员大会决议" in client.get("/coop/rules").get_data(as_text=True)


def test_a_rule_change_applies_only_to_sales_paid_after_it(app, client, auth, lili):
    with app.app_context():
        before_id = make_paid_order("GRAIN-1J", quantity=3)
    auth.login_as("coop@demo.cn")
    client.post("/coop/rules", data=NEW_RULES)
    with app.app_context():
        old, new = db.session.scalars(select(SharingRule).where(SharingRule.cooperative_id == lili.cooperative_id)
                                      .order_by(SharingRule.id)).all()
        after_id = make_paid_order("GRAIN-1J", quantity=3)
        earlier_sale = pay_and_attribute(before_id, old.effective_at + (new.effective_at - old.effective_at) / 2)
        later_sale = pay_and_attribute(after_id, new.effective_at + timedelta(seconds=1))
        assert earlier_sale.rule_settings["profit_return_rate"] == "0.3000"
        assert later_sale.rule_settings["profit_return_rate"] == "0.5000"
        # 3 jin sold at ¥8 over a ¥5 floor: 30 % of ¥9 before the change, 50 % after.
        assert earlier_sale.rule_settings["profit_return_fen"] == 270
        assert later_sale.rule_settings["profit_return_fen"] == 450


def test_a_bad_rate_changes_nothing(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    assert client.post("/coop/rules", data={**NEW_RULES, "profit_return_percent": "150"}).status_code == 422
    with app.app_context():
        assert db.session.query(SharingRule).filter_by(cooperative_id=lili.cooperative_id).count() == 1


def test_a_floor_price_change_is_recorded_and_reaches_only_later_lots(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    lot = {"household_id": lili.household_id, "product_id": lili.product_id, "quantity": 10, "grade": "一级",
           "variant_id": 0}
    client.post("/coop/lots/new", data={**lot, "token": "before"})
    response = client.post(f"/coop/products/{lili.product_id}/floor-price", data={"floor_price": "6.50", "note": "涨价"})
    assert response.status_code == 303
    client.post("/coop/lots/new", data={**lot, "token": "after"})
    with app.app_context():
        change = db.session.scalar(select(FloorPriceChange).filter_by(product_id=lili.product_id))
        assert (change.old_floor_price_fen, change.new_floor_price_fen, change.changed_by_id) == (500, 650, lili.manager_id)
        before = db.session.scalar(select(SupplyLot).filter_by(idempotency_token="before"))
        after = db.session.scalar(select(SupplyLot).filter_by(idempotency_token="after"))
        assert (before.floor_price_fen, after.floor_price_fen) == (500, 650)
        floor_entries = {e.lot_id: e.rule_settings["floor_price_fen"] for e in db.session.scalars(
            select(JournalEntry).where(JournalEntry.lot_id.in_([before.id, after.id])))}
        assert floor_entries == {before.id: 500, after.id: 650}
    assert "¥6.50" in client.get("/coop/rules").get_data(as_text=True)
