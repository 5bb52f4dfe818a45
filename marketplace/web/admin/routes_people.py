"""Accounts and invitations (admin), and households' verification, consent and export (admin and town staff)."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from marketplace.coops.models import Cooperative
from marketplace.spreadsheets import xlsx_bytes
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.organisations.models import Organisation
from marketplace.people import directory, households, invitations
from marketplace.people.models import ROLES, Invitation, Supplier, User
from marketplace.places.models import ServicePoint, Town
from marketplace.web.access import role_required
from marketplace.web.admin import bp
from marketplace.web.admin.forms import ROLE_LABELS, ConsentForm, InviteForm, StatusForm
from marketplace.web.admin.routes import paginate, place_choices


@bp.get("/users")
@role_required("admin")
def users():
    query = directory.search_users(request.args.get("q", ""), request.args.get("role", ""))
    pending = db.session.scalars(select(Invitation).where(Invitation.accepted_at.is_(None))
                                 .order_by(Invitation.id.desc()).limit(20)).all()
    return render_template("admin/users.html", pagination=paginate(query), roles=ROLES, pending=pending,
                           role_labels=ROLE_LABELS)


@bp.get("/users/<int:user_id>")
@role_required("admin")
def user(user_id):
    person = db.session.get(User, user_id) or abort(404)
    return render_template("admin/user.html", person=person, role_labels=ROLE_LABELS)


@bp.post("/users/<int:user_id>/active")
@role_required("admin")
def set_user_active(user_id):
    active = request.form.get("active") == "1"
    try:
        directory.set_user_active(user_id, active, current_user.id)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("admin.user", user_id=user_id)), 303
    flash(_("Account reactivated.") if active else _("Account deactivated; every session of it has ended."), "info")
    return redirect(url_for("admin.user", user_id=user_id)), 303


@bp.route("/invitations/new", methods=["GET", "POST"])
@role_required("admin")
def invite():
    form = InviteForm()
    form.town_id.choices = place_choices(Town, optional=True)
    form.cooperative_id.choices = place_choices(Cooperative, optional=True)
    form.service_point_id.choices = place_choices(ServicePoint, optional=True)
    form.supplier_id.choices = place_choices(Supplier, optional=True)
    form.organisation_id.choices = [(0, _("— none —"))] + [
        (row.id, row.name) for row in db.session.scalars(select(Organisation).order_by(Organisation.id))]
    if form.validate_on_submit():
        scope_field = invitations.SCOPE_OF_ROLE.get(form.role.data, (None,))[0]
        scope_id = form[scope_field].data or None if scope_field else None
        try:
            invitations.invite(form.email.data, form.name.data, form.role.data, current_user.id, scope_id=scope_id)
        except DomainError as error:
            flash(error.message, "error")
            return render_template("admin/invite.html", form=form), error.status
        flash(_("Invitation sent to %(email)s.", email=form.email.data), "info")
        return redirect(url_for("admin.users"))
    return render_template("admin/invite.html", form=form)


@bp.get("/households")
@role_required("town_staff")
def households_list():
    query = households.search_households(current_user.id, request.args.get("q", ""))
    return render_template("admin/households.html", pagination=paginate(query))


@bp.get("/households/<int:household_id>")
@role_required("town_staff")
def household(household_id):
    found = households.get_household(household_id, current_user.id)
    return render_template("admin/household.html", household=found, history=households.status_history(found.id),
                           verify_form=StatusForm(prefix="verify"),
                           consent_form=ConsentForm(prefix="consent", label_zh=found.display_label_zh,
                                                    label_en=found.display_label_en))


@bp.post("/households/<int:household_id>/verification")
@role_required("town_staff")
def set_verification(household_id):
    form = StatusForm(prefix="verify")
    if not form.validate_on_submit():
        flash(_("Say on what evidence (a document, a signed form, a meeting record)."), "error")
    else:
        try:
            households.set_verification(household_id, request.form.get("value") == "1", form.evidence.data,
                                        current_user.id)
            flash(_("Verification recorded."), "info")
        except DomainError as error:
            flash(error.message, "error")
    return redirect(url_for("admin.household", household_id=household_id)), 303


@bp.post("/households/<int:household_id>/consent")
@role_required("town_staff")
def set_consent(household_id):
    form = ConsentForm(prefix="consent")
    if not form.validate_on_submit():
        flash(_("Say on what evidence (a document, a signed form, a meeting record)."), "error")
    else:
        try:
            households.set_consent(household_id, request.form.get("value") == "1", form.evidence.data,
                                   current_user.id, label_zh=form.label_zh.data, label_en=form.label_en.data)
            flash(_("Consent recorded."), "info")
        except DomainError as error:
            flash(error.message, "error")
    return redirect(url_for("admin.household", household_id=household_id)), 303


@bp.get("/households/export.xlsx")
@role_required("town_staff")
def export_households():
    headers, rows = households.export_households(current_user.town_id, current_user.id)
    return xlsx_bytes("households", headers, rows), 200, {
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": "attachment; filename=households.xlsx",
        "Cache-Control": "no-store",
    }
