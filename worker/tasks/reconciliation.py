from celery import shared_task

from marketplace.outbox.services import mark_processed
from marketplace.reconciliation.services import sync_with_stripe


@shared_task(name="reconciliation.sync_stripe", autoretry_for=(ConnectionError,), retry_backoff=True,
             retry_jitter=True, max_retries=3)
def sync_stripe(outbox_id=None):
    """Beat (and "pull now"): pull new Stripe balance transactions and payouts and match them."""
    pulled = sync_with_stripe()
    mark_processed(outbox_id)
    return pulled
