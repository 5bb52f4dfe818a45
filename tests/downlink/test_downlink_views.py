"""The agent's and the supplier's screens: forms, scope, and what each may see."""
import re

from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.catalog.models import Product, Variant
from marketplace.downlink import runs
from marketplace.downlink.models import DeliveryArea
from marketplace.extensions import db
from marketplace.orders.models import Order
from tests.downlink.conftest import make_agent, make_supplier


# The `demo` fixture keeps one app context open for the whole test, and requests share it (and its
# database session); so one identity per test, since Flask-Login caches the user on `g`.
def test_signing_in_is_needed_for_the_agent_screens(client, dl):
    assert client.get("/agent/").headers["Location"].startswith("/login")


def test_a_buyer_reaches_neither_the_agent_nor_the_supplier_screens(client, auth, dl):
    auth.login_as("buyer@demo.cn")
    assert client.get("/agent/").status_code == 403
    assert client.get("/supplier/").status_code == 403


def test_a_supplier_reaches_only_the_supplier_screens(client, auth, dl):
    auth.login_as("supplier@demo.cn")
    assert client.get("/agent/").status_code == 403
    assert client.get("/supplier/").status_code == 200


def test_an_agent_orders_through_the_form_and_sees_the_pickup_code(client, auth, dl):
    auth.login_as("agent@demo.cn")
    home = client.get("/agent/").get_data(as_text=True)
    assert "北坪村电商服务站" in home
    response = client.post(f"/agent/order/{dl.supplier_id}", data={
        "customer": str(dl.household_id), "payment_method": "cash", f"qty-{dl.oil}": "2", f"qty-{dl.soap}": ""})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    order = db.session.scalar(select(Order))
    assert order.total_fen == 2 * 9900
    assert order.pickup_code in page and "<svg" in page


def test_a_tampered_form_changes_nothing(client, auth, dl):
    auth.login_as("agent@demo.cn")
    for data in ({"customer": str(dl.household_id), "payment_method": "cash", f"qty-{dl.oil}": "-3"},
                 {"customer": str(dl.household_id), "payment_method": "cash", f"qty-{dl.oil}": "1e9"},
                 {"customer": "999999", "payment_method": "cash", f"qty-{dl.oil}": "1"},
                 {"customer": str(dl.household_id), "payment_method": "gift", f"qty-{dl.oil}": "1"}):
        assert client.post(f"/agent/order/{dl.supplier_id}", data=data).status_code in (404, 409, 422)
    assert db.session.query(Order).count() == 0


def test_an_agent_never_sees_another_service_points_order(app, client, auth, dl, place):
    order_no = place({dl.oil: 1}, "cash").public_no
    make_agent("东东峪村", "agent2@demo.cn")
    db.session.remove()  # SQLite: release the write lock before signing in
    auth.login_as("agent2@demo.cn")
    assert client.get(f"/agent/orders/{order_no}").status_code == 404
    assert client.post(f"/agent/pickup/{order_no}", data={"code": "123456"}).status_code == 404


def test_a_wrong_pickup_code_is_refused_on_the_page(app, client, auth, dl, place):
    order = place({dl.oil: 1}, "cash")
    order_no, code = order.public_no, order.pickup_code
    run = runs.consolidate()[0]
    runs.dispatch_run(dl.supplier_user_id, run.id)
    runs.receive_run(dl.agent_id, run.id)
    db.session.remove()
    auth.login_as("agent@demo.cn")
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(f"/agent/pickup/{order_no}", data={"code": wrong, "cash": "99.00"})
    assert response.status_code == 422
    assert "取货码不对" in response.get_data(as_text=True)
    right = client.post(f"/agent/pickup/{order_no}", data={"code": code, "cash": "99.00"})
    assert right.status_code == 302
    assert db.session.scalar(select(Order.status)) == "completed"
    actions = {a.action: a.on_behalf_of_household_id for a in db.session.scalars(select(AuditLog))}
    assert actions["downlink.picked_up"] == dl.household_id


def test_a_supplier_lists_goods_and_sets_price_and_stock(app, client, auth, dl):
    auth.login_as("supplier@demo.cn")
    category_id = db.session.scalar(select(Product.category_id).where(Product.slug == "peanut-oil"))
    response = client.post("/supplier/products", data={
        "category_id": category_id, "title_zh": "食盐", "title_en": "Table salt", "variant_name_zh": "500克",
        "variant_name_en": "500 g", "unit": "pack", "price": "2.50", "stock": "400"})
    assert response.status_code == 302
    salt = db.session.scalar(select(Variant).join(Product).where(Product.title_en == "Table salt"))
    assert (salt.price_fen, salt.stock_available, salt.product.direction) == (250, 400, "downlink")
    salt_id = salt.id
    client.post(f"/supplier/variants/{salt_id}", data={"price": "2.80", "stock": "350", "is_active": "y"})
    bad = client.post(f"/supplier/variants/{salt_id}", data={"price": "-1", "stock": "350", "is_active": "y"})
    assert bad.status_code == 302
    salt = db.session.get(Variant, salt_id)
    assert (salt.price_fen, salt.stock_available) == (280, 350)


def test_a_supplier_cannot_touch_another_suppliers_goods_or_runs(app, client, auth, dl, place):
    place({dl.oil: 1}, "cash")
    run_id = runs.consolidate()[0].id
    make_supplier()
    db.session.remove()
    auth.login_as("supplier2@demo.cn")
    assert client.get(f"/supplier/runs/{run_id}").status_code == 404
    assert client.get(f"/supplier/runs/{run_id}/pick-list.pdf").status_code == 404
    assert client.post(f"/supplier/runs/{run_id}/dispatch").status_code == 404
    client.post(f"/supplier/variants/{dl.oil}", data={"price": "0.01", "stock": "0", "is_active": "y"})
    assert db.session.get(Variant, dl.oil).price_fen == 9900


def test_a_supplier_chooses_where_to_deliver(app, client, auth, dl):
    auth.login_as("supplier@demo.cn")
    page = client.get("/supplier/areas").get_data(as_text=True)
    village_value = re.search(r'value="(village-\d+)"', page).group(1)
    before = db.session.query(DeliveryArea).count()
    client.post("/supplier/areas", data={"place": village_value})
    client.post("/supplier/areas", data={"place": village_value})  # twice: refused, not duplicated
    assert db.session.query(DeliveryArea).count() == before + 1


def test_the_two_way_page_shows_the_month_of_the_villages_downlink(app, client, auth, dl, place):
    order = place({dl.oil: 1}, "cash")
    run = runs.consolidate()[0]
    runs.dispatch_run(dl.supplier_user_id, run.id)
    runs.receive_run(dl.agent_id, run.id)
    from marketplace.downlink.pickup import hand_over
    hand_over(dl.agent_id, order.public_no, order.pickup_code, cash_received_fen=9900)
    month = f"{order.created_at:%Y-%m}"
    db.session.remove()
    auth.login_as("agent@demo.cn")
    page = client.get("/agent/two-way").get_data(as_text=True)
    assert month in page
    assert "¥99.00" in page  # what the village paid for its daily goods
