from celery import shared_task

from marketplace.outbox import services


@shared_task(name="outbox.resend_unprocessed")
def resend_unprocessed():
    """Beat: send again what was committed but never processed (broker down, worker killed)."""
    return services.resend_unprocessed()
