from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import utcnow
from marketplace.extensions import db


class AuditLog(db.Model):
    """Append-only: who did what to money or data, and on whose behalf (代办)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None]
    on_behalf_of_household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
