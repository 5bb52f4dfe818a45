from datetime import timedelta

from sqlalchemy import update

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import publish


def test_a_message_the_broker_never_got_is_resent_by_the_beat_task(app, celery_worker):
    # Committed while dispatch was off, as if the broker were down at commit time.
    app.config["OUTBOX_DISPATCH"] = False
    with app.app_context():
        message = publish("outbox.resend_unprocessed")
        db.session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        message_id = message.id
    app.config["OUTBOX_DISPATCH"] = True

    # The real worker runs the sweep, which sends the message again.
    celery_worker.celery.send_task("outbox.resend_unprocessed")
    sent = celery_worker.wait_for(lambda: db.session.get(OutboxMessage, message_id).send_attempts >= 1)
    assert sent


def test_nothing_is_sent_for_a_rolled_back_transaction(app_ctx):
    publish("outbox.resend_unprocessed")
    db.session.rollback()
    assert db.session.query(OutboxMessage).count() == 0
    assert "outbox_pending" not in db.session.info
