"""After-sales on a phone: the buyer claims a crushed box of pears with a photo from the camera, the
cooperative offers a partial refund, the buyer accepts, the refund (sent through the local Stripe by
the worker) shows on the order and its receipt, and the parcel settles only once the claim is closed."""
from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.aftersales.models import Claim
from marketplace.catalog.models import Variant
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.names import CLAIM
from marketplace.ledger.verify import verify_ledger
from marketplace.orders import cart, fulfilment
from marketplace.orders.checkout import Delivery, pay_with_test_card, place_order
from marketplace.orders.models import Order, Shipment
from marketplace.orders.settlement import settle_due
from marketplace.people.models import User
from tests.conftest import ARTIFACTS
from tests.e2e.test_two_cooperative_order import signed_in
from tests.storefront.conftest import district  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
DELIVERY = Delivery(kind="address", recipient_name="王女士", recipient_phone="13800000000", address="上海市徐汇区漕溪北路 1 号")


def camera_photo():
    """A JPEG as a phone camera makes it, with EXIF the pipeline must drop."""
    picture = Image.new("RGB", (1600, 1200), (214, 196, 96))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    data = BytesIO()
    picture.save(data, "JPEG", exif=exif)
    return data.getvalue()


def user_id(email):
    return db.session.scalar(select(User.id).filter_by(email=email))


def test_a_buyer_claims_with_a_photo_accepts_a_partial_refund_and_settlement_waits(
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
        manager_email = db.session.get(User, manager).email
        fulfilment.mark_packed(shipment.id, manager)
        fulfilment.mark_shipped(shipment.id, manager, "顺丰速运", "SF1234567890")
        fulfilment.record_carrier_delivery(shipment.id, manager)
        shipment_id = shipment.id
        db.session.remove()

    phone = signed_in(browser, live_server, "buyer@demo.cn")
    phone.goto(f"{live_server}/orders/{public_no}")
    phone.locator(f"#shipment-{shipment_id} a[href*='/claim']").click()
    phone.check("input[name=reason][value=damaged]")
    phone.fill("input[name=quantity]", "1")
    phone.set_input_files("#photos", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": camera_photo()}])
    phone.fill("textarea[name=note]", "一箱压坏了，梨都裂开了。")
    phone.check("input[name=remedy][value=refund]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "after-sales-claim-form.png"), full_page=True)
    phone.locator("form.claim-form button[type=submit]").click()
    expect(phone.locator(".claim .status-claim-awaiting_seller")).to_be_visible()
    phone.wait_for_function("() => { const img = document.querySelector('.claim-photos img'); "
                            "return img && img.complete && img.naturalWidth > 0; }")
    with app.app_context():
        claim = db.session.scalar(select(Claim).where(Claim.order_id == order_id))
        claim_id = claim.id
        photo = claim.photos[0].path
        with Image.open(f"{app.config['UPLOAD_DIR']}/{photo}") as kept:
            assert not kept.getexif(), "the photo is kept without its EXIF"
        past_window = utcnow() + timedelta(days=app.config["AFTER_SALES_DAYS"], minutes=5)
        assert settle_due(now=past_window) == 0, "an open claim holds the parcel's settlement"
        db.session.remove()

    seller = signed_in(browser, live_server, manager_email)
    seller.goto(f"{live_server}/coop/claims")
    card = seller.locator(f"#claim-{claim_id}")
    card.locator("select[name=action]").select_option("offer")
    card.locator("input[name=offer]").fill("10")
    assert seller.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    seller.screenshot(path=str(ARTIFACTS / "after-sales-claim-cooperative.png"), full_page=True)
    card.locator("button[type=submit]").click()
    expect(seller.locator(f"#claim-{claim_id} .status-claim-offered")).to_be_visible()

    phone.reload()
    expect(phone.locator(".claim-offer")).to_contain_text("¥10.00")
    phone.locator(f"#claim-{claim_id} button[name=answer][value=accept]").click()
    celery_worker.wait_for(lambda: db.session.scalar(select(JournalEntry.id).where(
        JournalEntry.rule == CLAIM, JournalEntry.order_id == order_id)))
    phone.reload()
    expect(phone.locator(f"#claim-{claim_id} .claim-refund")).to_contain_text("¥10.00")
    expect(phone.locator(".receipt-refunded")).to_contain_text("¥10.00")
    expect(phone.locator(".totals")).to_contain_text("¥10.00")
    with app.app_context():
        assert settle_due(now=past_window) == 1, "once the claim's refund is back with the buyer, the parcel settles"
        order = db.session.get(Order, order_id)
        assert (order.refunded_fen, order.status) == (1_000, "completed")
        assert unit_price > 1_000
        report = verify_ledger()
        assert report.ok, report.failures
        db.session.remove()
    phone.reload()
    expect(phone.locator(".order-status")).to_contain_text("已完成")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    phone.screenshot(path=str(ARTIFACTS / "after-sales-claim-refunded.png"), full_page=True)
    for page in (phone, seller):
        page.context.close()


def fulfilment_users(seller_id):
    """The managers of the cooperative that sells as `seller_id`."""
    from marketplace.catalog.models import Seller
    return select(User.id).where(User.cooperative_id == select(Seller.cooperative_id).where(
        Seller.id == seller_id).scalar_subquery())


def test_town_staff_decide_an_escalated_claim_and_split_its_cost_on_a_phone(
        app, district, live_server, stripe_server, celery_worker, browser):
    from marketplace.aftersales import services as claims
    from marketplace.coops.models import Cooperative
    from marketplace.catalog.models import Seller
    with app.app_context():
        buyer = user_id("buyer@demo.cn")
        buyer_cart = cart.open_cart(user_id=buyer)
        cart.add_item(buyer_cart.id, db.session.scalar(select(Variant.id).filter_by(sku="PEAR-5J")), 1)
        order = place_order(buyer_cart.id, buyer, DELIVERY)
        order_id, public_no = order.id, order.public_no
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
        line_id = db.session.get(Order, order_id).lines[0].id
        claim = claims.open_claim(public_no, line_id, buyer, "spoiled", 1, "refund", note="冷链断了，梨烂了")
        claim_id = claim.id
        claims.escalate_overdue(now=utcnow() + timedelta(hours=app.config["CLAIM_RESPONSE_HOURS"] + 1))
        town_id = db.session.get(Cooperative, db.session.get(Seller, shipment.seller_id).cooperative_id).town_id
        staff_email = db.session.scalar(select(User.email).where(User.role == "town_staff", User.town_id == town_id))
        db.session.remove()

    staff = signed_in(browser, live_server, staff_email)
    staff.goto(f"{live_server}/town/claims")
    card = staff.locator(f"#claim-{claim_id}")
    card.locator("input[name=refund]").fill("20")
    card.locator("input[name=seller_percent]").fill("0")
    card.locator("input[name=carrier_percent]").fill("70")
    card.locator("input[name=platform_percent]").fill("30")
    card.locator("textarea[name=reason]").fill("冷链车故障，快递公司承担大部分，平台承担其余。")
    assert staff.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    staff.screenshot(path=str(ARTIFACTS / "after-sales-town-decision.png"), full_page=True)
    card.locator("button[type=submit]").click()
    expect(staff.locator(f"#claim-{claim_id} .status-claim-resolved")).to_be_visible()
    celery_worker.wait_for(lambda: db.session.scalar(select(JournalEntry.id).where(
        JournalEntry.rule == CLAIM, JournalEntry.order_id == order_id)))
    with app.app_context():
        from marketplace.ledger.services import account_id, balance_fen
        assert balance_fen(account_id("claims_receivable")) == 1_400   # the carrier's 70 % of ¥20
        assert balance_fen(account_id("refund_losses")) == 600          # the platform's 30 %
        report = verify_ledger()
        assert report.ok, report.failures
        db.session.remove()
    staff.reload()
    expect(staff.locator(".claim-metrics")).to_contain_text("¥14.00")
    staff.screenshot(path=str(ARTIFACTS / "after-sales-town-decided.png"), full_page=True)
    staff.context.close()
