"""Funding floor money: cooperative deposits (maker-checker), lots above the intake ceilings to
confirm, and floor money a cooperative paid its households itself."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.coops import services as coops
from marketplace.payouts import funding
from marketplace.web.town import bp
from marketplace.web.town.forms import DepositForm, PaidByCooperativeForm
from marketplace.web.town.routes import attempt, my_town_id, staff_only


def _deposit_form(town_id, cover):
    form = DepositForm(prefix="deposit")
    form.cooperative_id.choices = [(cooperative.id, cooperative.name_zh) for cooperative, _cover in cover]
    return form


def _page(town_id, deposit_form=None, status=200):
    cover = funding.town_cover(town_id)
    return render_template(
        "town/funding.html", cover=cover, deposits=funding.town_deposits(town_id),
        deposit_form=deposit_form or _deposit_form(town_id, cover), paid_form=PaidByCooperativeForm(prefix="paid"),
        to_confirm=coops.lots_awaiting_confirmation(town_id), awaiting=funding.town_lots_awaiting_funding(town_id),
        cooperatives={cooperative.id: cooperative for cooperative, _cover in cover}), status


@bp.get("/funding")
@staff_only
def funding_page():
    return _page(my_town_id())


@bp.post("/funding/deposits")
@staff_only
def record_deposit():
    town_id = my_town_id()
    form = _deposit_form(town_id, funding.town_cover(town_id))
    if not form.validate_on_submit():
        return _page(town_id, form, 422)
    if attempt(funding.record_deposit, current_user.id, form.cooperative_id.data, form.amount.fen,
               form.reference.data) is not None:
        flash(_("Deposit recorded. Another staff member must approve it once it is in the bank."), "info")
    return redirect(url_for("town.funding_page"))


@bp.post("/funding/deposits/<int:deposit_id>/approve")
@staff_only
def approve_deposit(deposit_id):
    if attempt(funding.approve_deposit, current_user.id, deposit_id) is not None:
        flash(_("Deposit approved: the cooperative's floor money is funded by it."), "info")
    return redirect(url_for("town.funding_page"))


@bp.post("/funding/deposits/<int:deposit_id>/reject")
@staff_only
def reject_deposit(deposit_id):
    if attempt(funding.reject_deposit, current_user.id, deposit_id) is not None:
        flash(_("Deposit turned down."), "info")
    return redirect(url_for("town.funding_page"))


@bp.post("/funding/lots/<int:lot_id>/confirm")
@staff_only
def confirm_lot(lot_id):
    if attempt(coops.confirm_lot, current_user.id, lot_id) is not None:
        flash(_("Lot confirmed: its floor money is owed to the household."), "info")
    return redirect(url_for("town.funding_page"))


@bp.post("/funding/lots/<int:lot_id>/paid-by-cooperative")
@staff_only
def paid_by_cooperative(lot_id):
    form = PaidByCooperativeForm(prefix="paid")
    if not form.validate_on_submit():
        flash(_("Enter the amount and the receipt or bank reference."), "error")
    elif attempt(funding.record_paid_by_cooperative, current_user.id, lot_id, form.amount.fen,
                 form.reference.data) is not None:
        flash(_("Recorded: the cooperative paid the household itself."), "info")
    return redirect(url_for("town.funding_page"))
