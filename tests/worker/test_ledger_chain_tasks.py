"""The beat seals the ledger's new entries every few seconds and writes a signed checkpoint daily."""
from sqlalchemy import func, select

from marketplace.audit.models import AuditLog
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment
from marketplace.ledger.models import EntrySeal, JournalEntry, UnsealedEntry
from tests.ledger.builders import District


def test_sealing_and_the_daily_checkpoint_are_on_the_beat_schedule(app):
    schedule = {entry["task"]: entry["schedule"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    assert schedule["ledger.seal_entries"] == 5.0
    assert "ledger.write_checkpoint" in schedule


def test_the_worker_seals_what_was_posted_and_checkpoints_the_head(app, celery_worker):
    with app.app_context():
        district = District()
        eggs = district.variant(district.household(), price_fen=1_000)
        attribute_payment(district.paid_order([(eggs, 3)])[1].id)
        entries = db.session.scalar(select(func.count()).select_from(JournalEntry))
    celery = app.extensions["celery"]
    celery.send_task("ledger.seal_entries")
    celery_worker.wait_for(lambda: db.session.scalar(select(func.count()).select_from(UnsealedEntry)) == 0)
    celery.send_task("ledger.write_checkpoint")
    celery_worker.wait_for(lambda: db.session.scalar(select(AuditLog.id).where(AuditLog.action == "ledger.checkpoint")))
    with app.app_context():
        assert db.session.scalar(select(func.max(EntrySeal.seq))) == entries
        logged = db.session.scalar(select(AuditLog).where(AuditLog.action == "ledger.checkpoint"))
        assert logged.details["head_seq"] == entries and len(logged.details["signature"]) == 64
