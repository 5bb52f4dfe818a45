"""The town's love fund: donations recorded by staff, aid proposed and approved by two people."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.extensions import db
from marketplace.funds import services as love_fund
from marketplace.ledger.balances import love_fund_summary
from marketplace.people.models import Household, User
from marketplace.statements.services import town_households
from marketplace.web.town import bp
from marketplace.web.town.forms import DonationForm, GrantForm
from marketplace.web.town.routes import attempt, my_town_id, staff_only


def _forms(town_id):
    grant_form = GrantForm(prefix="grant")
    grant_form.household_id.choices = [
        (row.household.id, f"{row.household.village.name_zh} · {row.household.head_name}")
        for row in town_households(town_id)]
    return DonationForm(prefix="donation"), grant_form


def _page(town_id, donation_form, grant_form, status=200):
    grants = love_fund.town_grants(town_id)
    households = {g.household_id: db.session.get(Household, g.household_id) for g in grants}
    people = {u.id: u.name for u in db.session.scalars(db.select(User).where(User.town_id == town_id))}
    return render_template("town/love_fund.html", fund=love_fund_summary(town_id), grants=grants,
                           households=households, people=people, donation_form=donation_form,
                           grant_form=grant_form), status


@bp.get("/love-fund")
@staff_only
def love_fund_page():
    town_id = my_town_id()
    return _page(town_id, *_forms(town_id))


@bp.post("/love-fund/donations")
@staff_only
def record_donation():
    town_id = my_town_id()
    donation_form, grant_form = _forms(town_id)
    if not donation_form.validate_on_submit():
        return _page(town_id, donation_form, grant_form, 422)
    if attempt(love_fund.record_donation, current_user.id, donation_form.source.data, donation_form.amount.fen,
               donation_form.reference.data) is not None:
        flash(_("Donation recorded."), "info")
    return redirect(url_for("town.love_fund_page"))


@bp.post("/love-fund/grants")
@staff_only
def propose_grant():
    town_id = my_town_id()
    donation_form, grant_form = _forms(town_id)
    if not grant_form.validate_on_submit():
        return _page(town_id, donation_form, grant_form, 422)
    if attempt(love_fund.propose_grant, current_user.id, grant_form.household_id.data, grant_form.purpose.data,
               grant_form.amount.fen, grant_form.note.data) is not None:
        flash(_("Aid proposed. Another staff member must approve it."), "info")
    return redirect(url_for("town.love_fund_page"))


@bp.post("/love-fund/grants/<int:grant_id>/approve")
@staff_only
def approve_grant(grant_id):
    if attempt(love_fund.approve_grant, current_user.id, grant_id) is not None:
        flash(_("Aid approved and credited to the household."), "info")
    return redirect(url_for("town.love_fund_page"))


@bp.post("/love-fund/grants/<int:grant_id>/reject")
@staff_only
def reject_grant(grant_id):
    if attempt(love_fund.reject_grant, current_user.id, grant_id) is not None:
        flash(_("Aid proposal rejected."), "info")
    return redirect(url_for("town.love_fund_page"))
