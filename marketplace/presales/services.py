"""Opening a pre-sale, pre-ordering, and paying a pre-order's deposit or balance.

A pre-order's payments are PaymentIntents of their own (`PreSalePayment`, one per kind), made
on the same gateway as orders' and settled the same way: from Stripe's state re-read, by the
test-card button or the webhook (`settle_presale_intent`), exactly once (the entry's key).
"""
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.orders.checkout import confirm_with_test_card, simulate_phone, wallet_step
from marketplace.catalog.models import Variant
from marketplace.coops.scope import acting_user, managed_cooperative_id
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound, Yuan
from marketplace.extensions import db
from marketplace.ledger.rules.presales import post_presale_fee, post_presale_payment
from marketplace.payments import stripe_gateway
from marketplace.presales.models import (
    PreOrder, PreOrderMessage, PreSale, PreSalePayment, SHORT_POLICIES, UNPAID_POLICIES,
)

MAX_QUANTITY = 100_000
# Pre-orders that hold units of the expected harvest (a pending deposit holds them until cancelled).
HOLDING = ("pending_deposit", "committed", "balance_due", "filled")


def _whole(value, field, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DomainError(_("Enter a whole number from %(low)s to %(high)s."), field=field, low=low, high=high)
    return value


def open_presale(actor_id, variant_id, expected_quantity, unit_price_fen, deposit_per_unit_fen, orders_close_at,
                 ships_from, ships_until, short_policy="last_first", unpaid_policy="refund", balance_days=3,
                 now=None):
    """A cooperative manager opens a pre-sale of one of its variants; commits. Returns the PreSale.

    Refuses a deposit above the price, an order window that has ended, a shipping window before
    the orders close or ending before it starts, and terms it does not know.
    """
    cooperative_id = managed_cooperative_id(actor_id)
    now = now or utcnow()
    variant = db.session.get(Variant, variant_id) if variant_id is not None else None
    if variant is None or variant.product.seller.cooperative_id != cooperative_id or not variant.is_active:
        raise NotFound(_("No such variant in your cooperative."), field="variant_id")
    _whole(expected_quantity, "expected_quantity", 1, MAX_QUANTITY)
    _whole(unit_price_fen, "unit_price_fen", 1, 100_000_000)
    _whole(deposit_per_unit_fen, "deposit_per_unit_fen", 1, 100_000_000)
    _whole(balance_days, "balance_days", 1, 30)
    if deposit_per_unit_fen > unit_price_fen:
        raise DomainError(_("The deposit (%(deposit)s) cannot be above the price (%(price)s)."),
                          field="deposit_per_unit_fen", deposit=Yuan(deposit_per_unit_fen), price=Yuan(unit_price_fen))
    if not isinstance(orders_close_at, datetime) or orders_close_at <= now:
        raise DomainError(_("The order window must end in the future."), field="orders_close_at")
    if ships_from is None or ships_until is None or ships_until < ships_from:
        raise DomainError(_("The shipping window must end on or after its first day."), field="ships_until")
    if ships_from < orders_close_at.date():
        raise DomainError(_("Shipping cannot start before the orders close."), field="ships_from")
    if short_policy not in SHORT_POLICIES:
        raise DomainError(_("Choose what happens when the harvest falls short."), field="short_policy")
    if unpaid_policy not in UNPAID_POLICIES:
        raise DomainError(_("Choose what happens to a deposit whose balance is not paid."), field="unpaid_policy")
    presale = PreSale(
        variant_id=variant.id, cooperative_id=cooperative_id, expected_quantity=expected_quantity,
        unit_price_fen=unit_price_fen, deposit_per_unit_fen=deposit_per_unit_fen, orders_open_at=now,
        orders_close_at=orders_close_at, ships_from=ships_from, ships_until=ships_until, short_policy=short_policy,
        unpaid_policy=unpaid_policy, balance_days=balance_days, harvest_from=now, created_by_id=actor_id)
    db.session.add(presale)
    db.session.commit()
    return presale


def committed_quantity(presale_id):
    """Units buyers have committed to (a deposit paid or being paid, or filled)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(PreOrder.quantity), 0))
                                 .where(PreOrder.presale_id == presale_id, PreOrder.status.in_(HOLDING))))


def open_presale_of_variant(variant_id, now=None):
    """The variant's pre-sale taking orders now, or None."""
    now = now or utcnow()
    return db.session.scalar(select(PreSale).where(
        PreSale.variant_id == variant_id, PreSale.status == "open", PreSale.orders_open_at <= now,
        PreSale.orders_close_at > now).order_by(PreSale.id).limit(1))


def place_preorder(buyer_id, presale_id, quantity, recipient_name, recipient_phone, address="", now=None,
                   region=None, pickup_point_id=None):
    """A buyer commits to `quantity` units; commits. Returns the PreOrder, its deposit still to pay.

    `region` (orders.addresses.RegionPicks) is the address by region, checked against GB/T 2260
    as checkout's (a code that does not exist is refused, nothing made); without it `address` is
    free text (the API). `pickup_point_id`: picked up at that village service point instead. The pre-sale's row is locked while the units left are counted, so two
    buyers never both take the last of the expected harvest.
    """
    buyer = acting_user(buyer_id)
    if buyer.role != "buyer":
        raise Forbidden(_("Only a buyer's account can pre-order."))
    now = now or utcnow()
    presale = db.session.execute(select(PreSale).where(PreSale.id == presale_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one_or_none()
    if presale is None:
        raise NotFound(_("No such pre-sale."))
    if presale.status != "open" or not presale.orders_open_at <= now < presale.orders_close_at:
        raise Conflict(_("This pre-sale is not taking orders."))
    _whole(quantity, "quantity", 1, MAX_QUANTITY)
    point = pickup_point(pickup_point_id)
    checked = region.checked() if region is not None and point is None else None
    if checked is not None:
        address = checked.full
    recipient_name, recipient_phone, address = (str(v or "").strip() for v in (recipient_name, recipient_phone, address))
    if not recipient_name or not recipient_phone or not (address or point):
        raise DomainError(_("Enter the recipient, a phone number and the address."), field="address")
    if len(recipient_name) > 80 or len(recipient_phone) > 30 or len(address) > 300:
        raise DomainError(_("The recipient, phone or address is too long."), field="address")
    left = presale.expected_quantity - committed_quantity(presale.id)
    if quantity > left:
        raise Conflict(_("Only %(left)s units of the expected harvest are left."), field="quantity", left=max(left, 0))
    preorder = PreOrder(presale_id=presale.id, buyer_id=buyer.id, quantity=quantity,
                        unit_price_fen=presale.unit_price_fen, deposit_fen=presale.deposit_per_unit_fen * quantity,
                        recipient_name=recipient_name, recipient_phone=recipient_phone, address=address, ordered_at=now,
                        region_code=checked.region_code if checked else None,
                        region_name=checked.region_name if checked else "",
                        address_detail=checked.detail if checked else "",
                        delivery_kind="pickup" if point else "address", service_point_id=point.id if point else None)
    db.session.add(preorder)
    db.session.commit()
    return preorder


def pickup_point(service_point_id):
    """The village service point a pre-order or a subscription box is picked up at; None for delivery.
    One that does not exist is refused (as at checkout)."""
    from marketplace.places.models import ServicePoint

    if service_point_id is None:
        return None
    point = db.session.get(ServicePoint, service_point_id) if isinstance(service_point_id, int) else None
    if point is None:
        raise DomainError(_("Choose a pickup point."), field="service_point_id")
    return point


def preorder_for_buyer(preorder_id, buyer_id):
    """The buyer's own pre-order; another buyer's is answered as if it did not exist."""
    preorder = db.session.get(PreOrder, preorder_id) if preorder_id is not None else None
    if preorder is None or preorder.buyer_id != buyer_id:
        raise NotFound(_("No such pre-order."))
    return preorder


def buyer_preorders(buyer_id):
    return db.session.scalars(select(PreOrder).where(PreOrder.buyer_id == buyer_id)
                              .order_by(PreOrder.ordered_at.desc(), PreOrder.id.desc())).all()


def buyer_messages(buyer_id):
    return db.session.scalars(select(PreOrderMessage).where(PreOrderMessage.buyer_id == buyer_id)
                              .order_by(PreOrderMessage.at.desc(), PreOrderMessage.id.desc()).limit(50)).all()


def tell_buyer(preorder, kind, amount_fen=0):
    """Record a message to the buyer once per pre-order and kind (joins the caller's transaction)."""
    exists = db.session.scalar(select(PreOrderMessage.id).where(PreOrderMessage.preorder_id == preorder.id,
                                                                PreOrderMessage.kind == kind))
    if exists is None:
        db.session.add(PreOrderMessage(preorder_id=preorder.id, buyer_id=preorder.buyer_id, kind=kind,
                                       amount_fen=amount_fen))


def amount_due(preorder, kind):
    """What the deposit or the balance asks now; DomainError when nothing of that kind is due."""
    if kind == "deposit":
        if preorder.status != "pending_deposit":
            raise Conflict(_("The deposit of this pre-order is paid already."))
        return preorder.deposit_fen
    if kind == "balance":
        if preorder.status != "balance_due" or preorder.balance_fen <= 0:
            raise Conflict(_("No balance is due on this pre-order."))
        return preorder.balance_fen
    raise DomainError(_("No such payment."))


def payment_due(preorder):
    """The payment the pre-order waits for now: "deposit", "balance", or None."""
    if preorder.status == "pending_deposit":
        return "deposit"
    if preorder.status == "balance_due" and preorder.balance_fen > 0:
        return "balance"
    return None


def start_presale_payment(preorder_id, kind, payment_method=None):
    """The pre-order's PaymentIntent for its deposit or balance (created on first call)."""
    preorder = db.session.get(PreOrder, preorder_id)
    if preorder is None:
        raise NotFound(_("No such pre-order."))
    existing = db.session.scalar(select(PreSalePayment).where(PreSalePayment.preorder_id == preorder.id,
                                                              PreSalePayment.kind == kind))
    if existing is not None:
        if existing.status == "succeeded":
            raise Conflict(_("This payment has been made already."))
        return existing, stripe_gateway.retrieve_payment_intent(existing.stripe_payment_intent_id)
    amount_fen = amount_due(preorder, kind)
    db.session.rollback()  # no transaction held open across the call to Stripe
    intent = stripe_gateway.create_payment_intent(
        amount_fen, f"preorder:{preorder_id}:{kind}", {"preorder_id": str(preorder_id), "kind": kind},
        payment_method=payment_method)
    payment = PreSalePayment(preorder_id=preorder_id, kind=kind, stripe_payment_intent_id=intent.id,
                             amount_fen=amount_fen, status=intent.status)
    db.session.add(payment)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        stripe_gateway.cancel_payment_intent(intent.id)
        payment = db.session.scalar(select(PreSalePayment).where(PreSalePayment.preorder_id == preorder_id,
                                                                 PreSalePayment.kind == kind))
        return payment, stripe_gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
    return payment, intent


def pay_presale_with_test_card(buyer_id, preorder_id, kind):
    """Local Stripe server only: pay a deposit or balance with the test card, settled like a webhook would."""
    if not stripe_gateway.uses_local_server():
        raise Forbidden(_("The test card works only with the local test payment server."))
    preorder = preorder_for_buyer(preorder_id, buyer_id)
    amount_due(preorder, kind)  # refuse a second payment before Stripe is asked
    method = stripe_gateway.create_test_card_payment_method()
    payment, intent = start_presale_payment(preorder_id, kind, payment_method=method.id)
    intent_id = payment.stripe_payment_intent_id
    db.session.rollback()
    confirm_with_test_card(intent, method)
    settle_presale_intent(intent_id)
    return db.session.get(PreOrder, preorder_id)


def is_presale_intent(intent_id):
    found = db.session.scalar(select(PreSalePayment.id).where(PreSalePayment.stripe_payment_intent_id == intent_id))
    return found is not None


def settle_presale_intent(intent_id, event_id=None, event_type=None):
    """Bring a pre-order in line with its PaymentIntent as Stripe reports it now; commits.

    A succeeded deposit commits the pre-order (its units count as committed demand); a succeeded
    balance fills it (`harvest.fill_preorder`). The money is held (`presale:pay:{payment}`)
    exactly once however often this runs. Returns "paid", "waiting" or "duplicate".
    """
    from marketplace.payments.events import record_event
    from marketplace.payments.settlement import read_intent
    from marketplace.presales.harvest import fill_preorder

    facts = read_intent(intent_id)  # with the charge's balance transaction: the method and Stripe's fee
    payment = db.session.execute(select(PreSalePayment).where(PreSalePayment.stripe_payment_intent_id == intent_id)
                                 .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
    if payment is None:
        db.session.rollback()
        return "unknown"
    if event_id is not None and not record_event(event_id, event_type or "", intent_id):
        db.session.rollback()
        return "duplicate"
    preorder = db.session.execute(select(PreOrder).where(PreOrder.id == payment.preorder_id).with_for_update()
                                  .execution_options(populate_existing=True)).scalar_one()
    if facts.status != "succeeded" or facts.amount_fen != payment.amount_fen:
        payment.status = facts.status
        db.session.commit()
        return "waiting"
    first = payment.succeeded_at is None
    payment.status, payment.succeeded_at = "succeeded", payment.succeeded_at or utcnow()
    payment.payment_method_type = facts.method or payment.payment_method_type
    payment.stripe_charge_id = facts.charge_id or payment.stripe_charge_id
    payment.balance_transaction_id = facts.balance_transaction_id or payment.balance_transaction_id
    payment.fee_fen = facts.fee_fen or payment.fee_fen or 0
    post_presale_payment(payment, preorder)
    post_presale_fee(payment, preorder)
    if first and payment.kind == "deposit" and preorder.status == "pending_deposit":
        preorder.status = "committed"
        tell_buyer(preorder, "deposit_paid", payment.amount_fen)
    db.session.commit()
    if payment.kind == "balance" or (payment.kind == "deposit" and preorder.status == "balance_due"
                                     and preorder.balance_fen == 0):
        fill_preorder(preorder.id)
    return "paid"


def start_presale_wallet(buyer_id, preorder_id, method, return_url):
    """Confirm the deposit's or balance's PaymentIntent with WeChat Pay or Alipay; the WalletStep
    (a QR to show, or the Alipay page). As for an order (`checkout.start_wallet_payment`): the
    same method asked again while its QR or page is open reuses it; another replaces it."""
    if method not in stripe_gateway.WALLETS or method not in stripe_gateway.enabled_payment_methods():
        raise DomainError(_("This payment method is not available. Choose another one."), field="method")
    preorder = preorder_for_buyer(preorder_id, buyer_id)
    kind = payment_due(preorder)
    if kind is None:
        raise Conflict(_("Nothing is due on this pre-order now."))
    payment, intent = start_presale_payment(preorder_id, kind)
    step = wallet_step(intent)
    if step is not None and step.method == method:
        return step
    payment_id, intent_id = payment.id, payment.stripe_payment_intent_id
    db.session.rollback()
    try:
        intent = stripe_gateway.confirm_wallet_payment(intent_id, method, return_url)
    except stripe_gateway.RequestRefused as error:
        raise DomainError(_("This payment method is not available. Choose another one."), field="method") from error
    payment = db.session.get(PreSalePayment, payment_id)
    payment.payment_method_type, payment.status = method, intent.status
    db.session.commit()
    return wallet_step(intent)


def _open_payment(preorder):
    kind = payment_due(preorder)
    return next((p for p in preorder.payments if p.kind == kind), None) if kind else None


def pending_presale_wallet_step(buyer_id, preorder_id):
    """The open WeChat Pay QR or Alipay page of what the pre-order owes now, read from Stripe; None
    if none. A wallet attempt that ended (paid) is settled now, so a reload moves on as the webhook would."""
    payment = _open_payment(preorder_for_buyer(preorder_id, buyer_id))
    if payment is None or payment.payment_method_type not in stripe_gateway.WALLETS:
        return None
    intent_id = payment.stripe_payment_intent_id
    db.session.rollback()
    intent = stripe_gateway.retrieve_payment_intent(intent_id)
    step = wallet_step(intent)
    if step is None and intent.status == "succeeded":
        settle_presale_intent(intent_id)
    return step


def simulate_presale_wallet(buyer_id, preorder_id, outcome):
    """Local Stripe stand-in only: the buyer's phone scans and pays, declines, or lets the QR expire;
    then the pre-order is brought in line with Stripe, the webhook's path."""
    payment = _open_payment(preorder_for_buyer(preorder_id, buyer_id))
    intent_id = simulate_phone(payment, outcome,
                               _("There is no WeChat Pay or Alipay payment waiting for this pre-order."))
    settle_presale_intent(intent_id)
    return db.session.get(PreOrder, preorder_id)


def presale_payment_due_at(preorder, now):
    return now + timedelta(days=preorder.presale.balance_days)
