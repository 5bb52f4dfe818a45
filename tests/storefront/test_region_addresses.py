"""Checkout by region (GB/T 2260) and the buyer's saved addresses."""
import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.orders.models import Order, SavedAddress
from tests.storefront.conftest import stock_of

ZICHUAN = {"province": "370000", "city": "370300", "district": "370302", "address_detail": "松龄东路 1 号 2 单元 301"}


def rows(app, model, *where):
    with app.app_context():
        found = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
        return found


def saved(app, email="buyer@demo.cn"):
    from marketplace.people.models import User

    with app.app_context():
        buyer = db.session.scalar(select(User.id).where(User.email == email))
        found = [(a.id, a.region_code, a.address_detail, a.is_default) for a in db.session.scalars(
            select(SavedAddress).where(SavedAddress.buyer_id == buyer).order_by(SavedAddress.id))]
        db.session.remove()
        return found


def test_the_order_keeps_the_district_code_its_full_name_and_the_detail_line(shopper, app, client):
    order = shopper.buy("PEAR-5J", 1, **ZICHUAN)
    assert (order.region_code, order.region_name, order.address_detail) == ("370302", "山东省淄博市淄川区",
                                                                            "松龄东路 1 号 2 单元 301")
    assert order.address == "山东省淄博市淄川区松龄东路 1 号 2 单元 301"  # as printed on the parcel
    assert "山东省淄博市淄川区松龄东路 1 号 2 单元 301" in client.get(f"/orders/{order.public_no}").get_data(as_text=True)


@pytest.mark.parametrize("fields, message", [
    ({"district": "999999"}, "请选择所选城市下的区县"),
    ({"province": "990000"}, "请从列表中选择省份"),
    ({"city": "110100", "district": "110105"}, "请选择所选省份下的城市"),  # 北京's district, 山东 as province
    ({"district": "370102"}, "请选择所选城市下的区县"),  # 历下区 is in 济南
    ({"address_detail": " "}, "详细地址"),
    ({"address_detail": "长" * 121}, "详细地址"),
])
def test_a_bad_region_address_is_refused_and_nothing_changes(shopper, app, fields, message):
    shopper.add("PEAR-5J", 1)
    before = saved(app)
    response = shopper.checkout(**{**ZICHUAN, "save_address": "y", **fields})
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    assert stock_of(app, "PEAR-5J") == 120 and rows(app, Order) == 0 and saved(app) == before


def test_the_refusal_speaks_english_too(shopper, app, client):
    shopper.add("PEAR-5J", 1)
    client.get("/lang/en")
    response = shopper.checkout(**{**ZICHUAN, "district": "999999"})
    assert response.status_code == 422 and "Choose a district of the chosen city." in response.get_data(as_text=True)
    assert rows(app, Order) == 0


def test_without_javascript_choose_fills_the_next_list_and_places_nothing(shopper, app, client):
    shopper.add("PEAR-5J", 1)
    page = client.post("/checkout", data={"province": "370000", "region_step": "选择", "recipient_name": "小林"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "淄博市" in text and rows(app, Order) == 0
    page = client.post("/checkout", data={"province": "370000", "city": "370300", "region_step": "选择"})
    assert "淄川区" in page.get_data(as_text=True)
    assert client.get("/regions/370300").get_json()["children"][0] == {"code": "370302", "name": "淄川区"}
    assert client.get("/regions/nonsense").get_json() == {"children": []}


def test_save_this_address_at_checkout_then_it_is_the_default_next_time(shopper, app, client):
    shopper.buy("PEAR-5J", 1, save_address="y", **ZICHUAN)
    kept = [row for row in saved(app) if row[1] == "370302"]
    assert len(kept) == 1
    shopper.buy("PEAR-5J", 1, save_address="y", **ZICHUAN)  # the same address is kept once
    assert len([row for row in saved(app) if row[1] == "370302"]) == 1
    client.post(f"/account/addresses/{kept[0][0]}/default", data={"confirm": "1"})
    shopper.add("PEAR-5J", 1)
    page = client.get("/checkout").get_data(as_text=True)
    assert 'value="松龄东路 1 号 2 单元 301"' in page and '<option selected value="370302">' in page


def test_the_address_book_adds_sets_the_default_and_deletes(shopper, app, client):
    before = saved(app)
    response = client.post("/account/addresses", data={"recipient_name": "小林", "recipient_phone": "13800000000",
                                                       **ZICHUAN, "make_default": "y"})
    assert response.status_code == 303
    added = [row for row in saved(app) if row[0] not in {kept[0] for kept in before}]
    assert len(added) == 1 and added[0][3] is True  # the demo's 张店区 address is no longer the default
    assert sum(1 for row in saved(app) if row[3]) == 1  # one default
    refused = client.post("/account/addresses", data={"recipient_name": "小林", "recipient_phone": "13800000000",
                                                      **ZICHUAN, "city": "370100"})
    assert refused.status_code == 422 and "请选择所选城市下的区县" in refused.get_data(as_text=True)
    assert "山东省淄博市淄川区松龄东路" in client.get("/account/addresses").get_data(as_text=True)
    assert client.post(f"/account/addresses/{added[0][0]}/delete", data={"confirm": "1"}).status_code == 303
    left = saved(app)
    assert added[0][0] not in [row[0] for row in left]
    assert sum(1 for row in left if row[3]) == (1 if left else 0)  # the newest left became the default


def test_another_buyer_can_neither_see_nor_change_your_addresses(shopper, app, client, auth):
    client.post("/account/addresses", data={"recipient_name": "小林", "recipient_phone": "13800000000", **ZICHUAN})
    mine = [row for row in saved(app) if row[2] == ZICHUAN["address_detail"]][0]
    auth.login_as("coop@demo.cn")
    assert "松龄东路" not in client.get("/account/addresses").get_data(as_text=True)
    for action in ("default", "delete"):
        assert client.post(f"/account/addresses/{mine[0]}/{action}", data={"confirm": "1"}).status_code == 404
    client.post("/cart/add", data={"variant_id": shopper.variant_id("PEAR-5J"), "quantity": 1})
    used = client.post("/checkout", data={"saved_address_id": mine[0], "use_saved": "使用此地址"})
    assert used.status_code == 404 and "松龄东路" not in used.get_data(as_text=True)
    assert mine in saved(app)
