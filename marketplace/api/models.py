from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.people.models import User


class ApiToken(db.Model):
    """A bearer token a user made on their account page. Only its SHA-256 is kept.

    `role` is the user's role when the token was made: the token stops working if the role
    changes, so a token never carries more (or other) rights than the person has today.
    """

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class IdempotencyRecord(db.Model):
    """The first response to a POST sent with an `Idempotency-Key`, replayed for the same key.

    `request_hash` covers the method, the path and the body, so the same key with another
    request is refused instead of answered with an unrelated response. `status` is None while
    the first request is still running.
    """

    __tablename__ = "idempotency_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None]
    response_body: Mapped[dict | None] = mapped_column(db.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (db.UniqueConstraint("user_id", "key", name="uq_idempotency_records_user_key"),)
