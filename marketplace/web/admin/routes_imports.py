"""Registry imports: upload and dry run, the row-by-row report, apply in the background, progress."""
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.imports import households, memberships, services
from marketplace.imports.models import ImportJob
from marketplace.imports.plans import OUTCOMES
from marketplace.spreadsheets import xlsx_bytes
from marketplace.web.access import role_required
from marketplace.web.admin import bp
from marketplace.web.admin.forms import ImportForm
from marketplace.web.admin.reasons import REASONS
from marketplace.web.security.fields import whole_number

REPORT_PER_PAGE = 50


def _imports_page(form, status=200):
    jobs = select(ImportJob).order_by(ImportJob.id.desc()).limit(20)
    if current_user.role != "admin":
        jobs = jobs.where(ImportJob.scope_town_id == current_user.town_id)
    return render_template("admin/imports.html", form=form, jobs=db.session.scalars(jobs).all(),
                           household_columns=households.COLUMNS, household_required=households.REQUIRED,
                           membership_columns=memberships.COLUMNS,
                           membership_required=memberships.REQUIRED), status


@bp.get("/imports")
@role_required("town_staff")
def imports():
    return _imports_page(ImportForm())


@bp.post("/imports")
@role_required("town_staff")
def check_import():
    form = ImportForm()
    if not form.validate_on_submit():
        return _imports_page(form, 422)
    upload = form.file.data
    try:
        job = services.submit_import(form.kind.data, upload.filename, upload.read(), current_user.id,
                                    mark_verified=form.mark_verified.data, evidence=form.evidence.data)
    except DomainError as error:
        flash(" ".join(filter(None, (error.message, getattr(error, "detail", "")))), "error")
        return _imports_page(form, error.status)
    return redirect(url_for("admin.import_job", job_id=job.id)), 303


def _failure(job):
    """Why a job failed, in the reader's language: the stored message, then its figures."""
    message, _newline, detail = (job.error or "").partition("\n")
    return " ".join(filter(None, (_(message) if message else "", detail)))


@bp.get("/imports/<int:job_id>")
@role_required("town_staff")
def import_job(job_id):
    job = services.get_job(job_id, current_user.id)
    shown = request.args.get("show", "")
    rows = [row for row in job.report if row["outcome"] == shown] if shown in OUTCOMES else job.report
    page = max(1, request.args.get("page", 1, type=whole_number))
    pages = max(1, -(-len(rows) // REPORT_PER_PAGE))
    page = min(page, pages)
    return render_template("admin/import_job.html", job=job, rows=rows[(page - 1) * REPORT_PER_PAGE:page * REPORT_PER_PAGE],
                           shown=shown, page=page, pages=pages, reasons=REASONS, failure=_failure(job))


@bp.post("/imports/<int:job_id>/apply")
@role_required("town_staff")
def apply_import(job_id):
    try:
        services.start_apply(job_id, current_user.id)
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("admin.import_job", job_id=job_id)), 303


@bp.get("/imports/<int:job_id>/progress")
@role_required("town_staff")
def import_progress(job_id):
    job = services.get_job(job_id, current_user.id)
    return jsonify(status=job.status, percent=job.progress_percent, processed=job.processed_rows,
                   total=job.total_rows, error=_failure(job))


@bp.get("/imports/template-<any(households, memberships):kind>.xlsx")
@role_required("town_staff")
def import_template(kind):
    headers, rows = services.template_rows(kind)
    return xlsx_bytes("households" if kind == "households" else "memberships", headers, rows), 200, {
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f"attachment; filename=template-{kind}.xlsx",
    }
