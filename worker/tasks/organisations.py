"""Institutional buying (消费帮扶) beat tasks."""
from celery import shared_task

from marketplace.organisations import payment_clock


@shared_task(name="organisations.send_payment_reminders", autoretry_for=(OSError,), retry_backoff=60,
             retry_jitter=True, max_retries=5)
def send_payment_reminders():
    """Beat: mail the organisation when its transfer deadline is near and when its order lapsed. Safe to run twice."""
    return payment_clock.send_payment_reminders()
