"""The demo buyer's orders, one at each step of settlement, and a payout of settled income.

- the article's worked example: 100 斤 of Lili minor grains sold at 8元 over the 5元 floor, with
  a box of snow pears; delivered weeks ago and settled, so the household's 90元 profit return
  (30 % of 3元 × 100) is available and paid, with its funded floor money, in Lingzi's bank batch;
- 3 斤 of grains delivered two days ago: inside the after-sales window, still pending;
- a box of pears shipped three days ago: awaiting the buyer's 确认收货;
- 2 斤 of grains paid today: waiting to be packed;
- in the village (downlink): a cash order of cooking oil delivered to 北坪村's service point and
  waiting for pickup, and a bag of washing powder waiting for the next delivery run;
- a box of pears the buyer cancelled before it was packed, refunded in full (SXDEMO0007);
- ¥500 of love-fund education aid to a 北坪村 household: earnings its agent can spend;
- 2 boxes of pears delivered yesterday, one claimed as crushed (with a photo): waiting for the
  cooperative's answer, so that shipment does not settle;
- 10 斤 of grains delivered two days ago, 2 斤 claimed as short weight: the cooperative offered half,
  the buyer accepted, and the refund went back (recorded as if Stripe had reported it).

The payments are recorded as if Stripe had reported them (`pi_demo_…`); `make run` starts an
empty local Stripe, which therefore does not know them, and reconciliation does not match them.
"""
from datetime import timedelta

from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.database import utcnow
from marketplace.demo.organisations import seed_demo_organisation_orders
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment
from marketplace.orders.fulfilment import open_shipments
from marketplace.orders.models import Order, OrderEvent, OrderLine, Shipment
from marketplace.orders.settlement import settle_due
from marketplace.payments.models import Payment
from marketplace.payouts import services as payouts
from marketplace.people.models import User

# (public no, [(sku, quantity)], days since paid, the step its shipments reached)
ORDERS = [
    ("SXDEMO0001", [("GRAIN-1J", 100), ("PEAR-5J", 1)], 20, "settled"),
    ("SXDEMO0002", [("GRAIN-1J", 3)], 6, "delivered"),
    ("SXDEMO0003", [("PEAR-5J", 1)], 5, "shipped"),
    ("SXDEMO0004", [("GRAIN-1J", 2)], 0, "open"),
    ("SXDEMO0005", [("PEAR-5J", 2)], 4, "delivered"),
    ("SXDEMO0006", [("GRAIN-1J", 10)], 5, "delivered"),
]


def _user_id(email):
    return db.session.scalar(select(User.id).filter_by(email=email))


def seed_demo_orders():
    """Place, pay, attribute and move the demo orders, then pay Lingzi's settled income. Runs once."""
    if db.session.scalar(select(Order.id).filter_by(public_no=ORDERS[0][0])) is not None:
        return
    buyer = _user_id("buyer@demo.cn")
    for public_no, items, days, step in ORDERS:
        _paid_order(public_no, items, buyer, utcnow() - timedelta(days=days), step)
    settle_due()
    _pay_lingzi()
    _seed_village_orders()
    _seed_refunded_order(buyer)
    _seed_claims(buyer)
    seed_demo_organisation_orders()


def _paid_order(public_no, items, buyer_id, paid_at, step):
    order = Order(public_no=public_no, buyer_id=buyer_id, status="paid", recipient_name="王女士",
                  recipient_phone="13800000000", address="上海市徐汇区漕溪北路1号", created_at=paid_at, paid_at=paid_at)
    subtotal = 0
    for sku, quantity in items:
        variant = db.session.scalar(select(Variant).filter_by(sku=sku))
        product = variant.product
        subtotal += variant.price_fen * quantity
        order.lines.append(OrderLine(
            variant_id=variant.id, product_id=product.id, seller_id=product.seller_id, seller_kind=product.seller.kind,
            title_zh=f"{product.title_zh} · {variant.name_zh}", title_en=f"{product.title_en} · {variant.name_en}",
            unit=variant.unit, lot_units=variant.lot_units, unit_price_fen=variant.price_fen, quantity=quantity,
            line_total_fen=variant.price_fen * quantity))
    order.subtotal_fen = order.total_fen = subtotal
    db.session.add(order)
    open_shipments(order)
    db.session.add(OrderEvent(order_id=order.id, status="paid", note="paid", at=paid_at))
    payment = Payment(order_id=order.id, stripe_payment_intent_id=f"pi_demo_{public_no}", amount_fen=subtotal,
                      currency="cny", status="succeeded", succeeded_at=paid_at)
    db.session.add(payment)
    db.session.commit()
    attribute_payment(payment.id)
    _move(order, paid_at, step)


def _move(order, paid_at, step):
    """Bring the order's shipments to `step` as the seller, the carrier and the buyer would have."""
    steps = ("open", "packed", "shipped", "delivered", "settled")
    for shipment in db.session.scalars(select(Shipment).where(Shipment.order_id == order.id)):
        at = paid_at
        for reached in steps[1:steps.index(step) + 1]:
            if reached == "settled":
                break  # the settlement sweep settles what is due
            at += timedelta(days=1)
            shipment.status = reached
            setattr(shipment, f"{reached}_at", at)
            if reached == "shipped":
                shipment.carrier, shipment.tracking_no = "顺丰速运", f"SF{order.public_no[-4:]}{shipment.seller_id:04d}"
            if reached == "delivered":
                shipment.delivery_confirmed_by = "buyer"
            db.session.add(OrderEvent(order_id=order.id, shipment_id=shipment.id, status=reached, at=at,
                                      note="buyer" if reached == "delivered" else ""))
        order.status = {"open": "paid", "settled": "delivered"}.get(step, step)
    db.session.commit()


def _pay_lingzi():
    """Lingzi's staff pay the settled and funded income by bank transfer: drafted by one, approved by
    the other, each transfer recorded with the bank's reference."""
    maker, checker = _user_id("town@demo.cn"), _user_id("town2@demo.cn")
    batch = payouts.create_batch(maker, "bank", 10_000)
    payouts.approve_batch(checker, batch.id)
    for number, item in enumerate(list(batch.items), start=1):
        payouts.mark_item_paid(maker, item.id, f"农商银行代发 LZ-{number:04d}")


def _seed_village_orders():
    """The agent's daily-goods orders for two households of 北坪村: one consolidated into a run that
    the supplier dispatched and the service point received, one still waiting for a run."""
    from marketplace.downlink import ordering, runs

    agent, supplier_user = _user_id("agent@demo.cn"), _user_id("supplier@demo.cn")
    supplier_id = db.session.scalar(select(User.supplier_id).where(User.id == supplier_user))
    oil = db.session.scalar(select(Variant.id).filter_by(sku="OIL-5L"))
    soap = db.session.scalar(select(Variant.id).filter_by(sku="SOAP-2KG"))
    households = [household.id for household, _available in ordering.point_households(agent)]
    _grant_education_aid(households[2 % len(households)])
    ordering.place_order(agent, supplier_id, {oil: 1}, "cash", household_id=households[0])
    (run,) = runs.consolidate_for_supplier(supplier_user)
    run_id = run.id
    runs.dispatch_run(supplier_user, run_id)
    runs.receive_run(agent, run_id)
    ordering.place_order(agent, supplier_id, {soap: 1}, "cash", household_id=households[1 % len(households)])


def _seed_refunded_order(buyer_id):
    """A paid order the buyer cancelled before packing, refunded in full and reversed in the ledger.

    The refund is recorded as if Stripe had reported it (`re_demo_…`): the local Stripe of
    `make run` does not know the demo's payments, so nothing is sent to it."""
    from flask import current_app

    from marketplace.ledger.rules.refunds import attribute_refund
    from marketplace.outbox.models import OutboxMessage
    from marketplace.payments.refunds import refund_lines_uncommitted

    _paid_order("SXDEMO0007", [("PEAR-5J", 1)], buyer_id, utcnow() - timedelta(days=3), "open")
    order = db.session.scalar(select(Order).filter_by(public_no="SXDEMO0007"))
    dispatch = current_app.config.get("OUTBOX_DISPATCH", True)
    current_app.config["OUTBOX_DISPATCH"] = False
    try:
        refund = refund_lines_uncommitted(order.id, {line.id: line.quantity for line in order.lines}, buyer_id,
                                          restock=True, reason="cancelled by the buyer before packing",
                                          allowed_statuses=("paid",))
        order.status = "cancelled"
        refund.status, refund.stripe_refund_id = "succeeded", f"re_demo_{order.public_no}"
        db.session.add(OrderEvent(order_id=order.id, status="cancelled", note="cancelled_by_buyer", actor_id=buyer_id))
        db.session.add(OrderEvent(order_id=order.id, status="cancelled", note="refunded"))
        for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.processed_at.is_(None),
                                                                      OutboxMessage.task_name == "payments.send_refund")):
            message.processed_at = utcnow()
        db.session.commit()
    finally:
        current_app.config["OUTBOX_DISPATCH"] = dispatch
    attribute_refund(refund.id)


def _grant_education_aid(household_id):
    """Xihe's love fund, filled at a charity market (义集), grants a 北坪村 household ¥500 of education
    aid (proposed by one staff member, approved by the other): earnings its agent can spend on
    daily goods (花收益) or have paid out."""
    from marketplace.funds import services as funds

    maker, checker = _user_id("xihe-town@demo.cn"), _user_id("xihe-town2@demo.cn")
    funds.record_donation(maker, "charity_market", 2_000_00, "西河镇义集（演示）")
    grant = funds.propose_grant(maker, household_id, "education", 500_00, "孩子上初中的学杂费（演示）")
    funds.approve_grant(checker, grant.id)


def _manager_of(order_line):
    from marketplace.catalog.models import Seller
    cooperative_id = db.session.get(Seller, order_line.seller_id).cooperative_id
    return db.session.scalar(select(User.id).filter_by(role="coop_manager", cooperative_id=cooperative_id))


def _claim_photo():
    """A stand-in for a phone photo of crushed pears: a real JPEG, through the same photo pipeline."""
    from io import BytesIO

    from PIL import Image, ImageDraw
    picture = Image.new("RGB", (640, 480), (236, 226, 180))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((180, 120, 460, 400), fill=(214, 196, 96), outline=(120, 90, 30), width=6)
    draw.polygon([(300, 200), (360, 260), (320, 330), (270, 270)], fill=(140, 100, 40))
    data = BytesIO()
    picture.save(data, "JPEG")
    return data.getvalue()


def _seed_claims(buyer_id):
    """An open claim (SXDEMO0005) and a resolved one (SXDEMO0006), each made through the claim services."""
    from types import SimpleNamespace

    from marketplace.aftersales import services as claims
    from marketplace.ledger.attribution import attribute_refund
    from marketplace.outbox.models import OutboxMessage
    from marketplace.payments.refunds import apply_stripe_refund

    pears = db.session.scalar(select(Order).filter_by(public_no="SXDEMO0005")).lines[0]
    claims.open_claim("SXDEMO0005", pears.id, buyer_id, "damaged", 1, "refund",
                      note="一箱被压坏了，好几个梨都裂开了。", photos=[_claim_photo()])
    grains = db.session.scalar(select(Order).filter_by(public_no="SXDEMO0006")).lines[0]
    claim = claims.open_claim("SXDEMO0006", grains.id, buyer_id, "short_weight", 2, "refund",
                              note="称了一下，少了差不多两斤。")
    claims.respond(claim.id, _manager_of(grains), "offer", offer_fen=grains.unit_price_fen)
    claims.answer_offer("SXDEMO0006", claim.id, buyer_id, accept=True)
    # As if Stripe had refunded it: the demo's payments are not known to the local Stripe either.
    db.session.execute(OutboxMessage.__table__.update()
                       .where(OutboxMessage.task_name == "payments.send_refund", OutboxMessage.processed_at.is_(None))
                       .values(processed_at=utcnow()))
    db.session.commit()
    apply_stripe_refund(SimpleNamespace(id="re_demo_SXDEMO0006", status="succeeded", metadata={}),
                        refund_id=claim.refund_id)
    attribute_refund(claim.refund_id)
