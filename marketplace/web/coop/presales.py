"""Pre-sales (预售): the manager opens one, follows what buyers committed, and closes it when the
harvest falls short. Lots recorded under Lots fill the pre-orders by themselves (first in, first out)."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.errors import DomainError
from marketplace.local_time import day_bounds_utc
from marketplace.presales import pages
from marketplace.presales.harvest import close_short
from marketplace.presales.services import open_presale
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import ConfirmForm, PreSaleForm, SHORT_POLICY_LABELS, UNPAID_POLICY_LABELS
from marketplace.web.coop.routes import flash_refusal, show_refusal


@bp.context_processor
def presale_labels():
    return {"short_policy_labels": SHORT_POLICY_LABELS, "unpaid_policy_labels": UNPAID_POLICY_LABELS}


@bp.get("/presales")
@role_required("coop_manager")
def presales():
    return render_template("coop/presales.html", presales=pages.coop_presales(current_user.id))


@bp.route("/presales/new", methods=["GET", "POST"])
@role_required("coop_manager")
def new_presale():
    form = PreSaleForm()
    form.variant_id.choices = [(v.id, f"{v.product.title_zh} · {v.name_zh}") for v in pages.presale_variants(current_user.id)]
    status = 200
    if form.validate_on_submit():
        try:
            presale = open_presale(
                current_user.id, form.variant_id.data, form.expected_quantity.data, form.price.fen, form.deposit.fen,
                day_bounds_utc(form.orders_close_on.data)[1], form.ships_from.data, form.ships_until.data,
                short_policy=form.short_policy.data, unpaid_policy=form.unpaid_policy.data,
                balance_days=form.balance_days.data)
        except DomainError as error:
            status = show_refusal(error, form)
        else:
            flash(_("Pre-sale opened. Buyers see it on the product page."), "info")
            return redirect(url_for("coop.presale", presale_id=presale.id), 303)
    elif form.is_submitted():
        status = 422
    return render_template("coop/presale_form.html", form=form), status


@bp.get("/presales/<int:presale_id>")
@role_required("coop_manager")
def presale(presale_id):
    presale, preorders, figures = pages.presale_for_manager(current_user.id, presale_id)
    return render_template("coop/presale.html", presale=presale, preorders=preorders, figures=figures,
                           form=ConfirmForm(formdata=None))


@bp.post("/presales/<int:presale_id>/close")
@role_required("coop_manager")
def close_presale(presale_id):
    pages.presale_for_manager(current_user.id, presale_id)  # another cooperative's does not exist for them
    if ConfirmForm().validate():
        try:
            refunded = close_short(current_user.id, presale_id)
        except DomainError as error:
            flash_refusal(error)
        else:
            flash(_("Pre-sale closed. %(n)d pre-orders the harvest could not fill are refunded in full.",
                    n=len(refunded)), "info")
    return redirect(url_for("coop.presale", presale_id=presale_id), 303)
