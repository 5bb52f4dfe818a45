"""The transactional outbox: a task is never sent before the rows it reads are committed.

`publish` adds a message to the caller's transaction; after that transaction commits the
message is sent to Celery. If the broker is down then, or a worker dies with the message, the
beat task `outbox.resend_unprocessed` sends it again; tasks are idempotent, so a second run is
harmless. A task marks its message processed when its service has committed.
"""
import logging
from datetime import timedelta

from flask import current_app
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import event, select, update

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.outbox.models import OutboxMessage

log = logging.getLogger(__name__)
_PENDING = "outbox_pending"


def publish(task_name, **kwargs):
    """Queue `task_name(**kwargs, outbox_id=…)` to run once the current transaction commits."""
    message = OutboxMessage(task_name=task_name, kwargs=kwargs)
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append((message.id, task_name, kwargs))
    return message


def send(message_id, task_name, kwargs):
    """Hand one message to the broker; a broker that is down is logged and retried by the sweep."""
    if not current_app.config.get("OUTBOX_DISPATCH", True):
        return False
    celery = current_app.extensions["celery"]
    try:
        celery.send_task(task_name, kwargs={**kwargs, "outbox_id": message_id})
    except BrokerError:
        log.warning("broker unavailable; outbox message %s waits for the sweep", message_id)
        return False
    return True


def mark_processed(message_id):
    if message_id is None:
        return
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.processed_at.is_(None))
        .values(processed_at=utcnow())
    )
    db.session.commit()


def resend_unprocessed(limit=500):
    """Send again what was published but not processed after OUTBOX_RESEND_AFTER_SECONDS."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["OUTBOX_RESEND_AFTER_SECONDS"])
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.processed_at.is_(None), OutboxMessage.created_at <= cutoff)
        .where((OutboxMessage.last_sent_at.is_(None)) | (OutboxMessage.last_sent_at <= cutoff))
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    batch = [(m.id, m.task_name, dict(m.kwargs)) for m in messages]
    now = utcnow()
    for message in messages:
        message.last_sent_at = now
        message.send_attempts += 1
    db.session.commit()
    return sum(1 for item in batch if send(*item))


@event.listens_for(db.session, "after_commit")
def _send_after_commit(session):
    pending = session.info.pop(_PENDING, [])
    for item in pending:
        send(*item)


@event.listens_for(db.session, "after_soft_rollback")
def _forget_on_rollback(session, _previous_transaction):
    if not session.in_transaction():
        session.info.pop(_PENDING, None)
