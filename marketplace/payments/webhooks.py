"""Stripe webhooks: verify the signature on the raw body, then settle from Stripe's current state."""
from flask_babel import lazy_gettext as _

from marketplace.errors import DomainError
from marketplace.payments import stripe_gateway
from marketplace.payments.settlement import settle_payment_intent

# event type -> why the order is released, if the PaymentIntent turns out not paid
HANDLED_EVENTS = {
    "payment_intent.succeeded": "payment_cancelled",
    "payment_intent.payment_failed": "payment_failed",
    "payment_intent.canceled": "payment_cancelled",
}


class BadWebhook(DomainError):
    status = 400
    code = "bad_webhook"


def handle_webhook(payload, signature_header):
    """Apply one signed Stripe event at most once; returns what happened ("paid", "duplicate"…).

    Raises BadWebhook for a missing, wrong or stale signature, or a body that is not an event.
    """
    try:
        event = stripe_gateway.construct_event(payload, signature_header or "")
    except (stripe_gateway.SignatureError, ValueError) as error:
        raise BadWebhook(_("The webhook signature is missing or wrong.")) from error
    if event.type not in HANDLED_EVENTS:
        return "ignored"
    intent_id = getattr(getattr(event, "data", None) and event.data.object, "id", None)
    if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
        raise BadWebhook(_("The webhook does not name a payment."))
    return settle_payment_intent(intent_id, event_id=event.id, event_type=event.type,
                                 note=HANDLED_EVENTS[event.type])
