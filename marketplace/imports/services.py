"""Registry imports: a dry run that writes nothing, then an all-or-nothing apply, both in the background.

`submit_import` keeps the uploaded file and queues `imports.check`; the task calls `run_check`,
which reads the file and reports every row (created, updated, unchanged or rejected, and why). `start_apply` queues `imports.apply` through the outbox; the task calls
`run_apply`, which reads the file again, refuses if the outcome differs from the dry run the
person approved, and writes every good row in one transaction. Applying the same file again
finds every household by its blind index, so nothing is duplicated.
"""
import logging
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError

from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.imports import households, memberships
from marketplace.imports.models import ImportJob
from marketplace.imports.plans import outcomes
from marketplace.imports.reading import read_rows, refuse_unknown_kind
from marketplace.outbox.services import publish
from marketplace.people.models import User

log = logging.getLogger(__name__)
IMPORTERS = {"households": households, "memberships": memberships}
STALLED_AFTER = timedelta(minutes=10)


def import_scope(actor):
    """None for a platform admin (the whole district); a town's id for its staff; else refused."""
    if actor is None or not actor.is_active_account:
        raise Forbidden("Only the platform admin and town staff import registries.")
    if actor.role == "admin":
        return None
    if actor.role == "town_staff":
        return actor.town_id
    raise Forbidden("Only the platform admin and town staff import registries.")


def submit_import(kind, filename, data, actor_id, mark_verified=False, evidence=""):
    """The request half of the dry run: keep the file (encrypted) and queue `imports.check`.
    Reading it happens in the worker, so a hostile workbook never holds a web worker."""
    _importer(kind)
    scope = import_scope(db.session.get(User, actor_id))
    evidence = (evidence or "").strip()
    if mark_verified and not evidence:
        raise DomainError("Say on what evidence these households are verified.", field="evidence")
    refuse_unknown_kind(filename, data)
    job = ImportJob(kind=kind, filename=filename[:200], file_data=data, scope_town_id=scope, status="checking",
                    mark_verified=mark_verified and kind == "households", evidence=evidence[:500],
                    created_by_id=actor_id)
    db.session.add(job)
    db.session.flush()
    publish("imports.check", job_id=job.id)
    record("import.uploaded", actor_id, job, town_id=scope, kind=kind, filename=job.filename)
    db.session.commit()
    return job


def run_check(job_id):
    """The worker half of the dry run: read the file, decide every row, store the report. No
    household is written. A file that cannot be read fails the job with the reason."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != "checking":
        return None
    importer = _importer(job.kind)
    try:
        rows = read_rows(job.filename, job.file_data, importer.COLUMNS, importer.REQUIRED)
        job.total_rows = len(rows)
        db.session.commit()
        plan = importer.plan(rows, job.scope_town_id, mark_verified=job.mark_verified,
                             on_progress=lambda done: _save_progress(job_id, done))
    except DomainError as error:
        # The message (translated where shown) and its figures, on a line of their own.
        return _fail(job_id, "\n".join(filter(None, (error.message, getattr(error, "detail", "")))))
    counts = plan.counts()
    job = db.session.get(ImportJob, job_id)
    job.status, job.report, job.processed_rows = "checked", plan.report, 0
    job.created_count, job.updated_count = counts["create"], counts["update"]
    job.unchanged_count, job.rejected_count = counts["unchanged"], counts["reject"]
    record("import.checked", job.created_by_id, job, town_id=job.scope_town_id, kind=job.kind,
           filename=job.filename, **counts)
    db.session.commit()
    return job


def get_job(job_id, actor_id):
    """The job, if the actor may see it: the admin sees all, town staff their town's."""
    job = db.session.get(ImportJob, job_id)
    scope = import_scope(db.session.get(User, actor_id))
    if job is None or (scope is not None and job.scope_town_id != scope):
        raise NotFound("No such import.")
    return job


def start_apply(job_id, actor_id):
    """Queue the apply of a checked import; it runs in the background."""
    job = get_job(job_id, actor_id)
    if job.status != "checked":
        raise Conflict("This import was already applied or is being applied.")
    if not job.created_count and not job.updated_count:
        raise Conflict("Nothing to apply: every row is unchanged or rejected.")
    job.status = "queued"
    publish("imports.apply", job_id=job.id)
    record("import.apply_requested", actor_id, job, town_id=job.scope_town_id)
    db.session.commit()
    return job


def run_apply(job_id):
    """The background half. Safe to run twice: only one run claims a queued (or stalled) job."""
    if not _claim(job_id):
        return None
    job = db.session.get(ImportJob, job_id)
    importer = _importer(job.kind)
    try:
        rows = read_rows(job.filename, job.file_data, importer.COLUMNS, importer.REQUIRED)
        plan = importer.plan(rows, job.scope_town_id, mark_verified=job.mark_verified,
                             on_progress=lambda done: _save_progress(job_id, done))
    except DomainError as error:
        return _fail(job_id, error.message)
    if outcomes(plan.report) != outcomes(job.report):
        return _fail(job_id, "The registry changed since the dry run; check the file again.")
    _save_progress(job_id, len(rows), status="writing")
    try:
        importer.write(plan, job)
        counts = plan.counts()
        job.status, job.finished_at, job.file_data = "done", utcnow(), None
        job.processed_rows = len(rows)
        record("import.applied", job.created_by_id, job, town_id=job.scope_town_id, kind=job.kind,
               created=counts["create"], updated=counts["update"], rejected=counts["reject"])
        db.session.commit()
    except SQLAlchemyError:
        log.exception("import %s refused by the database", job_id)
        db.session.rollback()
        return _fail(job_id, "Nothing was written: the database refused the import; check the file again.")
    return job


def _claim(job_id):
    stalled = utcnow() - STALLED_AFTER
    claimed = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .where(or_(ImportJob.status == "queued",
                   ImportJob.status.in_(("running", "writing")) & (ImportJob.started_at < stalled)))
        .values(status="running", started_at=utcnow(), processed_rows=0)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _save_progress(job_id, done, status=None):
    values = {"processed_rows": done, **({"status": status} if status else {})}
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
    db.session.commit()


def _fail(job_id, message):
    db.session.rollback()
    job = db.session.get(ImportJob, job_id)
    job.status, job.error, job.finished_at = "failed", message[:500], utcnow()
    record("import.failed", job.created_by_id, job, town_id=job.scope_town_id, error=job.error)
    db.session.commit()
    return job


def _importer(kind):
    if kind not in IMPORTERS:
        raise DomainError("Unknown kind of import.", field="kind")
    return IMPORTERS[kind]


def template_rows(kind):
    """Headers and example rows of the downloadable template."""
    importer = _importer(kind)
    return [aliases[0] for aliases in importer.COLUMNS.values()], importer.TEMPLATE_EXAMPLE
