from celery import shared_task

from marketplace.presales import harvest


@shared_task(name="presales.expire_unpaid_balances")
def expire_unpaid_balances():
    """Beat: remind buyers a day before a pre-order's balance is due; past the deadline, forfeit or
    refund the deposit as the pre-sale's terms said. Safe to run twice (each step is keyed)."""
    return harvest.expire_unpaid_balances()
