from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.coops import periods as period_service
from marketplace.errors import DomainError
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import ClosePeriodForm
from marketplace.web.coop.routes import flash_refusal


@bp.get("/periods")
@role_required("coop_manager")
def periods():
    kind, closable = period_service.closable_periods(current_user.id)
    return render_template("coop/periods.html", kind=kind, closable=closable,
                           closed=period_service.closed_periods(current_user.id))


@bp.get("/periods/preview")
@role_required("coop_manager")
def preview_period():
    try:
        start = date.fromisoformat(request.args.get("start", ""))
    except ValueError:
        abort(404)
    try:
        preview = period_service.preview_period(current_user.id, start)
    except DomainError as error:
        flash_refusal(error)
        return redirect(url_for("coop.periods"))
    form = ClosePeriodForm(formdata=None, preview_id=preview.id, period_start=preview.period_start)
    return render_template("coop/period_preview.html", preview=preview, form=form,
                           profit=period_service.profit_breakdown(preview))


@bp.post("/periods")
@role_required("coop_manager")
def close_period():
    form = ClosePeriodForm()
    if not form.validate_on_submit():
        flash(_("Please preview the period again."), "error")
        return redirect(url_for("coop.periods"), 303)
    try:
        period_service.close_period(current_user.id, form.preview_id.data)
    except DomainError as error:
        flash_refusal(error)
        if form.period_start.data is None:
            return redirect(url_for("coop.periods"), 303)
        return redirect(url_for("coop.preview_period", start=form.period_start.data.isoformat()), 303)
    flash(_("Period closed. The dividends are being posted to the members' accounts."), "info")
    return redirect(url_for("coop.periods"), 303)
