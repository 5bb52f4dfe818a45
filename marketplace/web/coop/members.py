from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.coops import members as member_service
from marketplace.coops.rules import current_rule
from marketplace.errors import DomainError
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import AdmitForm, SharesForm
from marketplace.web.coop.routes import show_refusal


def admit_form():
    form = AdmitForm()
    form.household_id.choices = [(h.id, f"{h.head_name} · {h.village.name_zh}")
                                 for h in member_service.households_to_admit(current_user.id)]
    return form


@bp.get("/members")
@role_required("coop_manager")
def members():
    return render_template("coop/members.html", members=member_service.members(current_user.id),
                           rule=current_rule(current_user.id), form=admit_form())


@bp.post("/members")
@role_required("coop_manager")
def admit_member():
    form = admit_form()
    if form.validate_on_submit():
        try:
            membership = member_service.admit_member(current_user.id, form.household_id.data)
        except DomainError as error:
            show_refusal(error, form)
        else:
            flash(_("Member admitted. Now record their shares."), "info")
            return redirect(url_for("coop.member", membership_id=membership.id), 303)
    return render_template("coop/members.html", members=member_service.members(current_user.id),
                           rule=current_rule(current_user.id), form=form), 422


@bp.route("/members/<int:membership_id>", methods=["GET", "POST"])
@role_required("coop_manager")
def member(membership_id):
    membership = member_service.membership_for(current_user.id, membership_id)
    form = SharesForm()
    status = 200
    if form.validate_on_submit():
        try:
            member_service.set_shares(current_user.id, membership_id, form.kind.data, form.quantity.data, form.note.data)
        except DomainError as error:
            status = show_refusal(error, form)
        else:
            flash(_("Shares saved."), "info")
            return redirect(url_for("coop.member", membership_id=membership_id), 303)
    elif form.is_submitted():
        status = 422
    return render_template("coop/member.html", membership=membership, form=form,
                           history=member_service.share_history(current_user.id, membership_id)), status
