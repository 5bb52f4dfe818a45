"""Idempotency-Key for POSTs that create orders or lots: the first response is kept and replayed.

A client that lost the answer to a POST sends it again with the same key and gets the same
response, while nothing is created twice. The same key with a different request is refused;
a request still running under the key is a conflict. Only successful responses are kept: a
refused request changed nothing, so repeating it is safe and may succeed once fixed. Keys are
kept for KEEP_HOURS (a beat task forgets older ones).
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from marketplace.api.models import IdempotencyRecord
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db

MAX_KEY_LENGTH = 255
KEEP_HOURS = 24


class KeyReused(DomainError):
    code = "idempotency_key_reused"


class StillRunning(Conflict):
    code = "idempotency_key_in_use"


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict


def request_fingerprint(method, path, body):
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def begin(user_id, key, fingerprint):
    """Claim `key` for this request; returns a Replay when it was already answered, else None."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise DomainError(_("The Idempotency-Key header must be 1 to 255 printable characters."),
                          code="bad_idempotency_key", field="Idempotency-Key")
    record = db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
    if record is None:
        try:
            with db.session.begin_nested():
                db.session.add(IdempotencyRecord(user_id=user_id, key=key, request_hash=fingerprint))
            db.session.commit()
            return None
        except IntegrityError:
            db.session.rollback()
            record = db.session.scalar(select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
    if record.request_hash != fingerprint:
        raise KeyReused(_("This Idempotency-Key was used for a different request."), field="Idempotency-Key")
    if record.status is None:
        raise StillRunning(_("A request with this Idempotency-Key is still being processed."),
                           field="Idempotency-Key")
    return Replay(record.status, record.response_body)


def finish(user_id, key, status, body):
    """Keep the successful response for replays."""
    record = db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
    record.status, record.response_body = status, body
    db.session.commit()


def abandon(user_id, key):
    """Free the key after a refused request, so the client may try again with it."""
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key, IdempotencyRecord.status.is_(None)))
    db.session.commit()


def purge_expired(keep_hours=KEEP_HOURS):
    """Forget keys older than `keep_hours`: clients retry within minutes, not days. Returns how many."""
    cutoff = utcnow() - timedelta(hours=keep_hours)
    removed = db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)).rowcount
    db.session.commit()
    return removed
