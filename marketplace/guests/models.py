from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

PURPOSES = ("guest", "claim")


class PhoneCode(db.Model):
    """A one-time code sent by SMS to a mobile number. Only its keyed hash is stored.

    A code is spent by one right answer (`used_at`), dies after `attempts` reaches the limit,
    and expires at `expires_at`. The rows also count how many codes a number was sent lately
    (the per-number rate limit holds across every web process)."""

    __tablename__ = "phone_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (one_of("purpose", PURPOSES, "purpose_known"),)
