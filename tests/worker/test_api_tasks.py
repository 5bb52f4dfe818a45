"""The beat task that forgets old Idempotency-Key responses."""
from datetime import timedelta

from sqlalchemy import select

from marketplace.api.models import IdempotencyRecord
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.people.models import User
from worker.tasks.api import purge_idempotency_keys


def test_keys_older_than_a_day_are_forgotten_and_newer_ones_kept(app_ctx):
    user = User(email="client@example.cn", name="客户端", role="buyer", password_hash="x")
    db.session.add(user)
    db.session.flush()
    db.session.add_all([
        IdempotencyRecord(user_id=user.id, key="old", request_hash="a", status=201, response_body={},
                          created_at=utcnow() - timedelta(hours=25)),
        IdempotencyRecord(user_id=user.id, key="new", request_hash="b", status=201, response_body={}),
    ])
    db.session.commit()
    assert purge_idempotency_keys() == 1
    assert purge_idempotency_keys() == 0
    assert db.session.scalars(select(IdempotencyRecord.key)).all() == ["new"]
