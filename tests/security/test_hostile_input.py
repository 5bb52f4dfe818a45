"""Hostile input: oversized, out-of-range, non-numeric, odd Unicode, and fuzzed form fields.

Every case is a clear 4xx or a message on the page — never a 5xx — and a refused request changes
nothing (row counts, stock, prices, statuses, cart and sessions all as before).
"""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.people.models import User
from tests.security.conftest import snapshot
from tests.security.test_authorization_matrix import client_as

CHECKOUT = {"delivery_kind": "address", "recipient_name": "小林", "recipient_phone": "13800000000",
            "province": "310000", "city": "310100", "district": "310104", "address_detail": "漕溪北路 1 号"}
BAD_NUMBERS = ["-1", "0", "-0", "100", "99999999999999999999999", "abc", "1e3", "NaN", "Infinity", "", " ",
               "1.5", "0x10", "1,000", "1;DROP TABLE orders", "9" * 400]
BAD_MONEY = ["-1", "-0.01", "0", "0.001", "1e9", "99999999999999999", "abc", "NaN", "Infinity", "5,00",
             "", "1.2.3", "٣٫٥", "0x10", "9" * 400]


def refused_without_change(app, client, method, url, data, allowed=(400, 404, 409, 413, 422)):
    """POST/GET `data`: the answer is a 4xx (or a 303 back with a message) and nothing changed."""
    before = snapshot(app)
    response = client.open(url, method=method, data=data)
    assert response.status_code < 500, f"{url} {data!r}: {response.status_code}"
    assert response.status_code in allowed or response.status_code in (302, 303), f"{url} {data!r}: {response.status_code}"
    assert snapshot(app) == before, f"{url} {data!r} changed data"
    return response


def test_bad_quantities_in_the_cart_are_refused(app, world):
    buyer = client_as(app, "buyer@demo.cn")
    with app.app_context():
        from marketplace.catalog.models import Variant

        pear = db.session.scalar(select(Variant.id).where(Variant.sku == "PEAR-5J"))
        db.session.remove()
    for quantity in BAD_NUMBERS:
        refused_without_change(app, buyer, "POST", "/cart/add", {"variant_id": pear, "quantity": quantity})
        refused_without_change(app, buyer, "POST", f"/cart/items/{world.cart_item_id}", {"quantity": quantity})
    for variant_id in ["-1", "0", "abc", "99999999999999999999", str(world.variant_id)]:  # the last: downlink goods
        refused_without_change(app, buyer, "POST", "/cart/add", {"variant_id": variant_id, "quantity": "1"})


def test_bad_prices_and_stock_from_a_supplier_are_refused(app, world):
    supplier = client_as(app, "supplier@demo.cn")
    for price in BAD_MONEY:
        response = refused_without_change(app, supplier, "POST", f"/supplier/variants/{world.variant_id}",
                                          {"price": price, "stock": "5", "is_active": "y"})
        assert response.status_code in (303, 302, 400, 422)
    for stock in BAD_NUMBERS[:1] + ["-5", "1000001", "abc", "1e3", "99999999999999999999"]:
        refused_without_change(app, supplier, "POST", f"/supplier/variants/{world.variant_id}",
                               {"price": "10.00", "stock": stock})
    for price in BAD_MONEY:
        response = refused_without_change(app, supplier, "POST", "/supplier/products", {
            "category_id": "5", "title_zh": "测试", "title_en": "Test", "variant_name_zh": "袋", "variant_name_en": "bag",
            "unit": "bag", "price": price, "stock": "3"})
        assert response.status_code in (400, 422)


def test_bad_cash_and_codes_at_pickup_are_refused(app, world):
    agent = client_as(app, "agent@demo.cn")
    for cash in BAD_MONEY:
        refused_without_change(app, agent, "POST", f"/agent/pickup/{world.downlink_order_no}",
                               {"code": "000000", "cash": cash})
    for code in ["", "x" * 13, "' OR 1=1 --", "<script>", "\u202e123"]:
        refused_without_change(app, agent, "POST", f"/agent/pickup/{world.downlink_order_no}", {"code": code})


def test_oversized_bodies_and_fields_are_refused(app, world):
    buyer = client_as(app, "buyer@demo.cn")
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert app.config["MAX_CONTENT_LENGTH"] <= 16 * 1024 * 1024
    for client, url in ((app.test_client(), "/login"), (buyer, "/checkout"), (buyer, "/cart/add"),
                        (app.test_client(), "/signup"), (app.test_client(), "/stripe/webhook")):
        before = snapshot(app)
        response = client.post(url, data={"blob": huge})
        assert response.status_code == 413, url
        assert snapshot(app) == before
    raw = buyer.post("/stripe/webhook", data=huge, content_type="application/json")
    assert raw.status_code == 413
    for field, size in (("recipient_name", 81), ("recipient_phone", 31), ("address_detail", 121), ("district", 7), ("recipient_name", 100_000)):
        refused_without_change(app, buyer, "POST", "/checkout", {**CHECKOUT, field: "长" * size})
    for field in ("email", "name", "password"):
        refused_without_change(app, app.test_client(), "POST", "/signup",
                               {"email": "big@example.cn", "name": "n", "password": "long-enough-1",
                                "confirm": "long-enough-1", field: "y" * 5000})
    refused_without_change(app, app.test_client(), "GET", "/products", {"q": "搜" * 5000}, allowed=(200, 400))


UNICODE_NAMES = ["王秀兰👩‍🌾🍐", "מרים ‏עברית‏", "علي‮evil‬", "李\u200b\u200c\u200d里", "Zoë Ω ß", "\ufeff小林",
                 "🏳️‍🌈" * 10, "A\u0301\u0301\u0301", "𠀀𪚥"]


def test_unicode_names_are_kept_exactly_and_shown_escaped(app, world):
    for index, name in enumerate(UNICODE_NAMES):
        client = app.test_client()
        response = client.post("/signup", data={"email": f"u{index}@example.cn", "name": name,
                                                "password": "long-enough-1", "confirm": "long-enough-1"})
        assert response.status_code in (302, 303), name
        with app.app_context():
            stored = db.session.scalar(select(User.name).where(User.email == f"u{index}@example.cn"))
            db.session.remove()
        assert stored == name.strip()[:80]
        page = client.get("/orders")
        assert page.status_code == 200
    buyer = client_as(app, "buyer@demo.cn")
    for name in UNICODE_NAMES:
        assert buyer.get("/products", query_string={"q": name}).status_code == 200


def test_control_characters_and_nul_bytes_are_refused_or_kept_harmless(app, world):
    for value in ("a\x00b", "\x00", "a\x07\x1b[31mred", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")):
        response = app.test_client().post("/signup", data={"email": "ctl@example.cn", "name": value,
                                                           "password": "long-enough-1", "confirm": "long-enough-1"})
        assert response.status_code < 500, repr(value)
        with app.app_context():
            db.session.execute(db.delete(User).where(User.email == "ctl@example.cn"))
            db.session.commit()
            db.session.remove()
    assert app.test_client().get("/products", query_string={"q": "a\x00b"}).status_code < 500


# --- hypothesis: whatever is typed into the forms ---------------------------------------------------

anything = st.one_of(st.text(max_size=60), st.integers(min_value=-10**20, max_value=10**20).map(str),
                     st.sampled_from(BAD_NUMBERS + BAD_MONEY), st.none())
FUZZED_FORMS = [
    ("buyer@demo.cn", "/cart/add", ["variant_id", "quantity"]),
    ("buyer@demo.cn", "/checkout", ["delivery_kind", "recipient_name", "recipient_phone", "province",
                                    "city", "district", "address_detail", "service_point_id", "round_up"]),
    (None, "/login", ["email", "password"]),
    (None, "/signup", ["email", "name", "password", "confirm"]),
    ("supplier@demo.cn", "/supplier/products", ["category_id", "title_zh", "title_en", "variant_name_zh",
                                                "variant_name_en", "unit", "price", "stock", "story_zh"]),
    ("supplier@demo.cn", "/supplier/areas", ["place"]),
    ("agent@demo.cn", "/agent/order/{supplier_id}", ["customer", "walk_in_name", "walk_in_phone", "payment_method",
                                                     "qty-{variant_id}"]),
    ("agent@demo.cn", "/agent/pickup/{downlink_order_no}", ["code", "cash"]),
    (None, "/products", ["q", "category", "town", "min_price", "max_price", "sort", "page", "label"]),
]


@pytest.mark.parametrize("email,url,fields", FUZZED_FORMS, ids=[form[1] for form in FUZZED_FORMS])
def test_fuzzed_form_input_never_breaks_the_site_and_refusals_change_nothing(app, world, email, url, fields):
    url = url.format(**vars(world))
    fields = [field.format(**vars(world)) for field in fields]
    client = client_as(app, email)
    method = "GET" if url == "/products" else "POST"

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.fixed_dictionaries({}, optional={field: anything for field in fields}))
    def check(values):
        data = {key: value for key, value in values.items() if value is not None}
        before = snapshot(app)
        response = client.open(url, method=method, data=data if method == "POST" else None,
                               query_string=data if method == "GET" else None)
        assert response.status_code < 500, f"{method} {url} {data!r}: {response.status_code}"
        if 400 <= response.status_code < 500:
            assert snapshot(app) == before, f"{url} {data!r} refused but changed data"

    check()


NUL_PATHS = {None: ["/products/%00", "/products/%00/qr.svg", "/towns/%00/impact", "/api/v1/products/%00",
                    "/api/v1/towns/%00/impact", "/products/a%00b", "/invitations/%00"],
             "buyer@demo.cn": ["/orders/%00", "/orders/%00/pay", "/api/v1/orders/%00", "/api/v1/orders/%00/impact"],
             "agent@demo.cn": ["/agent/orders/%00", "/agent/pickup/%00"]}


def test_a_nul_in_the_url_path_is_a_400_for_everyone(app, world):
    from marketplace.api.tokens import create_token

    with app.app_context():
        _token, bearer = create_token(db.session.scalar(select(User.id).where(User.email == "buyer@demo.cn")), "t")
        db.session.remove()
    for email, paths in NUL_PATHS.items():
        client = client_as(app, email)
        for path in paths:
            headers = {"Authorization": f"Bearer {bearer}"} if path.startswith("/api/") and email else {}
            assert client.get(path, headers=headers).status_code == 400, path


def test_a_nul_anywhere_in_api_json_is_refused_and_orders_nothing(app, world):
    from marketplace.api.tokens import create_token

    with app.app_context():
        _token, bearer = create_token(db.session.scalar(select(User.id).where(User.email == "buyer@demo.cn")), "t")
        db.session.remove()
    api = app.test_client()
    headers = {"Authorization": f"Bearer {bearer}"}
    order = {"delivery_kind": "address", "recipient_name": "小林", "recipient_phone": "13800000000",
             "address": "上海市徐汇区漕溪北路 1 号"}
    for field in ("recipient_name", "address"):
        before = snapshot(app)
        response = api.post("/api/v1/orders", json={**order, field: "小\x00林"}, headers=headers)
        assert response.status_code == 400 and response.is_json, field
        assert snapshot(app) == before


def test_unicode_digits_and_overflowing_quantities_from_an_agent_are_refused(app, world):
    agent = client_as(app, "agent@demo.cn")
    for quantity in ["²", "①", "٣", "2147483648", "9" * 400]:
        refused_without_change(app, agent, "POST", f"/agent/order/{world.supplier_id}", {
            "customer": "walk-in", "walk_in_name": "路人", "payment_method": "cash", f"qty-{world.variant_id}": quantity},
            allowed=(400, 404, 409, 422))
    refused_without_change(app, agent, "POST", f"/agent/order/{world.supplier_id}", {
        "customer": "walk-in", "walk_in_name": "路人", "payment_method": "cash", "qty-²": "1"},
        allowed=(400, 404, 409, 422))
