"""Stripe webhooks: verify the signature on the raw body and record the event (answered at once);
the worker then settles from Stripe's current state.

Stripe retries anything but a 2xx for three days, so a signed event that can never be applied is
answered at once and logged: a body that is not an event is a 400; an event naming a
PaymentIntent this marketplace never made is acknowledged ("unknown") without asking Stripe.
"""
import logging

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.payments import stripe_gateway
from marketplace.payments.events import note_outcome, receive_event
from marketplace.payments.models import Payment, StripeEvent
from marketplace.payments.refunds import settle_refund
from marketplace.payments.settlement import settle_payment_intent
from marketplace.presales.services import is_presale_intent, settle_presale_intent

log = logging.getLogger(__name__)

# event type -> why the order is released, if the PaymentIntent turns out not paid
HANDLED_EVENTS = {
    "payment_intent.succeeded": "payment_cancelled",
    "payment_intent.payment_failed": "payment_failed",
    "payment_intent.canceled": "payment_cancelled",
}
# A charge changed (its balance transaction, so its fee, may be known only now): re-read its PaymentIntent.
CHARGE_EVENTS = ("charge.updated",)
# A refund was created or changed status (pending → succeeded, succeeded → failed…): re-read the refund.
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


class BadWebhook(DomainError):
    status = 400
    code = "bad_webhook"


def handle_webhook(payload, signature_header):
    """Receive one signed Stripe event: verify it, record it with its outbox message, answer.

    Nothing is read from Stripe here: the worker applies the event (`apply_event`), so a burst of
    events is answered well inside Stripe's timeout. Returns "queued", "duplicate" (received
    before), "ignored" (a type we do not act on) or "unknown" (a PaymentIntent we never made).
    Raises BadWebhook for a missing, wrong or stale signature, or a body that is not an event.
    """
    try:
        event = stripe_gateway.construct_event(payload, signature_header or "")
    except stripe_gateway.NotAnEvent as error:
        log.warning("signed webhook refused: %s", error)
        raise BadWebhook(_("The webhook is not a Stripe event.")) from error
    except (stripe_gateway.SignatureError, ValueError) as error:
        raise BadWebhook(_("The webhook signature is missing or wrong.")) from error
    subject = _subject_of(event)
    if subject in ("ignored", "unknown"):
        return subject
    return "queued" if receive_event(event.id, event.type, subject) else "duplicate"


def _subject_of(event):
    """The id the worker re-reads for this event (a refund or a PaymentIntent), or why there is none."""
    obj = getattr(event, "data", None) and event.data.object
    if event.type in REFUND_EVENTS:
        refund_id = getattr(obj, "id", None)
        if not isinstance(refund_id, str) or not refund_id.startswith("re_"):
            raise BadWebhook(_("The webhook does not name a refund."))
        return refund_id
    if event.type in CHARGE_EVENTS:
        intent_id = getattr(obj, "payment_intent", None)
        if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
            return "ignored"  # a charge without a PaymentIntent is not one of ours
        return intent_id
    if event.type not in HANDLED_EVENTS:
        return "ignored"
    intent_id = _intent_id(event.to_dict())
    if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
        log.warning("signed webhook %s refused: it names no PaymentIntent", event.id)
        raise BadWebhook(_("The webhook does not name a payment."))
    if not _is_ours(intent_id):
        log.warning("webhook %s names PaymentIntent %s, which is not ours: acknowledged, ignored", event.id, intent_id)
        return "unknown"
    return intent_id


def apply_event(event_id):
    """The worker's half: re-read Stripe and apply a received event once. Returns what it did;
    "duplicate" when it was applied already (a task run twice)."""
    received = db.session.get(StripeEvent, event_id)
    if received is None:
        db.session.rollback()
        return "unknown"
    if received.applied_at is not None:
        db.session.rollback()
        return "duplicate"
    event_type, subject = received.type, received.object_id
    db.session.rollback()  # no transaction held over the call to Stripe
    if event_type in REFUND_EVENTS:
        outcome = settle_refund(subject, event_id=event_id, event_type=event_type)
    elif is_presale_intent(subject):
        db.session.rollback()
        outcome = settle_presale_intent(subject, event_id=event_id, event_type=event_type)
    else:
        outcome = settle_payment_intent(subject, event_id=event_id, event_type=event_type,
                                        note=HANDLED_EVENTS.get(event_type, "payment_cancelled"))
    if outcome != "duplicate":
        note_outcome(event_id, outcome)
    return outcome


def _is_ours(intent_id):
    """Whether a payment of ours is for this PaymentIntent (read without holding a transaction)."""
    found = db.session.scalar(select(Payment.id).where(Payment.stripe_payment_intent_id == intent_id))
    found = found is not None or is_presale_intent(intent_id)  # a pre-order's deposit or balance
    db.session.rollback()
    return found


def _intent_id(body):
    """The id of the object an event is about, or None when the event has no such object."""
    data = body.get("data")
    subject = data.get("object") if isinstance(data, dict) else None
    return subject.get("id") if isinstance(subject, dict) else None
