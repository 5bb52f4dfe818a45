from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.crypto import EncryptedBytes
from marketplace.database import one_of, utcnow
from marketplace.extensions import db

IMPORT_KINDS = ("households", "memberships")
# `checking`: uploaded, the worker is reading it (the dry run); `checked`: its report is ready.
IMPORT_STATUSES = ("checking", "checked", "queued", "running", "writing", "done", "failed")


class ImportJob(db.Model):
    """One uploaded registry file: its dry run and report, then the apply, both in the background.

    The file is kept encrypted until it is applied (it holds registry and bank numbers), then
    dropped. `report` lists every row with its outcome and reason, numbers masked.
    """

    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    file_data: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    status: Mapped[str] = mapped_column(String(10), default="checking")
    scope_town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    mark_verified: Mapped[bool] = mapped_column(default=False)
    evidence: Mapped[str] = mapped_column(String(500), default="")
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    report: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        one_of("kind", IMPORT_KINDS, "import_kind_known"),
        one_of("status", IMPORT_STATUSES, "import_status_known"),
    )

    @property
    def progress_percent(self):
        if self.status == "done":
            return 100
        if not self.total_rows:
            return 0
        # Checking rows is most of the work; the last tenth is writing them in one transaction.
        return min(90, self.processed_rows * 90 // self.total_rows) + (5 if self.status == "writing" else 0)
