from celery import shared_task

from marketplace.api import idempotency


@shared_task(name="api.purge_idempotency_keys")
def purge_idempotency_keys():
    """Beat: forget Idempotency-Key responses older than a day. Safe to run twice."""
    return idempotency.purge_expired()
