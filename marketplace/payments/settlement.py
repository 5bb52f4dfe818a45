"""Bringing an order in line with its PaymentIntent as Stripe reports it now.

Stripe delivers webhooks more than once, late and out of order, so nothing here trusts an
event's payload: each call re-reads the PaymentIntent and acts on its current status. The event
id is recorded in the same transaction as the effect (a replay finds it and does nothing), and
the order moves to `paid` with a conditional UPDATE, so attribution is published exactly once.

The payment row is locked before the order is touched, the order in which attribution and
refunds take them (see payments/refunds.py). A fee Stripe reports only after the payment was
attributed (on `charge.updated`, or a replayed event) is published once as a late fee
(`ledger.post_late_fee`, entry `fee:{payment}:late`).
"""
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update

from marketplace.database import lock_for_update, utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent
from marketplace.orders.reservations import convert_reservations, release_order
from marketplace.outbox.services import publish
from marketplace.payments import stripe_gateway
from marketplace.payments.events import record_event
from marketplace.payments.models import Payment, Refund
from marketplace.payments.refunds import refund_late_payment_uncommitted

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
    method: str | None = None  # the payment method type that paid (card, wechat_pay, alipay)
    attempt_failed: bool = False  # an attempt failed or expired (declined card, QR not scanned in time)


def _fee_in_fen(transaction):
    """Stripe's fee is in the settlement currency; bring it back to fen with the charge's rate."""
    if transaction.currency == "cny" or not getattr(transaction, "exchange_rate", None):
        return int(transaction.fee)
    rate = Decimal(str(transaction.exchange_rate))
    return int((Decimal(transaction.fee) / rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def read_intent(payment_intent_id):
    intent = stripe_gateway.retrieve_payment_intent_with_charge(payment_intent_id)
    facts = IntentFacts(status=intent.status, amount_fen=int(intent.amount),
                        attempt_failed=intent.status == "requires_payment_method"
                        and bool(getattr(intent, "last_payment_error", None)))
    charge = getattr(intent, "latest_charge", None)
    if intent.status == "succeeded" and charge:
        transaction = charge.balance_transaction
        if isinstance(transaction, str):
            transaction = stripe_gateway.retrieve_balance_transaction(transaction)
        facts.charge_id = charge.id
        details = getattr(charge, "payment_method_details", None)
        facts.method = getattr(details, "type", None) if details else None
        if transaction:
            facts.balance_transaction_id = transaction.id
            facts.fee_fen = _fee_in_fen(transaction)
            facts.settlement_currency = transaction.currency
            facts.settlement_amount = int(transaction.amount)
    return facts


def _mark_paid(payment, facts):
    fee_before = payment.fee_fen or 0
    payment.status = facts.status
    payment.payment_method_type = facts.method or payment.payment_method_type
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
        # Recorded now, under the payment's row lock (the UPDATE above): a concurrent delivery
        # of the same news finds this refund; Stripe is asked after commit.
        refund_late_payment_uncommitted(payment)
        return "refund_late_payment"
    if order.paid_at is not None and facts.fee_fen > fee_before:
        # Stripe reported the fee after the payment was attributed: posted once, as a late fee.
        publish("ledger.post_late_fee", payment_id=payment.id)
        return "late_fee"
    return "unchanged"


def settle_payment_intent(payment_intent_id, event_id=None, event_type="", note="payment_cancelled"):
    """Re-read the PaymentIntent and apply it: paid, released (failed or cancelled), or unchanged.

    `note` says why, on the order's timeline, if the order is released. With `event_id`, the
    event is recorded once in the same transaction; a replay returns
    "duplicate" and changes nothing. Returns what happened, for logs and tests.
    """
    facts = read_intent(payment_intent_id)  # before any row is touched: no transaction held over the network
    payment = db.session.scalar(
        lock_for_update(select(Payment).where(Payment.stripe_payment_intent_id == payment_intent_id))
        .execution_options(populate_existing=True))
    if payment is None:
        db.session.rollback()
        return "unknown"  # not ours, or not committed yet: Stripe retries, the expiry sweep re-reads
    if event_id and not record_event(event_id, event_type, payment_intent_id):
        db.session.rollback()
        return "duplicate"
    if payment.amount_fen != facts.amount_fen:
        log.error("PaymentIntent %s is for %s fen, order wants %s", payment_intent_id, facts.amount_fen,
                  payment.amount_fen)
        db.session.commit()
        return "amount_mismatch"
    if facts.status == "succeeded":
        outcome = _mark_paid(payment, facts)
    elif facts.status == "canceled" or (facts.status == "requires_payment_method"
                                        and (event_type == FAILED or facts.attempt_failed)):
        payment.status = facts.status
        outcome = "released" if release_order(payment.order_id, note) else "unchanged"
    else:
        payment.status = facts.status
        outcome = "unchanged"
    db.session.commit()
    if outcome == "released" and facts.status == "requires_payment_method":
        stripe_gateway.cancel_payment_intent(payment_intent_id)  # it can no longer be paid by mistake
    return outcome


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
