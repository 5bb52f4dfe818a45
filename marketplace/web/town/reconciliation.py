"""Stripe reconciliation: matched totals, the discrepancy queue, importing an export, month locking."""
import io
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.extensions import db
from marketplace.ledger.chain import chain_head
from marketplace.ledger.explain import shanghai_time
from marketplace.outbox.services import publish
from marketplace.reconciliation import services as reconciliation
from marketplace.web.town import bp
from marketplace.web.town.forms import ImportExportForm, LockMonthForm, ResolveForm
from marketplace.web.town.routes import attempt, my_town_id, staff_only


@bp.get("/reconciliation")
@staff_only
def reconciliation_page():
    my_town_id()
    return render_template("town/reconciliation.html", summary=reconciliation.summary(), resolve_form=ResolveForm(),
                           lock_form=LockMonthForm(), import_form=ImportExportForm(), chain=chain_head(),
                           local_time=shanghai_time)


@bp.post("/reconciliation/pull")
@staff_only
def pull_from_stripe():
    """Ask the worker to pull from Stripe now rather than at the next scheduled run."""
    my_town_id()
    publish("reconciliation.sync_stripe")
    db.session.commit()
    flash(_("Pulling from Stripe; reload in a moment to see the result."), "info")
    return redirect(url_for("town.reconciliation_page"))


@bp.post("/reconciliation/import")
@staff_only
def import_stripe_export():
    """Match an export downloaded from Stripe's dashboard (up to the upload size limit)."""
    form = ImportExportForm()
    if not form.validate_on_submit():
        flash(_("Choose an export file to import."), "error")
        return redirect(url_for("town.reconciliation_page"))
    stream = io.TextIOWrapper(form.export.data.stream, encoding="utf-8", errors="strict")
    try:
        result = attempt(reconciliation.import_export, stream, actor_id=current_user.id)
    except UnicodeDecodeError:
        db.session.rollback()
        result = None
        flash(_("The file is not UTF-8 text."), "error")
    if result:
        flash(_("%(read)s records read, %(new)s new.", read=result[0], new=result[1]), "info")
    return redirect(url_for("town.reconciliation_page"))


@bp.post("/reconciliation/discrepancies/<int:discrepancy_id>/resolve")
@staff_only
def resolve_discrepancy(discrepancy_id):
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("Write a note saying how it was resolved."), "error")
    elif attempt(reconciliation.resolve_discrepancy, current_user.id, discrepancy_id, form.note.data):
        flash(_("Discrepancy resolved."), "info")
    return redirect(url_for("town.reconciliation_page"))


@bp.post("/reconciliation/lock")
@staff_only
def lock_reconciliation_month():
    form = LockMonthForm()
    if not form.validate_on_submit():
        flash(_("Give the month as YYYY-MM."), "error")
    elif attempt(reconciliation.lock_month, current_user.id, form.month.data):
        flash(_("Month locked."), "info")
    return redirect(url_for("town.reconciliation_page"))
