"""Script and HTML typed into the main forms show as plain text in a real browser: no dialog fires."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.models import Order
from tests.security.test_authorization_matrix import client_as

PAYLOADS = ['<script>alert("s")</script>', '<img src=x onerror=alert("i")>', '"><svg onload=alert("v")>',
            "javascript:alert('j')", "</textarea><iframe src=javascript:alert('f')>", "{{7*191}}{% raw %}"]
HOSTILE = " ".join(PAYLOADS)


@pytest.mark.browser
def test_hostile_text_in_every_main_form_is_rendered_inert(app, world, live_server, phone):
    buyer = app.test_client()
    assert buyer.post("/signup", data={"email": "mallory@example.cn", "name": HOSTILE[:80], "password": "long-enough-1",
                                       "confirm": "long-enough-1"}).status_code in (302, 303)
    with app.app_context():
        from marketplace.catalog.models import Variant

        pear = db.session.scalar(select(Variant.id).where(Variant.sku == "PEAR-5J"))
        db.session.remove()
    buyer.post("/cart/add", data={"variant_id": pear, "quantity": 1})
    placed = buyer.post("/checkout", data={"delivery_kind": "address", "recipient_name": PAYLOADS[1],
                                           "recipient_phone": "13800000000", "province": "310000",
                                           "city": "310100", "district": "310104", "address_detail": HOSTILE[:120]})
    assert placed.status_code == 303
    supplier = client_as(app, "supplier@demo.cn")
    listed = supplier.post("/supplier/products", data={
        "category_id": _downlink_category(app), "title_zh": PAYLOADS[0], "title_en": PAYLOADS[2],
        "variant_name_zh": PAYLOADS[1], "variant_name_en": PAYLOADS[4], "unit": "bag", "price": "9.90", "stock": "5",
        "story_zh": HOSTILE, "story_en": HOSTILE})
    assert listed.status_code in (302, 303)
    with app.app_context():
        order_no = db.session.scalar(select(Order.public_no).order_by(Order.id.desc()))
        db.session.remove()

    dialogs = []
    phone.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(phone, live_server, "mallory@example.cn", "long-enough-1")
    for path in ("/orders", "/products?q=" + PAYLOADS[1], f"/orders/{order_no}"):
        phone.goto(live_server + path)
        phone.wait_for_load_state("networkidle")
    # Shown as text on the page itself (the header's copy sits in the folded account menu).
    expect(phone.locator("main").get_by_text(re.compile(re.escape('onerror=alert("i")'))).first).to_be_visible()
    _sign_out_and_in(phone, live_server, "supplier@demo.cn", "demo1234")
    for path in ("/supplier/", "/supplier/products"):
        phone.goto(live_server + path)
        phone.wait_for_load_state("networkidle")
    expect(phone.get_by_text(PAYLOADS[0]).first).to_be_visible()
    assert dialogs == [], f"a script ran: {dialogs}"
    assert phone.locator("iframe, svg[onload], img[onerror]").count() == 0


def _downlink_category(app):
    from marketplace.catalog.models import Category

    with app.app_context():
        found = db.session.scalar(select(Category.id).where(Category.direction == "downlink"))
        db.session.remove()
    return found


def _sign_in(page, base, email, password):
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_load_state("networkidle")


def _sign_out_and_in(page, base, email, password):
    page.context.clear_cookies()
    _sign_in(page, base, email, password)
