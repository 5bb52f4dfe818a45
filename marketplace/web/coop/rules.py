from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.catalog import listings
from marketplace.coops import rules as rule_service
from marketplace.coops import scope
from marketplace.coops.models import SHARE_KINDS
from marketplace.errors import DomainError
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import FloorPriceForm, RuleForm
from marketplace.web.coop.routes import show_refusal


def plain(number):
    """A Decimal as a person writes it: 30.0000 → "30", 0.800 → "0.8"."""
    return format(number.normalize(), "f")


def rule_form():
    form = RuleForm()
    rule = rule_service.current_rule(current_user.id)
    if not form.is_submitted() and rule is not None:
        form.profit_return_percent.data = plain(rule.profit_return_rate * 100)
        form.dividend_percent.data = plain(rule.dividend_rate * 100)
        form.period.data = rule.period
        for kind in SHARE_KINDS:
            getattr(form, f"weight_{kind}").data = plain(rule.weight_of(kind))
    return form


def render_rules(form, status=200):
    return render_template(
        "coop/rules.html", form=form, rules=rule_service.rule_history(current_user.id),
        floor_history=rule_service.floor_price_history(current_user.id),
        products=[p for p in listings.listed_products(current_user.id) if p.status != "archived"],
        floor_form=FloorPriceForm(formdata=None)), status


@bp.get("/rules")
@role_required("coop_manager")
def rules():
    return render_rules(rule_form())


@bp.post("/rules")
@role_required("coop_manager")
def change_rules():
    form = rule_form()
    if not form.validate_on_submit():
        return render_rules(form, 422)
    try:
        rule_service.change_sharing_rule(
            current_user.id, form.profit_return_percent.rate, form.dividend_percent.rate, form.period.data,
            form.weights(), form.note.data)
    except DomainError as error:
        return render_rules(form, show_refusal(error, form))
    flash(_("New sharing rules saved. They apply to sales from now on."), "info")
    return redirect(url_for("coop.rules"), 303)


@bp.post("/products/<int:product_id>/floor-price")
@role_required("coop_manager")
def change_floor_price(product_id):
    scope.cooperative_product(scope.managed_cooperative_id(current_user.id), product_id)
    form = FloorPriceForm()
    if form.validate_on_submit():
        try:
            rule_service.change_floor_price(current_user.id, product_id, form.floor_price.fen, form.note.data)
        except DomainError as error:
            flash_refusal(error)
        else:
            flash(_("Floor price changed. It applies to lots recorded from now on."), "info")
    else:
        flash(_("Enter an amount in yuan, like 12.50."), "error")
    return redirect(url_for("coop.rules"), 303)
