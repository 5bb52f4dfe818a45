"""The pre-sale pages through the Flask client, the real `stripe` library against localstripe:
the cooperative opens a pre-sale, a buyer pre-orders and pays the deposit, the lots recorded
ask for the balance, the balance fills an ordinary order; a short harvest refunds and tells."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.local_time import local_today
from marketplace.orders.models import Order, Shipment
from marketplace.people.models import User
from marketplace.presales.models import PreOrder, PreOrderMessage, PreSale
from tests.coops.conftest import lili  # noqa: F401

ADDRESS = {"recipient_name": "王女士", "recipient_phone": "13800000000", "province": "110000", "city": "110100",
           "district": "110105", "address_detail": "建国路 1 号"}


def presale_form(variant, **changes):
    today = local_today()
    form = {"variant_id": variant, "expected_quantity": "10", "price": "38", "deposit": "10",
            "orders_close_on": (today + timedelta(days=20)).isoformat(),
            "ships_from": (today + timedelta(days=30)).isoformat(),
            "ships_until": (today + timedelta(days=45)).isoformat(),
            "short_policy": "last_first", "unpaid_policy": "refund", "balance_days": "3"}
    return {**form, **changes}


def presale_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(PreSale.id)))


def preorder_of(app, preorder_id):
    with app.app_context():
        preorder = db.session.get(PreOrder, preorder_id)
        _ = list(preorder.payments), preorder.balance_fen
        db.session.expunge_all()
        return preorder


@pytest.fixture
def gift_box(app, lili):
    with app.app_context():
        return db.session.scalar(select(Variant.id).where(Variant.sku == "GRAIN-5J"))


def open_as_manager(app, client, auth, variant_id, **changes):
    auth.login_as("coop@demo.cn")
    response = client.post("/coop/presales/new", data=presale_form(variant_id, **changes))
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return int(re.search(r"/coop/presales/(\d+)", response.location).group(1))


def record_lot(app, client, auth, lili, quantity):
    auth.login_as("coop@demo.cn")
    page = client.get("/coop/lots/new").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/coop/lots/new", data={
        "token": token, "household_id": lili.household_id, "product_id": lili.product_id, "quantity": quantity,
        "grade": "一级", "received_on": local_today().isoformat(), "variant_id": 0})
    assert response.status_code == 303


def preorder_as(app, client, auth, email, presale_id, quantity):
    auth.login_as(email)
    response = client.post(f"/presales/{presale_id}/order", data={"quantity": quantity, **ADDRESS})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    preorder_id = int(re.search(r"/preorders/(\d+)/pay", response.location).group(1))
    assert client.get(response.location).status_code == 200
    return preorder_id


def pay(client, preorder_id):
    return client.post(f"/preorders/{preorder_id}/pay/test-card", data={"confirm": "1"})


def another_buyer(app, email="buyer3@demo.cn"):
    with app.app_context():
        user = User(email=email, name="另一位买家", role="buyer")
        user.set_password("demo1234")
        db.session.add(user)
        db.session.commit()


def test_a_bad_pre_sale_form_is_refused_with_a_message_and_opens_nothing(app, client, auth, gift_box):
    auth.login_as("coop@demo.cn")
    before = presale_count(app)
    past = (local_today() - timedelta(days=1)).isoformat()
    for changes in ({"deposit": "39"}, {"orders_close_on": past}, {"ships_until": local_today().isoformat()},
                    {"price": "-1"}, {"expected_quantity": "²"}, {"variant_id": "999999"}, {"short_policy": "x"}):
        response = client.post("/coop/presales/new", data=presale_form(gift_box, **changes))
        assert response.status_code in (400, 404, 409, 422), changes
        assert 'role="alert"' in response.get_data(as_text=True), changes
    assert presale_count(app) == before


def test_deposit_then_harvest_then_balance_fills_an_order_the_cooperative_ships(app, client, auth, lili, gift_box,
                                                                                 stripe_server):
    presale_id = open_as_manager(app, client, auth, gift_box)
    page = client.get("/products/lili-minor-grains").get_data(as_text=True)
    assert f"/presales/{presale_id}/order" in page

    preorder_id = preorder_as(app, client, auth, "buyer@demo.cn", presale_id, 2)
    assert pay(client, preorder_id).status_code == 303
    assert preorder_of(app, preorder_id).status == "committed"
    assert pay(client, preorder_id).status_code == 303  # paying again: nothing is due, nothing charged
    assert preorder_of(app, preorder_id).payments[0].amount_fen == 2000
    product_page = client.get("/products/lili-minor-grains").get_data(as_text=True)
    assert 'value="2"' in product_page  # the committed meter counts the 2 boxes

    auth.login_as("coop@demo.cn")
    detail = client.get(f"/coop/presales/{presale_id}").get_data(as_text=True)
    assert f'id="preorder-{preorder_id}"' in detail and '<dd id="committed">2</dd>' in detail
    record_lot(app, client, auth, lili, 10)  # 10 斤 = 2 boxes of 5 斤: the pre-order is allocated
    preorder = preorder_of(app, preorder_id)
    assert (preorder.status, preorder.balance_fen) == ("balance_due", 2 * 3800 - 2000)

    auth.login_as("buyer@demo.cn")
    detail = client.get(f"/preorders/{preorder_id}").get_data(as_text=True)
    assert 'id="balance"' in detail and "¥56.00" in detail
    assert pay(client, preorder_id).status_code == 303
    preorder = preorder_of(app, preorder_id)
    assert preorder.status == "filled"
    with app.app_context():
        order = db.session.get(Order, preorder.order_id)
        assert (order.status, order.total_fen, order.buyer_id) == ("paid", 7600, db.session.scalar(
            select(User.id).where(User.email == "buyer@demo.cn")))
        shipment_id = db.session.scalar(select(Shipment.id).where(Shipment.order_id == order.id))
        public_no = order.public_no
    assert f"/orders/{public_no}" in client.get(f"/preorders/{preorder_id}").get_data(as_text=True)

    auth.login_as("coop@demo.cn")
    assert f'id="shipment-{shipment_id}"' in client.get("/coop/orders").get_data(as_text=True)
    assert client.post(f"/coop/shipments/{shipment_id}/packed", data={}).status_code in (302, 303)
    client.post(f"/coop/shipments/{shipment_id}/shipped", data={"carrier": "顺丰速运", "tracking_no": "SF1234567890"})
    with app.app_context():
        assert db.session.get(Shipment, shipment_id).status == "shipped"


def test_a_short_harvest_refunds_the_last_buyer_in_full_and_tells_them(app, client, auth, lili, gift_box, stripe_server):
    presale_id = open_as_manager(app, client, auth, gift_box, expected_quantity="4")
    first = preorder_as(app, client, auth, "buyer@demo.cn", presale_id, 2)
    pay(client, first)
    another_buyer(app)
    second = preorder_as(app, client, auth, "buyer3@demo.cn", presale_id, 2)
    pay(client, second)
    record_lot(app, client, auth, lili, 12)  # 2 boxes harvested (and 2 斤 over): only the first order fits

    response = client.post(f"/coop/presales/{presale_id}/close", data={})
    assert response.status_code == 303
    assert (preorder_of(app, first).status, preorder_of(app, second).status) == ("balance_due", "refunded")
    assert preorder_of(app, second).payments[0].refunded_fen == 2000
    with app.app_context():
        told = db.session.scalars(select(PreOrderMessage.kind).where(PreOrderMessage.preorder_id == second)).all()
    assert "refunded_short" in told

    auth.login_as("buyer3@demo.cn")
    page = client.get("/preorders").get_data(as_text=True)
    assert "¥20.00" in page and 'badge-refunded' in page
    assert client.post(f"/presales/{presale_id}/order", data={"quantity": 1, **ADDRESS}).status_code == 404


def test_a_buyer_cannot_order_beyond_the_expected_harvest_nor_see_another_buyers_pre_order(app, client, auth,
                                                                                          gift_box):
    presale_id = open_as_manager(app, client, auth, gift_box, expected_quantity="3")
    mine = preorder_as(app, client, auth, "buyer@demo.cn", presale_id, 3)
    another_buyer(app)
    auth.login_as("buyer3@demo.cn")
    response = client.post(f"/presales/{presale_id}/order", data={"quantity": 1, **ADDRESS})
    assert response.status_code == 409
    for url in (f"/preorders/{mine}", f"/preorders/{mine}/pay"):
        assert client.get(url).status_code == 404
    assert pay(client, mine).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(PreOrder.id)).where(PreOrder.presale_id == presale_id)) == 1


def test_the_dashboard_shows_committed_demand_per_product_and_season(app, client, auth, lili):
    auth.login_as("coop@demo.cn")
    page = client.get("/coop/").get_data(as_text=True)
    assert 'id="presale-demand"' in page and "5斤礼盒" in page


def test_a_pre_order_takes_its_address_by_region_and_the_filled_order_keeps_it(app, client, auth, lili, gift_box,
                                                                               stripe_server):
    presale_id = open_as_manager(app, client, auth, gift_box)
    auth.login_as("buyer@demo.cn")
    page = client.get(f"/presales/{presale_id}/order").get_data(as_text=True)
    assert 'name="province"' in page and 'name="district"' in page and 'name="address"' not in page
    preorder_id = preorder_as(app, client, auth, "buyer@demo.cn", presale_id, 2)
    preorder = preorder_of(app, preorder_id)
    assert (preorder.region_code, preorder.region_name, preorder.address_detail) == ("110105", "北京市朝阳区", "建国路 1 号")
    assert preorder.address == "北京市朝阳区建国路 1 号"
    pay(client, preorder_id)
    record_lot(app, client, auth, lili, 10)
    auth.login_as("buyer@demo.cn")
    pay(client, preorder_id)
    with app.app_context():
        order = db.session.get(Order, preorder_of(app, preorder_id).order_id)
        assert (order.region_code, order.region_name, order.address_detail) == ("110105", "北京市朝阳区", "建国路 1 号")


@pytest.mark.parametrize("fields, message", [
    ({"district": "999999"}, "请选择所选城市下的区县"),
    ({"province": "990000"}, "请从列表中选择省份"),
    ({"district": "370102"}, "请选择所选城市下的区县"),  # 历下区 is in 济南, not 北京
    ({"address_detail": " "}, "详细地址"),
])
def test_a_bad_region_is_refused_and_no_pre_order_is_made(app, client, auth, gift_box, fields, message):
    presale_id = open_as_manager(app, client, auth, gift_box)
    auth.login_as("buyer@demo.cn")
    with app.app_context():
        before = db.session.scalar(select(func.count(PreOrder.id)))
    response = client.post(f"/presales/{presale_id}/order", data={"quantity": 1, **ADDRESS, **fields})
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(PreOrder.id))) == before


def test_the_buyer_s_default_saved_address_is_preselected_on_the_pre_order_form(app, client, auth, gift_box):
    presale_id = open_as_manager(app, client, auth, gift_box)
    auth.login_as("buyer@demo.cn")
    response = client.post("/account/addresses", data={
        "recipient_name": "李先生", "recipient_phone": "13900000000", "province": "370000", "city": "370300",
        "district": "370302", "address_detail": "松龄东路 1 号", "make_default": "y"})
    assert response.status_code == 303
    page = client.get(f"/presales/{presale_id}/order").get_data(as_text=True)
    assert re.search(r'<option selected value="370302">|<option value="370302" selected>', page)
    assert 'value="松龄东路 1 号"' in page and 'value="李先生"' in page
    assert re.search(r'<option selected value="\d+">李先生', page)


def test_a_pre_order_may_be_picked_up_at_a_village_service_point(app, client, auth, lili, gift_box, stripe_server):
    from marketplace.places.models import ServicePoint

    with app.app_context():
        point_id = db.session.scalar(select(ServicePoint.id).order_by(ServicePoint.id))
    presale_id = open_as_manager(app, client, auth, gift_box)
    auth.login_as("buyer@demo.cn")
    page = client.get(f"/presales/{presale_id}/order").get_data(as_text=True)
    assert 'value="pickup"' in page and 'name="service_point_id"' in page
    bad = client.post(f"/presales/{presale_id}/order", data={"quantity": 1, "recipient_name": "王女士",
                                                             "recipient_phone": "13800000000",
                                                             "delivery_kind": "pickup", "service_point_id": "999999"})
    assert bad.status_code in (400, 422) and "请选择自提点" in bad.get_data(as_text=True)
    response = client.post(f"/presales/{presale_id}/order", data={
        "quantity": 2, "recipient_name": "王女士", "recipient_phone": "13800000000", "delivery_kind": "pickup",
        "service_point_id": str(point_id), "district": "999999"})  # the region is not asked for pickup
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    preorder_id = int(re.search(r"/preorders/(\d+)/pay", response.location).group(1))
    preorder = preorder_of(app, preorder_id)
    assert (preorder.delivery_kind, preorder.service_point_id, preorder.region_code) == ("pickup", point_id, None)
    pay(client, preorder_id)
    record_lot(app, client, auth, lili, 10)
    auth.login_as("buyer@demo.cn")
    pay(client, preorder_id)
    with app.app_context():
        order = db.session.get(Order, preorder_of(app, preorder_id).order_id)
        assert (order.delivery_kind, order.service_point_id, order.status) == ("pickup", point_id, "paid")
        assert order.pickup_code
