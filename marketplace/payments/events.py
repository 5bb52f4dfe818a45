"""Each Stripe event applied once: its id is recorded in the same transaction as its effect."""
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.payments.models import StripeEvent


def record_event(event_id, event_type, object_id):
    """True the first time this event id is seen; the row commits with the event's effect."""
    if db.session.get(StripeEvent, event_id) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(StripeEvent(id=event_id, type=event_type, object_id=object_id))
    except IntegrityError:
        return False
    return True
