from celery import shared_task

from marketplace.subscriptions import renewals


@shared_task(name="subscriptions.run_due_renewals")
def run_due_renewals():
    """Beat: turn each subscription period that fell due into an ordinary paid order; retry a
    declined card, then pause and tell the buyer. Safe to run twice (one renewal per period,
    each attempt claimed before it charges)."""
    return renewals.run_due_renewals()
