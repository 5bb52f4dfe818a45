"""Store credit on a phone: the buyer claims a crushed box of pears and takes the refund as store
credit; once the cooperative accepts, the worker posts it (no Stripe refund) and the buyer sees the
credit on the order and on the store-credit page, which fits the phone."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.aftersales import services as claims
from marketplace.aftersales.models import Claim
from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.names import STORE_CREDIT_ISSUED
from marketplace.ledger.verify import verify_ledger
from marketplace.orders import cart, fulfilment
from marketplace.orders.checkout import pay_with_test_card, place_order
from marketplace.orders.models import Shipment
from marketplace.payments.models import Refund
from marketplace.people.models import User
from tests.conftest import ARTIFACTS
from tests.e2e.test_after_sales_claim import DELIVERY, camera_photo, fulfilment_users, user_id
from tests.e2e.test_two_cooperative_order import signed_in
from tests.storefront.conftest import district  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def test_a_buyer_takes_a_claim_refund_as_store_credit_on_a_phone(
        app, district, live_server, stripe_server, celery_worker, browser):
    with app.app_context():
        buyer = user_id("buyer@demo.cn")
        buyer_cart = cart.open_cart(user_id=buyer)
        pears = db.session.scalar(select(Variant).filter_by(sku="PEAR-5J"))
        cart.add_item(buyer_cart.id, pears.id, 2)
        order = place_order(buyer_cart.id, buyer, DELIVERY)
        order_id, public_no, unit_price = order.id, order.public_no, pears.price_fen
        pay_with_test_card(order_id)
        db.session.remove()
    celery_worker.wait_for(lambda: db.session.scalar(select(JournalEntry.id).where(
        JournalEntry.idempotency_key.like("pay:%"), JournalEntry.order_id == order_id)))
    with app.app_context():
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order_id))
        manager = db.session.scalar(select(User.id).where(User.role == "coop_manager",
                                                          User.id.in_(fulfilment_users(shipment.seller_id))))
        fulfilment.mark_packed(shipment.id, manager)
        fulfilment.mark_shipped(shipment.id, manager, "顺丰速运", "SF1234567891")
        fulfilment.record_carrier_delivery(shipment.id, manager)
        shipment_id = shipment.id
        db.session.remove()

    phone = signed_in(browser, live_server, "buyer@demo.cn")
    phone.goto(f"{live_server}/orders/{public_no}")
    phone.locator(f"#shipment-{shipment_id} a[href*='/claim']").click()
    phone.check("input[name=reason][value=damaged]")
    phone.fill("input[name=quantity]", "1")
    phone.set_input_files("#photos", files=[{"name": "IMG_0002.jpg", "mimeType": "image/jpeg", "buffer": camera_photo()}])
    phone.check("input[name=remedy][value=refund]")
    phone.check("input[name=refund_to][value=store_credit]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "store-credit-claim-form.png"), full_page=True)
    with phone.expect_navigation():
        phone.click("form.claim-form button[type=submit]")
    with app.app_context():
        claim = db.session.scalar(select(Claim).where(Claim.order_id == order_id))
        assert claim.refund_to == "store_credit"
        claims.respond(claim.id, manager, "accept")
        refund_id = db.session.get(Claim, claim.id).refund_id
        db.session.remove()
    celery_worker.wait_for(lambda: db.session.scalar(select(JournalEntry.id).where(
        JournalEntry.refund_id == refund_id, JournalEntry.rule == STORE_CREDIT_ISSUED)))
    shown = f"¥{unit_price / 100:,.2f}"
    phone.goto(f"{live_server}/orders/{public_no}")
    expect(phone.locator(f"#claim-{claim.id} .claim-refund")).to_contain_text(f"已退 {shown} 至购物余额")
    phone.goto(f"{live_server}/store-credit")
    expect(phone.locator(".store-credit-balance")).to_contain_text(shown)
    expect(phone.locator(".store-credit-history")).to_contain_text(public_no)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(ARTIFACTS / "store-credit-page.png"), full_page=True)
    with app.app_context():
        refund = db.session.get(Refund, refund_id)
        assert (refund.method, refund.stripe_refund_id) == ("store_credit", None)  # nothing went through Stripe
        report = verify_ledger()
        assert report.ok, report.violations
        db.session.remove()
