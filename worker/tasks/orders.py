from celery import shared_task

from marketplace.orders import reservations


@shared_task(name="orders.release_expired_reservations")
def release_expired_reservations():
    """Beat: give back the stock of orders left unpaid past RESERVATION_MINUTES."""
    return reservations.release_expired_reservations()
