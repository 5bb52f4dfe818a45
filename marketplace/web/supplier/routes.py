from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.documents import render_pdf
from marketplace.spreadsheets import xlsx_bytes
from marketplace.downlink import catalog, reports, runs
from marketplace.downlink.statement import owed_breakdown, supplier_statement
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.payouts.services import set_supplier_bank_account, supplier_payouts
from marketplace.people.models import Supplier
from marketplace.web.access import role_required
from marketplace.web.actions import confirmed_action
from marketplace.web.downlink.forms import ConfirmForm
from marketplace.web.supplier import bp
from marketplace.web.supplier.forms import AreaForm, BankAccountForm, ProductForm, VariantForm


@bp.before_request
@role_required("supplier")
def only_suppliers():
    if current_user.supplier_id is None:
        abort(403)


@bp.get("/")
def dashboard():
    owed_fen = reports.supplier_owed(current_user.id)
    return render_template("supplier/dashboard.html", owed_fen=owed_fen,
                           breakdown=owed_breakdown(current_user.id, owed_fen),
                           payouts=supplier_payouts(current_user.id),
                           runs=runs.supplier_runs(current_user.id, limit=20),
                           waiting=runs.waiting_for_a_run(current_user.id), form=ConfirmForm())


@bp.get("/statement")
def statement():
    agreed_rate, orders = supplier_statement(current_user.id)
    return render_template("supplier/statement.html", agreed_rate=agreed_rate, orders=orders,
                           owed_fen=reports.supplier_owed(current_user.id))


@bp.post("/runs/consolidate")
def consolidate():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    made = runs.consolidate_for_supplier(current_user.id)
    if made:
        flash(_("%(count)s delivery run(s) made from the orders ready to go.", count=len(made)), "info")
    else:
        flash(_("No orders are waiting for a delivery run."), "info")
    return redirect(url_for("supplier.dashboard"))


@bp.get("/runs/<int:run_id>")
def run_detail(run_id):
    run = runs.supplier_run(current_user.id, run_id)
    return render_template("supplier/run_detail.html", run=run, rows=runs.pick_list(run),
                           orders=runs.run_orders(run.id), form=ConfirmForm())


@bp.post("/runs/<int:run_id>/dispatch")
def dispatch(run_id):
    return confirmed_action(lambda: runs.dispatch_run(current_user.id, run_id),
                            _("Dispatched: the service point has been told the goods are on their way."),
                            url_for("supplier.run_detail", run_id=run_id))


@bp.get("/runs/<int:run_id>/pick-list.pdf")
def pick_list_pdf(run_id):
    run = runs.supplier_run(current_user.id, run_id)
    pdf = render_pdf("supplier/pick_list_pdf.html", run=run, rows=runs.pick_list(run), orders=runs.run_orders(run.id))
    return pdf, 200, {"Content-Type": "application/pdf",
                      "Content-Disposition": f'attachment; filename="pick-list-{run.run_no}.pdf"'}


@bp.get("/runs/<int:run_id>/pick-list.xlsx")
def pick_list_xlsx(run_id):
    run = runs.supplier_run(current_user.id, run_id)
    rows = [(row["title_zh"], row["title_en"], row["unit"], row["quantity"], row["amount_fen"] / 100)
            for row in runs.pick_list(run)]
    body = xlsx_bytes(run.run_no, ["商品 Goods", "Goods (EN)", "单位 Unit", "数量 Quantity", "金额 Amount (CNY)"], rows)
    return body, 200, {
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f'attachment; filename="pick-list-{run.run_no}.xlsx"',
    }


@bp.route("/products", methods=["GET", "POST"])
def products():
    form = ProductForm()
    form.category_id.choices = [(c.id, c.name("en" if _is_english() else "zh")) for c in catalog.downlink_categories()]
    status = 200
    if form.validate_on_submit():
        try:
            catalog.create_product(
                current_user.id, form.category_id.data, form.title_zh.data.strip(), form.title_en.data.strip(),
                form.variant_name_zh.data.strip(), form.variant_name_en.data.strip(), form.unit.data,
                form.price.fen, form.stock.data, story_zh=form.story_zh.data or "",
                story_en=form.story_en.data or "")
        except DomainError as error:
            flash(error.message, "error")
            status = error.status
        else:
            flash(_("Listed. Villages in your delivery areas can order it now."), "info")
            return redirect(url_for("supplier.products"))
    elif request.method == "POST":
        status = 422
    return render_template("supplier/products.html", form=form,
                           products=catalog.supplier_products(current_user.id)), status


@bp.post("/variants/<int:variant_id>")
def update_variant(variant_id):
    form = VariantForm()
    if not form.validate_on_submit():
        flash(_("Enter a price in yuan and a stock from 0 to 1,000,000."), "error")
        return redirect(url_for("supplier.products"))
    try:
        catalog.update_variant(current_user.id, variant_id, form.price.fen, form.stock.data,
                               is_active=form.is_active.data)
        flash(_("Saved."), "info")
    except (NotFound, Forbidden):
        raise  # someone else's: as if it did not exist
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("supplier.products"))


def _is_english():
    return str(get_locale()).startswith("en")


def _place_choices():
    locale = "en" if _is_english() else "zh"
    choices = []
    for town in catalog.towns_with_villages():
        choices.append((f"town-{town.id}", _("All of %(town)s", town=town.name(locale))))
        choices.extend((f"village-{v.id}", f"{town.name(locale)} · {v.name(locale)}") for v in town.villages)
    return choices


@bp.route("/areas", methods=["GET", "POST"])
def areas():
    form = AreaForm()
    form.place.choices = _place_choices()
    if form.validate_on_submit():
        kind, _dash, place_id = form.place.data.partition("-")
        try:
            catalog.add_delivery_area(current_user.id, town_id=int(place_id) if kind == "town" else None,
                                      village_id=int(place_id) if kind == "village" else None)
            flash(_("Added to your delivery areas."), "info")
        except (NotFound, Forbidden):
            raise  # someone else's: as if it did not exist
        except DomainError as error:
            flash(error.message, "error")
        return redirect(url_for("supplier.areas"))
    return render_template("supplier/areas.html", form=form, areas=catalog.delivery_areas(current_user.id),
                           remove_form=ConfirmForm())


@bp.post("/areas/<int:area_id>/remove")
def remove_area(area_id):
    return confirmed_action(lambda: catalog.remove_delivery_area(current_user.id, area_id),
                            _("Removed from your delivery areas."), url_for("supplier.areas"))


@bp.route("/bank-account", methods=["GET", "POST"])
def bank_account():
    supplier = db.session.get(Supplier, current_user.supplier_id)
    form = BankAccountForm(bank_name=supplier.bank_name)
    status = 200
    if form.validate_on_submit():
        try:
            set_supplier_bank_account(current_user.id, form.bank_name.data, form.account.data)
        except DomainError as error:
            flash(error.message, "error")
            status = error.status
        else:
            flash(_("Saved: the town's next payout batch pays this account."), "info")
            return redirect(url_for("supplier.dashboard"))
    elif request.method == "POST":
        status = 422
    return render_template("supplier/bank_account.html", form=form, supplier=supplier), status
