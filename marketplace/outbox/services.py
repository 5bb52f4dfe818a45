"""The transactional outbox: a task is never sent before the rows it reads are committed.

`publish` adds a message to the caller's transaction; after that transaction commits the
message is sent to Celery. If the broker is down then, or a worker dies with the message, the
beat task `outbox.resend_unprocessed` sends it again; tasks are idempotent, so a second run is
harmless. A task marks its message processed when its service has committed.

At volume, a task named in OUTBOX_BATCHED_TASKS is not sent one message at a time: a beat task
calls `send_in_batches`, which sends the waiting messages a few hundred to a task.
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
    if task_name not in current_app.config["OUTBOX_BATCHED_TASKS"]:
        db.session.info.setdefault(_PENDING, []).append((message.id, task_name, kwargs))
    return message


def send(message_id, task_name, kwargs):
    """Hand one message (or, with no message id, one batch) to the broker; a broker that is down is
    logged and retried by the sweep."""
    if not current_app.config.get("OUTBOX_DISPATCH", True):
        return False
    celery = current_app.extensions["celery"]
    if message_id is not None:
        kwargs = {**kwargs, "outbox_id": message_id}
    try:
        celery.send_task(task_name, kwargs=kwargs)
    except BrokerError:
        log.warning("broker unavailable; outbox message %s waits for the sweep", message_id)
        return False
    return True


def mark_processed(message_id):
    if message_id is not None:
        mark_all_processed([message_id])


def mark_all_processed(message_ids):
    if not message_ids:
        return
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(sorted(message_ids)), OutboxMessage.processed_at.is_(None))
        .values(processed_at=utcnow())
    )
    db.session.commit()


def resend_unprocessed(limit=500):
    """Send again what was published but not processed after OUTBOX_RESEND_AFTER_SECONDS."""
    cutoff = _resend_cutoff()
    messages = _claim(
        select(OutboxMessage)
        .where(OutboxMessage.created_at <= cutoff, OutboxMessage.task_name.not_in(_batched_tasks()))
        .limit(limit), cutoff)
    return sum(1 for item in messages if send(*item))


def send_in_batches(task_name, batch_task, field, size=250, limit=10_000):
    """Send up to `limit` waiting `task_name` messages as `batch_task` tasks of up to `size` messages each.

    A batch task gets `{field}s` (the messages' `field` values, oldest first) and their
    `outbox_ids`. Waiting means unprocessed and not sent in the last OUTBOX_RESEND_AFTER_SECONDS;
    for a task not in OUTBOX_BATCHED_TASKS (sent one by one after commit) only messages older
    than that, the backlog. Returns the number of batches sent.
    """
    cutoff = _resend_cutoff()
    query = select(OutboxMessage).where(OutboxMessage.task_name == task_name).limit(limit)
    if task_name not in _batched_tasks():
        query = query.where(OutboxMessage.created_at <= cutoff)
    messages = _claim(query, cutoff)
    sent = 0
    for start in range(0, len(messages), size):
        chunk = messages[start:start + size]
        sent += send(None, batch_task, {f"{field}s": [kwargs[field] for _id, _name, kwargs in chunk],
                                        "outbox_ids": [message_id for message_id, _name, _kwargs in chunk]})
    return sent


def _claim(query, cutoff):
    """Mark the unprocessed messages of `query` sent now, in one statement; [(id, task name, kwargs)], oldest first.

    Rows another sweep is claiming are skipped (PostgreSQL), so overlapping sweeps send each once.
    """
    waiting = (query.with_only_columns(OutboxMessage.id)
               .where(OutboxMessage.processed_at.is_(None))
               .where((OutboxMessage.last_sent_at.is_(None)) | (OutboxMessage.last_sent_at <= cutoff))
               .order_by(OutboxMessage.id)
               .with_for_update(skip_locked=True))
    claimed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(waiting.scalar_subquery()))
        .values(last_sent_at=utcnow(), send_attempts=OutboxMessage.send_attempts + 1)
        .returning(OutboxMessage.id, OutboxMessage.task_name, OutboxMessage.kwargs)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted((message_id, task_name, dict(kwargs)) for message_id, task_name, kwargs in claimed)


def _resend_cutoff():
    return utcnow() - timedelta(seconds=current_app.config["OUTBOX_RESEND_AFTER_SECONDS"])


def _batched_tasks():
    return sorted(current_app.config["OUTBOX_BATCHED_TASKS"])


@event.listens_for(db.session, "after_commit")
def _send_after_commit(session):
    pending = session.info.pop(_PENDING, [])
    for item in pending:
        send(*item)


@event.listens_for(db.session, "after_soft_rollback")
def _forget_on_rollback(session, _previous_transaction):
    if not session.in_transaction():
        session.info.pop(_PENDING, None)
