import secrets

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.coops import scope, services
from marketplace.errors import DomainError
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import LotForm
from marketplace.web.coop.routes import show_refusal


def lot_form_for(households, products):
    """A lot form offering these households and products; a fresh idempotency token on first show."""
    form = LotForm()
    form.household_id.choices = [(h.id, f"{h.head_name} · {h.village.name_zh}") for h in households]
    form.product_id.choices = [(p.id, p.title_zh) for p in products]
    form.variant_id.choices = [(0, _("Not now"))] + [
        (v.id, f"{p.title_zh} · {v.name_zh}") for p in products for v in p.variants if v.is_active]
    if not form.is_submitted():
        form.token.data = secrets.token_urlsafe(24)
    return form


def submit_lot(form, cooperative_id):
    """Record the lot of a validated form; returns the refusal status or None."""
    try:
        services.record_supply_lot(
            cooperative_id=cooperative_id, product_id=form.product_id.data, household_id=form.household_id.data,
            quantity=form.quantity.data, idempotency_token=form.token.data, received_on=form.received_on.data,
            grade=form.grade.data, actor_id=current_user.id, variant_id=form.variant_id.data or None)
    except DomainError as error:
        return show_refusal(error, form)
    return None


@bp.get("/lots")
@role_required("coop_manager")
def lots():
    return render_template("coop/lots.html", lots=services.cooperative_lots(current_user.id))


@bp.route("/lots/new", methods=["GET", "POST"])
@role_required("coop_manager")
def new_lot():
    cooperative_id = scope.managed_cooperative_id(current_user.id)
    form = lot_form_for(*services.lot_choices(cooperative_id))
    status = 200
    if form.validate_on_submit():
        status = submit_lot(form, cooperative_id)
        if status is None:
            flash(_("Lot recorded and the floor price credited to the household."), "info")
            return redirect(url_for("coop.lots"), 303)
    elif form.is_submitted():
        status = 422
    return render_template("coop/lot_form.html", form=form, action=url_for("coop.new_lot")), status
