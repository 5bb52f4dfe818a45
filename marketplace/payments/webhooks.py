"""Stripe webhooks: verify the signature on the raw body, then settle from Stripe's current state."""
from flask_babel import lazy_gettext as _

from marketplace.errors import DomainError
from marketplace.payments import stripe_gateway
from marketplace.payments.refunds import settle_refund
from marketplace.payments.settlement import settle_payment_intent

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
    """Apply one signed Stripe event at most once; returns what happened ("paid", "duplicate"…).

    Raises BadWebhook for a missing, wrong or stale signature, or a body that is not an event.
    """
    try:
        event = stripe_gateway.construct_event(payload, signature_header or "")
    except (stripe_gateway.SignatureError, ValueError) as error:
        raise BadWebhook(_("The webhook signature is missing or wrong.")) from error
    obj = getattr(event, "data", None) and event.data.object
    if event.type in REFUND_EVENTS:
        refund_id = getattr(obj, "id", None)
        if not isinstance(refund_id, str) or not refund_id.startswith("re_"):
            raise BadWebhook(_("The webhook does not name a refund."))
        return settle_refund(refund_id, event_id=event.id, event_type=event.type)
    if event.type in CHARGE_EVENTS:
        intent_id = getattr(obj, "payment_intent", None)
        if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
            return "ignored"  # a charge without a PaymentIntent is not one of ours
        return settle_payment_intent(intent_id, event_id=event.id, event_type=event.type)
    if event.type not in HANDLED_EVENTS:
        return "ignored"
    intent_id = getattr(obj, "id", None)
    if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
        raise BadWebhook(_("The webhook does not name a payment."))
    return settle_payment_intent(intent_id, event_id=event.id, event_type=event.type,
                                 note=HANDLED_EVENTS[event.type])
