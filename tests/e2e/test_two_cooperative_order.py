"""An order of two cooperatives' goods, in a real browser on a phone: each manager packs and ships
only their own parcel, the buyer confirms each, and both settle after the after-sales window."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.catalog.models import Product, Variant
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.models import LotAllocation
from marketplace.orders.models import Order, Shipment
from marketplace.orders.settlement import settle_due
from marketplace.people.models import User
from tests.conftest import ARTIFACTS
from tests.coops.conftest import make_paid_order, pay_and_attribute

pytestmark = pytest.mark.browser


def signed_in(browser, live_server, email):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo1234")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    return page


def pack_and_ship(page, live_server, shipment_id, tracking_no):
    page.goto(f"{live_server}/coop/orders")
    card = page.locator(f"#shipment-{shipment_id}")
    card.locator("button[type=submit]").click()  # 标记已打包
    card = page.locator(f"#shipment-{shipment_id}")
    card.locator("select[name=carrier]").select_option("顺丰速运")
    card.locator("input[name=tracking_no]").fill(tracking_no)
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#shipment-{shipment_id} .badge-shipped")).to_be_visible()


def test_two_cooperatives_ship_their_own_parcels_and_both_settle(app, demo, live_server, browser):
    buyer_id = db.session.scalar(select(User.id).filter_by(email="buyer@demo.cn"))
    order_id = make_paid_order("GRAIN-1J", quantity=2, extra_skus=("PEAR-5J",))
    order = db.session.get(Order, order_id)
    order.buyer_id = buyer_id
    db.session.commit()
    pay_and_attribute(order_id)
    public_no = order.public_no
    grain_parcel, pear_parcel = (db.session.scalar(
        select(Shipment.id).join(Variant, Variant.sku == sku).join(Product, Product.id == Variant.product_id)
        .where(Shipment.order_id == order_id, Shipment.seller_id == Product.seller_id)) for sku in ("GRAIN-1J", "PEAR-5J"))
    growers = set(db.session.scalars(select(LotAllocation.household_id)))
    db.session.remove()

    lili = signed_in(browser, live_server, "coop@demo.cn")
    lili.goto(f"{live_server}/coop/orders")
    expect(lili.locator(f"#shipment-{pear_parcel}")).to_have_count(0)  # the pears are not Lili's to pack
    pack_and_ship(lili, live_server, grain_parcel, "SF0000000001")
    pears = signed_in(browser, live_server, "coop2@demo.cn")
    pack_and_ship(pears, live_server, pear_parcel, "SF0000000002")
    assert pears.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"

    buyer = signed_in(browser, live_server, "buyer@demo.cn")
    buyer.goto(f"{live_server}/orders/{public_no}")
    for parcel in (grain_parcel, pear_parcel):
        buyer.locator(f"#shipment-{parcel} button[type=submit]").click()  # 确认收货
        expect(buyer.locator(f"#shipment-{parcel} .status-delivered")).to_be_visible()
    expect(buyer.locator(".order-status")).to_contain_text("已送达")

    with app.app_context():
        assert [household_balance(grower).pending_fen > 0 for grower in growers] == [True] * len(growers)
        assert settle_due(now=utcnow() + timedelta(days=7, minutes=1)) == 2
        assert [household_balance(grower).pending_fen for grower in growers] == [0] * len(growers)
        db.session.remove()
    buyer.reload()
    expect(buyer.locator(".order-status")).to_contain_text("已完成")
    expect(buyer.locator(".shipment .status-settled")).to_have_count(2)
    assert buyer.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    buyer.screenshot(path=str(ARTIFACTS / "two-cooperative-order-settled.png"), full_page=True)
    for page in (lili, pears, buyer):
        page.context.close()
