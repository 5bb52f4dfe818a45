"""Payout batches: draft, approve (another person), export, record each payment."""
from urllib.parse import quote

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.extensions import db
from marketplace.payouts import exports, funding
from marketplace.payouts import services as payouts
from marketplace.payouts.models import PayoutItem
from marketplace.people.models import User
from marketplace.web.town import bp
from marketplace.web.town.forms import CreateBatchForm, MarkFailedForm, MarkPaidForm
from marketplace.web.town.routes import attempt, my_town_id, staff_only


@bp.route("/payouts", methods=["GET", "POST"])
@staff_only
def payouts_index():
    town_id = my_town_id()
    form = CreateBatchForm()
    if form.validate_on_submit():
        batch = attempt(payouts.create_batch, current_user.id, form.method.data, form.min_amount.fen)
        if batch is not None:
            flash(_("Batch drafted. Another staff member must approve it."), "info")
            return redirect(url_for("town.payout_batch", batch_id=batch.id))
    batches = payouts.town_batches(town_id)
    return render_template("town/payouts.html", form=form, batches=batches,
                           totals=payouts.batch_totals([batch.id for batch in batches]),
                           awaiting=funding.households_awaiting_funding(town_id)), 422 if form.errors else 200


@bp.get("/payouts/<int:batch_id>")
@staff_only
def payout_batch(batch_id):
    batch = payouts.batch_in_town(batch_id, my_town_id())
    people = {user_id: db.session.get(User, user_id)
              for user_id in (batch.created_by_id, batch.approved_by_id) if user_id}
    items, households, suppliers, total_fen = payouts.batch_totals([batch.id])[batch.id]
    return render_template("town/payout_batch.html", batch=batch, rows=payouts.batch_payees(batch), people=people,
                           households_count=households, suppliers_count=suppliers, total_fen=total_fen,
                           paid_form=MarkPaidForm(),
                           failed_form=MarkFailedForm())


@bp.post("/payouts/<int:batch_id>/approve")
@staff_only
def approve_payout_batch(batch_id):
    if attempt(payouts.approve_batch, current_user.id, batch_id) is not None:
        flash(_("Batch approved. The amounts are frozen; export the file and pay."), "info")
    return redirect(url_for("town.payout_batch", batch_id=batch_id))


@bp.post("/payouts/<int:batch_id>/cancel")
@staff_only
def cancel_payout_batch(batch_id):
    if attempt(payouts.cancel_batch, current_user.id, batch_id) is not None:
        flash(_("Batch cancelled."), "info")
    return redirect(url_for("town.payout_batch", batch_id=batch_id))


def _item_batch_id(item_id):
    item = db.session.get(PayoutItem, item_id)
    return payouts.batch_in_town(item.batch_id, my_town_id()).id if item else None


@bp.post("/payouts/items/<int:item_id>/paid")
@staff_only
def mark_payout_paid(item_id):
    batch_id = _item_batch_id(item_id)
    form = MarkPaidForm()
    if batch_id is None or not form.validate_on_submit():
        flash(_("Enter the bank reference or cash receipt number."), "error")
    elif attempt(payouts.mark_item_paid, current_user.id, item_id, form.reference.data) is not None:
        flash(_("Recorded as paid."), "info")
    return redirect(url_for("town.payout_batch", batch_id=batch_id) if batch_id else url_for("town.payouts_index"))


@bp.post("/payouts/items/<int:item_id>/failed")
@staff_only
def mark_payout_failed(item_id):
    batch_id = _item_batch_id(item_id)
    form = MarkFailedForm()
    if batch_id is None or not form.validate_on_submit():
        flash(_("Say why the payment failed."), "error")
    elif attempt(payouts.mark_item_failed, current_user.id, item_id, form.reason.data) is not None:
        flash(_("Recorded as failed; the amount is available to the household again."), "info")
    return redirect(url_for("town.payout_batch", batch_id=batch_id) if batch_id else url_for("town.payouts_index"))


def _download(content, mimetype, name, ascii_name=None):
    """An attachment; a Chinese file name goes in `filename*` (RFC 6266) with an ASCII fallback."""
    if ascii_name is None:
        return Response(content, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.get("/payouts/<int:batch_id>/bank.csv")
@staff_only
def payout_bank_csv(batch_id):
    batch, content = exports.bank_csv(current_user.id, batch_id)
    return _download(content, "text/csv; charset=utf-8", *exports.bank_file_names(batch, "csv"))


@bp.get("/payouts/<int:batch_id>/bank.xlsx")
@staff_only
def payout_bank_xlsx(batch_id):
    batch, content = exports.bank_xlsx(current_user.id, batch_id)
    return _download(content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     *exports.bank_file_names(batch, "xlsx"))


@bp.get("/payouts/<int:batch_id>/cash-sheet.pdf")
@staff_only
def payout_cash_sheet(batch_id):
    batch, content = exports.cash_sheet_pdf(current_user.id, batch_id)
    return _download(content, "application/pdf", f"payout-batch-{batch.id}-cash-sheet.pdf")
