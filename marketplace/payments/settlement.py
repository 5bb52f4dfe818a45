"""Bringing an order in line with its PaymentIntent as Stripe reports it now.

Stripe delivers webhooks more than once, late and out of order, so nothing here trusts an
event's payload: each call re-reads the PaymentIntent and acts on its current status. The event
id is recorded in the same transaction as the effect (a replay finds it and does nothing), and
the order moves to `paid` with a conditional UPDATE, so attribution is published exactly once.
"""
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent
from marketplace.orders.reservations import convert_reservations, release_order
from marketplace.outbox.services import publish
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, Refund, StripeEvent

log = logging.getLogger(__name__)
FAILED = "payment_intent.payment_failed"


@dataclass
class IntentFacts:
    """What Stripe says of a PaymentIntent now, with its charge's settlement where there is one."""

    status: str
    amount_fen: int
    charge_id: str | None = None
    balance_transaction_id: str | None = None
    fee_fen: int = 0
    settlement_currency: str | None = None
    settlement_amount: int | None = None


def _fee_in_fen(transaction):
    """Stripe's fee is in the settlement currency; bring it back to fen with the charge's rate."""
    if transaction.currency == "cny" or not getattr(transaction, "exchange_rate", None):
        return int(transaction.fee)
    rate = Decimal(str(transaction.exchange_rate))
    return int((Decimal(transaction.fee) / rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def read_intent(payment_intent_id):
    intent = stripe_gateway.retrieve_payment_intent_with_charge(payment_intent_id)
    facts = IntentFacts(status=intent.status, amount_fen=int(intent.amount))
    charge = getattr(intent, "latest_charge", None)
    if intent.status == "succeeded" and charge:
        transaction = charge.balance_transaction
        if isinstance(transaction, str):
            transaction = stripe_gateway.retrieve_balance_transaction(transaction)
        facts.charge_id = charge.id
        if transaction:
            facts.balance_transaction_id = transaction.id
            facts.fee_fen = _fee_in_fen(transaction)
            facts.settlement_currency = transaction.currency
            facts.settlement_amount = int(transaction.amount)
    return facts


def _record_event(event_id, event_type, object_id):
    """True the first time this event id is seen; the row commits with the event's effect."""
    if db.session.get(StripeEvent, event_id) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(StripeEvent(id=event_id, type=event_type, object_id=object_id))
    except IntegrityError:
        return False
    return True


def _mark_paid(payment, facts):
    payment.status = facts.status
    payment.stripe_charge_id = facts.charge_id
    payment.balance_transaction_id = facts.balance_transaction_id
    payment.fee_fen = facts.fee_fen
    payment.settlement_currency = facts.settlement_currency
    payment.settlement_amount = facts.settlement_amount
    payment.succeeded_at = payment.succeeded_at or utcnow()
    moved = db.session.execute(
        update(Order).where(Order.id == payment.order_id, Order.status == "pending_payment")
        .values(status="paid", paid_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    if moved:
        convert_reservations(payment.order_id)
        db.session.add(OrderEvent(order_id=payment.order_id, status="paid", note="paid"))
        publish("ledger.attribute_payment", payment_id=payment.id)
        return "paid"
    order = db.session.get(Order, payment.order_id)
    if order.status == "cancelled" and not db.session.scalar(select(Refund.id).where(Refund.payment_id == payment.id)):
        return "refund_late_payment"
    return "unchanged"


def settle_payment_intent(payment_intent_id, event_id=None, event_type="", note="payment_cancelled"):
    """Re-read the PaymentIntent and apply it: paid, released (failed or cancelled), or unchanged.

    `note` says why, on the order's timeline, if the order is released. With `event_id`, the
    event is recorded once in the same transaction; a replay returns
    "duplicate" and changes nothing. Returns what happened, for logs and tests.
    """
    facts = read_intent(payment_intent_id)  # before any row is touched: no transaction held over the network
    payment = db.session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == payment_intent_id))
    if payment is None:
        db.session.rollback()
        return "unknown"  # not ours, or not committed yet: Stripe retries, the expiry sweep re-reads
    if event_id and not _record_event(event_id, event_type, payment_intent_id):
        db.session.rollback()
        return "duplicate"
    if payment.amount_fen != facts.amount_fen:
        log.error("PaymentIntent %s is for %s fen, order wants %s", payment_intent_id, facts.amount_fen,
                  payment.amount_fen)
        db.session.commit()
        return "amount_mismatch"
    if facts.status == "succeeded":
        outcome = _mark_paid(payment, facts)
    elif facts.status == "canceled" or (event_type == FAILED and facts.status == "requires_payment_method"):
        payment.status = facts.status
        outcome = "released" if release_order(payment.order_id, note) else "unchanged"
    else:
        payment.status = facts.status
        outcome = "unchanged"
    payment_id, amount_fen = payment.id, payment.amount_fen
    db.session.commit()
    if outcome == "refund_late_payment":
        _refund_late_payment(payment_id, payment_intent_id, amount_fen)
    elif outcome == "released" and facts.status == "requires_payment_method":
        stripe_gateway.cancel_payment_intent(payment_intent_id)  # it can no longer be paid by mistake
    return outcome


def _refund_late_payment(payment_id, payment_intent_id, amount_fen):
    """A payment that went through after its order was cancelled goes straight back to the buyer."""
    payment = db.session.get(Payment, payment_id)
    refund = stripe_gateway.create_refund(payment_intent_id, amount_fen, f"late-payment:{payment_id}")
    db.session.add(Refund(order_id=payment.order_id, payment_id=payment_id, stripe_refund_id=refund.id,
                          amount_fen=amount_fen, status=refund.status, reason="paid after the order was cancelled"))
    db.session.add(OrderEvent(order_id=payment.order_id, status="cancelled", note="late_payment_refunded"))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # already recorded by a concurrent delivery


def cancel_and_settle(order_id, note, actor_id=None):
    """Cancel an unpaid order: its PaymentIntent (if any) at Stripe first, then settle from what
    Stripe says (a payment that went through makes the order paid instead). 1 if released."""
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
    if payment is None:
        released = release_order(order_id, note, actor_id=actor_id)
        db.session.commit()
        return int(released)
    intent_id = payment.stripe_payment_intent_id
    db.session.rollback()
    try:
        stripe_gateway.cancel_payment_intent(intent_id)
    except stripe_gateway.StripeError as error:
        log.info("PaymentIntent %s not cancelled (%s); settling from its state", intent_id, error)
    return int(settle_payment_intent(intent_id, note=note) == "released")
