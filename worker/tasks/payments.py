"""Payment tasks: asking Stripe for a refund already recorded, after the transaction that recorded it.

Safe to run twice: `send_refund` finds the refund an earlier run created (and Stripe dedupes its
idempotency key), so however often this runs, the buyer is refunded once.
"""
import logging

from celery import shared_task
from sqlalchemy.exc import DBAPIError

from marketplace.extensions import db
from marketplace.outbox.services import mark_processed
from marketplace.payments import refunds, stripe_gateway

log = logging.getLogger(__name__)


@shared_task(name="payments.send_refund", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(stripe_gateway.StripeError, DBAPIError), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=12)
def send_refund(refund_id, outbox_id=None):
    """refund_requested: ask Stripe for the refund and record what it says."""
    try:
        outcome = refunds.send_refund(refund_id)
    finally:
        db.session.remove()  # rolls back whatever failed, so the retry starts clean
    log.info("refund %s sent to Stripe: %s", refund_id, outcome)
    mark_processed(outbox_id)
    return outcome


@shared_task(name="payments.apply_stripe_event", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(stripe_gateway.StripeError, DBAPIError), retry_backoff=2,
             retry_backoff_max=300, retry_jitter=True, max_retries=12)
def apply_stripe_event(event_id, outbox_id=None):
    """A Stripe event the webhook received: re-read Stripe and apply it once (see payments/webhooks.py)."""
    from marketplace.payments.webhooks import apply_event

    try:
        outcome = apply_event(event_id)
    finally:
        db.session.remove()
    log.info("stripe event %s applied: %s", event_id, outcome)
    mark_processed(outbox_id)
    return outcome
