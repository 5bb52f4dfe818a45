"""Checkout: turn a cart into an order with its stock reserved, then start its Stripe payment.

Every amount is computed here from the database; nothing a form sends is trusted as a price.
Stock is taken with one conditional UPDATE per line (`stock_available >= n`), lines in
primary-key order so concurrent checkouts never deadlock; no row back means sold out and the
whole order is rolled back.
"""
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketplace.catalog.models import Variant
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.orders.addresses import region_address
from marketplace.orders.cart import cart_lines, item_name, sellable_variant
from marketplace.orders.errors import AlreadyPaid, EmptyCart, SoldOut
from marketplace.orders.fulfilment import open_shipments
from marketplace.orders.models import CartItem, Order, OrderEvent, OrderLine, StockReservation
from marketplace.orders.pickup import new_pickup_code
from marketplace.orders.store_credit import hold_store_credit, store_credit_of_order
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment
from marketplace.places.models import ServicePoint, Village

SHIPPING_FEN = 1000
FREE_SHIPPING_FROM_FEN = 9900
ROUND_UP_STEP_FEN = 1000
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")


@dataclass
class Delivery:
    """Where the goods go: a postal address, or a pickup point (service point)."""

    kind: str
    recipient_name: str
    recipient_phone: str
    address: str = ""
    service_point_id: int | None = None
    # The three GB/T 2260 picks and the detail line; None (not "") for a caller that sends only
    # free text (the API, harvest pre-orders), whose address is kept as typed.
    province_code: str | None = None
    city_code: str | None = None
    region_code: str | None = None
    address_detail: str = ""

    @property
    def by_region(self):
        return self.region_code is not None


@dataclass
class Quote:
    subtotal_fen: int
    shipping_fen: int
    round_up_fen: int

    @property
    def total_fen(self):
        return self.subtotal_fen + self.shipping_fen


def shipping_fen(subtotal_fen, delivery_kind):
    """Pickup is free; delivery to an address is free from ¥99, else ¥10."""
    if delivery_kind == "pickup" or subtotal_fen >= FREE_SHIPPING_FROM_FEN:
        return 0
    return SHIPPING_FEN


def round_up_fen(amount_fen):
    """What rounds `amount_fen` up to the next whole ¥10 (0 when it already is one)."""
    return -amount_fen % ROUND_UP_STEP_FEN


def quote(cart_id, delivery_kind="address"):
    subtotal = sum(line.line_total_fen for line in cart_lines(cart_id))
    shipping = shipping_fen(subtotal, delivery_kind)
    return Quote(subtotal_fen=subtotal, shipping_fen=shipping, round_up_fen=round_up_fen(subtotal + shipping))


def _check_delivery(delivery):
    if delivery.kind not in ("address", "pickup"):
        raise DomainError(_("Choose delivery to an address or pickup."), field="delivery_kind")
    if not 1 <= len(delivery.recipient_name.strip()) <= 80:
        raise DomainError(_("Enter the recipient's name."), field="recipient_name")
    if not PHONE_PATTERN.match(delivery.recipient_phone.strip()):
        raise DomainError(_("Enter a phone number we can call."), field="recipient_phone")
    if delivery.kind == "address" and delivery.by_region:
        return region_address(delivery.province_code, delivery.city_code, delivery.region_code,
                              delivery.address_detail)
    if delivery.kind == "address" and not 5 <= len(delivery.address.strip()) <= 300:
        raise DomainError(_("Enter the full delivery address."), field="address")
    if delivery.kind == "pickup" and (delivery.service_point_id is None
                                      or db.session.get(ServicePoint, delivery.service_point_id) is None):
        raise DomainError(_("Choose a pickup point."), field="service_point_id")


def _donation_town_id(lines):
    """The love fund of the town the largest line comes from."""
    largest = max(lines, key=lambda line: (line.line_total_fen, -line.variant.id))
    village_id = largest.variant.product.origin_village_id
    return db.session.scalar(select(Village.town_id).where(Village.id == village_id)) if village_id else None


def _reserve(variant, quantity):
    """Take `quantity` from the variant's stock in one conditional statement; SoldOut if short."""
    taken = db.session.execute(
        update(Variant)
        .where(Variant.id == variant.id, Variant.is_active.is_(True), Variant.stock_available >= quantity)
        .values(stock_available=Variant.stock_available - quantity)
        .returning(Variant.id)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        raise SoldOut(_("Sorry, %(item)s is sold out or has fewer left than you asked for. Nothing was charged.",
                        item=item_name(variant)))


def new_public_no():
    return f"SX{utcnow():%y%m%d}{secrets.token_hex(4).upper()}"


def place_order(cart_id, buyer_id, delivery, donation_fen=0, hold_minutes=None, before_commit=None, guest_phone=None,
                use_store_credit=False):
    """Turn the cart into an order awaiting payment, reserving its stock until RESERVATION_MINUTES pass.

    The amounts come from the variants' current prices; `donation_fen` (the optional round-up
    to the town's love fund) must be what `quote` offers, or zero. An order paid by company
    transfer holds its stock for `hold_minutes` instead; `before_commit(order)` records, in the
    same transaction, what placed it (an organisation's approval). A guest's order has no
    buyer but the mobile number the guest proved with a one-time code (`guest_phone`).
    With `use_store_credit`, the buyer's store credit pays what it can (marketplace/orders/store_credit.py):
    all of it, and the order is paid on return; or part, and Stripe is asked only for the rest.
    """
    if (buyer_id is None) == (guest_phone is None):
        raise Forbidden(_("Sign in or confirm your mobile number to place an order."))
    if use_store_credit and buyer_id is None:
        raise DomainError(_("Sign in to use your store credit."), field="use_store_credit")
    lines = cart_lines(cart_id)
    if not lines:
        raise EmptyCart(_("Your cart is empty."))
    region = _check_delivery(delivery)
    for line in lines:
        sellable_variant(line.variant.id)
    subtotal = sum(line.line_total_fen for line in lines)
    shipping = shipping_fen(subtotal, delivery.kind)
    if donation_fen not in (0, round_up_fen(subtotal + shipping)):
        raise DomainError(_("The round-up amount is not valid; please review your order."), field="round_up")
    now = utcnow()
    expires = now + timedelta(minutes=hold_minutes or current_app.config["RESERVATION_MINUTES"])
    order = Order(
        public_no=new_public_no(), buyer_id=buyer_id, guest_phone=guest_phone, direction="uplink", status="pending_payment",
        delivery_kind=delivery.kind, recipient_name=delivery.recipient_name.strip(),
        recipient_phone=delivery.recipient_phone.strip(),
        address=(region.full if region else delivery.address.strip()) if delivery.kind == "address" else "",
        region_code=region.region_code if region else None, region_name=region.region_name if region else "",
        address_detail=region.detail if region else "",
        service_point_id=delivery.service_point_id if delivery.kind == "pickup" else None,
        # The buyer shows this code at the service point; the agent checks it to hand the parcels over.
        pickup_code=new_pickup_code() if delivery.kind == "pickup" else None,
        donation_town_id=_donation_town_id(lines) if donation_fen else None,
        subtotal_fen=subtotal, shipping_fen=shipping, donation_fen=donation_fen,
        total_fen=subtotal + shipping + donation_fen, reservation_expires_at=expires, placed_by_id=buyer_id,
    )
    db.session.add(order)
    try:
        for line in lines:  # cart_lines are in variant (primary key) order
            _reserve(line.variant, line.quantity)
    except SoldOut:
        db.session.rollback()
        raise
    db.session.flush()
    for line in lines:
        variant, product = line.variant, line.variant.product
        db.session.add(OrderLine(
            order_id=order.id, variant_id=variant.id, product_id=product.id, seller_id=product.seller_id,
            seller_kind=product.seller.kind, title_zh=f"{product.title_zh} · {variant.name_zh}",
            title_en=f"{product.title('en')} · {variant.name('en')}", unit=variant.unit, lot_units=variant.lot_units,
            unit_price_fen=variant.price_fen, quantity=line.quantity, line_total_fen=line.line_total_fen))
        db.session.add(StockReservation(order_id=order.id, variant_id=variant.id, quantity=line.quantity,
                                        expires_at=expires))
    open_shipments(order)
    db.session.add(OrderEvent(order_id=order.id, status="pending_payment", note="placed", actor_id=buyer_id))
    db.session.execute(CartItem.__table__.delete().where(CartItem.cart_id == cart_id))
    if before_commit is not None:
        before_commit(order)
    if use_store_credit:
        db.session.flush()
        hold_store_credit(order)
    db.session.commit()
    return order


def order_for_buyer(public_no, buyer_id):
    """The buyer's own order, or NotFound (another buyer's order does not exist for them)."""
    order = db.session.scalar(select(Order).where(Order.public_no == public_no))
    if order is None or order.buyer_id != buyer_id:
        raise NotFound(_("No such order."))
    return order


def order_for_visitor(public_no, buyer_id=None, guest_phone=None, guest_order_nos=()):
    """The order if this visitor may see it, else NotFound: the buyer's own order, or a guest
    order (no account) whose number the visitor proved by code or whose signed link they opened."""
    order = db.session.scalar(select(Order).where(Order.public_no == public_no))
    if order is not None:
        if buyer_id is not None and order.buyer_id == buyer_id:
            return order
        if order.buyer_id is None and order.guest_phone and (
                order.guest_phone == guest_phone or order.public_no in guest_order_nos):
            return order
    raise NotFound(_("No such order."))


def guest_orders(guest_phone, limit=100):
    """A guest's orders (not yet claimed by an account), newest first."""
    return db.session.scalars(select(Order).where(Order.guest_phone == guest_phone, Order.buyer_id.is_(None))
                              .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)).all()


def _payable(order):
    if order.status != "pending_payment":
        if order.status == "cancelled":
            raise Conflict(_("This order was cancelled, so it cannot be paid. Nothing was charged."))
        raise AlreadyPaid(_("This order is already paid. You were not charged again."))
    if order.reservation_expires_at and order.reservation_expires_at < utcnow():
        raise Conflict(_("The time to pay for this order has run out and its goods were released."))


def start_payment(order_id, payment_method=None, customer=None):
    """The order's one PaymentIntent (created on first call) for what the buyer still owes in fen:
    the total less the store credit applied to it. A subscription's renewal gives its saved card's
    `customer`, so the card can be charged off session."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(_("No such order."))
    _payable(order)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
    if payment is not None:
        return payment, stripe_gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
    amount_fen, order_no = order.total_fen - store_credit_of_order(order.id), order.public_no
    db.session.rollback()  # no database transaction held open across the call to Stripe
    intent = stripe_gateway.create_payment_intent(
        amount_fen, f"order:{order_id}:payment", {"order_id": str(order_id), "order_no": order_no},
        payment_method=payment_method, customer=customer)
    payment = Payment(order_id=order_id, stripe_payment_intent_id=intent.id, amount_fen=amount_fen,
                      currency="cny", status=intent.status)
    db.session.add(payment)
    try:
        db.session.commit()
    except IntegrityError:
        # A second request created its own PaymentIntent at the same moment: keep the first.
        db.session.rollback()
        stripe_gateway.cancel_payment_intent(intent.id)
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
        return payment, stripe_gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
    return payment, intent


def pay_with_test_card(order_id):
    """Local Stripe server only: pay the order with the test card, confirmed on the server.

    The order then becomes paid through `settle_payment_intent`, the same path as the webhook.
    """
    from marketplace.payments.settlement import settle_payment_intent

    if not stripe_gateway.uses_local_server():
        raise Forbidden(_("The test card works only with the local test payment server."))
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(_("No such order."))
    _payable(order)
    method = stripe_gateway.create_test_card_payment_method()
    payment, intent = start_payment(order_id, payment_method=method.id)  # the API may have made it already
    intent_id = payment.stripe_payment_intent_id
    db.session.rollback()
    confirm_with_test_card(intent, method)
    settle_payment_intent(intent_id)
    return db.session.get(Order, order_id)


@dataclass
class WalletStep:
    """What the buyer does next for a WeChat Pay or Alipay payment, from Stripe's `next_action`."""

    method: str
    qr_data: str | None = None  # WeChat Pay: the string the QR encodes (a weixin:// link)
    redirect_url: str | None = None  # Alipay: the page to send the buyer to


def wallet_step(intent):
    """The pending wallet action of a PaymentIntent, or None (paid, failed, a card, nothing asked)."""
    action = getattr(intent, "next_action", None)
    if intent.status != "requires_action" or not action:
        return None
    if action.type == "wechat_pay_display_qr_code":
        return WalletStep("wechat_pay", qr_data=action.wechat_pay_display_qr_code.data)
    if action.type == "redirect_to_url":
        return WalletStep("alipay", redirect_url=action.redirect_to_url.url)
    return None


def start_wallet_payment(order_id, method, return_url):
    """Confirm the order's PaymentIntent with WeChat Pay or Alipay; the WalletStep to show.

    Asking again for the same method while its QR or page is still open reuses it (a reload does
    not make a new QR); another method replaces the attempt, as Stripe allows."""
    if method not in stripe_gateway.WALLETS or method not in stripe_gateway.enabled_payment_methods():
        raise DomainError(_("This payment method is not available. Choose another one."), field="method")
    payment, intent = start_payment(order_id)
    step = wallet_step(intent)
    if step is not None and step.method == method:
        return step
    intent_id = payment.stripe_payment_intent_id
    db.session.rollback()
    try:
        intent = stripe_gateway.confirm_wallet_payment(intent_id, method, return_url)
    except stripe_gateway.RequestRefused as error:
        raise DomainError(_("This payment method is not available. Choose another one."), field="method") from error
    db.session.execute(update(Payment).where(Payment.id == payment.id)
                       .values(payment_method_type=method, status=intent.status))
    db.session.commit()
    return wallet_step(intent)


def pending_wallet_step(order_id):
    """The open WeChat Pay QR or Alipay page of an unpaid order, read from Stripe; None if none.

    A wallet attempt that has ended (paid, declined, expired) is settled now from Stripe's state,
    so a reload of the pay page without JavaScript moves on as the webhook would."""
    from marketplace.payments.settlement import settle_payment_intent

    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    if payment is None or payment.payment_method_type not in stripe_gateway.WALLETS:
        return None
    intent_id = payment.stripe_payment_intent_id
    db.session.rollback()
    intent = stripe_gateway.retrieve_payment_intent(intent_id)
    step = wallet_step(intent)
    ended = intent.status in ("succeeded", "canceled") or (
        intent.status == "requires_payment_method" and getattr(intent, "last_payment_error", None))
    if step is None and ended:
        settle_payment_intent(intent_id)
    return step


def simulate_wallet_payment(order_id, outcome):
    """Local Stripe stand-in only: the buyer's phone scans and pays, declines, or lets it expire.

    Then the order is brought in line with Stripe, the same path as the webhook."""
    from marketplace.payments.settlement import settle_payment_intent

    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    intent_id = simulate_phone(payment, outcome, _("There is no WeChat Pay or Alipay payment waiting for this order."))
    settle_payment_intent(intent_id)
    return db.session.get(Order, order_id)


def simulate_phone(payment, outcome, nothing_waiting):
    """Local Stripe stand-in only: tell it what the buyer's phone did with `payment` (an order's or
    a pre-order's), no transaction held over the call. Returns the PaymentIntent's id, for the
    caller to bring its payment in line with Stripe."""
    if not stripe_gateway.uses_local_server():
        raise Forbidden(_("Simulated payments work only with the local test payment server."))
    if payment is None or outcome not in ("succeed", "fail", "expire"):
        raise Conflict(nothing_waiting)
    intent_id = payment.stripe_payment_intent_id
    db.session.rollback()
    try:
        stripe_gateway.simulate_wallet(intent_id, outcome)
    except OSError as error:  # the stand-in answers 400 when nothing awaits the phone
        raise Conflict(nothing_waiting) from error
    return intent_id


def confirm_with_test_card(intent, method):
    """Confirm `intent` with the local test card `method`; refused only if Stripe did not take it."""
    try:
        # The card is attached at confirmation unless the PaymentIntent was made with it (a buyer
        # who opened a WeChat Pay QR or the Alipay page first switches to the card here).
        stripe_gateway.confirm_payment_intent(intent.id,
                                              payment_method=None if intent.payment_method == method.id else method.id)
    except stripe_gateway.StripeError as error:
        # Another pay confirmed it first (two clicks, two tabs): Stripe's state decides.
        if stripe_gateway.retrieve_payment_intent(intent.id).status != "succeeded":
            raise Conflict(_("The test payment did not go through. Try again.")) from error
