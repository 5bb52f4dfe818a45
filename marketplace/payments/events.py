"""Each Stripe event applied once.

The webhook only records a verified event (`receive_event`: its row and an outbox message, one
transaction) and answers; the worker applies it (`claim_event` in the same transaction as its
effect, after re-reading Stripe). A redelivery finds the row and is answered "duplicate"; a task
run twice finds the event claimed and does nothing.
"""
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.outbox.services import publish
from marketplace.payments.models import StripeEvent

APPLY_TASK = "payments.apply_stripe_event"


def receive_event(event_id, event_type, object_id):
    """Record a verified event and queue its application; False if it was received before (the
    primary key says so: no lookup first, one round trip fewer on every delivery)."""
    try:
        db.session.add(StripeEvent(id=event_id, type=event_type, object_id=object_id))
        publish(APPLY_TASK, event_id=event_id)
        db.session.commit()
    except IntegrityError:  # delivered before, or twice at once: the other delivery has it
        db.session.rollback()
        return False
    return True


def claim_event(event_id, event_type, object_id):
    """True the first time this event is applied; commits with the event's effect.

    An event received by the webhook is claimed by a conditional UPDATE (a concurrent run finds
    it claimed); one applied without passing the webhook (a direct call) is recorded now."""
    claimed = db.session.execute(
        update(StripeEvent).where(StripeEvent.id == event_id, StripeEvent.applied_at.is_(None))
        .values(applied_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if claimed:
        return True
    if db.session.get(StripeEvent, event_id) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(StripeEvent(id=event_id, type=event_type, object_id=object_id, applied_at=utcnow()))
    except IntegrityError:
        return False
    return True


# The name the settlement services have always used.
record_event = claim_event


def note_outcome(event_id, outcome):
    """What applying the event did, for the logs, the admin and tests ("paid", "released"…)."""
    db.session.execute(update(StripeEvent).where(StripeEvent.id == event_id, StripeEvent.outcome.is_(None))
                       .values(outcome=outcome, applied_at=func.coalesce(StripeEvent.applied_at, utcnow()))
                       .execution_options(synchronize_session=False))
    db.session.commit()
