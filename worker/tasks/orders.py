from celery import shared_task

from marketplace.aftersales import services as claims
from marketplace.orders import reservations, settlement


@shared_task(name="orders.release_expired_reservations")
def release_expired_reservations():
    """Beat: give back the stock of orders left unpaid past RESERVATION_MINUTES."""
    return reservations.release_expired_reservations()


@shared_task(name="orders.auto_confirm_deliveries")
def auto_confirm_deliveries():
    """Beat: parcels shipped AUTO_CONFIRM_DAYS ago that nobody confirmed count as delivered."""
    return settlement.auto_confirm_due()


@shared_task(name="orders.settle_shipments")
def settle_shipments():
    """Beat: shipments delivered AFTER_SALES_DAYS ago with no open claim settle; their credits become available."""
    return settlement.settle_due()


@shared_task(name="orders.escalate_overdue_claims")
def escalate_overdue_claims():
    """Beat: after-sales claims nobody answered by their deadline go to town staff."""
    return claims.escalate_overdue()
