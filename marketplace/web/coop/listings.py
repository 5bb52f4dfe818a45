from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from marketplace.catalog import listings
from marketplace.catalog.models import Category, Variant
from marketplace.catalog.photos import MAX_PHOTO_BYTES
from marketplace.coops import scope
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import NewProductForm, PhotoForm, ProductForm, StatusForm, VariantForm
from marketplace.web.coop.routes import flash_refusal, show_refusal
from marketplace.web.security.fields import whole_number_or_none

KEEPERS = ("coop_manager", "agent")  # agents keep the direct listings of their village's households


def category_choices():
    return [(c.id, f"{c.name_zh} {c.name_en}") for c in db.session.scalars(select(Category).order_by(Category.id))]


@bp.get("/products")
@role_required(*KEEPERS)
def products():
    return render_template("coop/products.html", products=listings.listed_products(current_user.id))


@bp.route("/products/new", methods=["GET", "POST"])
@role_required("coop_manager")
def new_product():
    scope.managed_cooperative_id(current_user.id)
    form = NewProductForm()
    form.category_id.choices = category_choices()
    status = 200
    if form.validate_on_submit():
        try:
            product = listings.create_product(current_user.id, form.values(), floor_price_fen=form.floor_price.fen,
                                              lot_unit=form.lot_unit.data)
        except DomainError as error:
            status = show_refusal(error, form)
        else:
            flash(_("Draft saved. Add a variant with its price and stock, and a photo; then put it on sale."), "info")
            return redirect(url_for("coop.edit_product", product_id=product.id))
    elif form.is_submitted():
        status = 422
    return render_template("coop/product_form.html", form=form, product=None), status


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@role_required(*KEEPERS)
def edit_product(product_id):
    product = scope.product_for(current_user.id, product_id)
    form = ProductForm(obj=product)
    form.category_id.choices = category_choices()
    status = 200
    if form.validate_on_submit():
        try:
            listings.update_product(current_user.id, product_id, form.values())
        except DomainError as error:
            status = show_refusal(error, form)
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("coop.edit_product", product_id=product_id))
    elif form.is_submitted():
        status = 422
    return render_template("coop/product_form.html", form=form, product=product, photo_form=PhotoForm(),
                           status_form=StatusForm(), missing=listings.missing_for_sale(product)), status


@bp.post("/products/<int:product_id>/status")
@role_required(*KEEPERS)
def product_status(product_id):
    form = StatusForm()
    if not form.validate_on_submit():
        return redirect(url_for("coop.edit_product", product_id=product_id))
    try:
        listings.set_product_status(current_user.id, product_id, form.status.data)
    except DomainError as error:
        flash_refusal(error)
    else:
        flash(_("Status changed."), "info")
    return redirect(url_for("coop.edit_product", product_id=product_id)), 303


@bp.post("/products/<int:product_id>/photos")
@role_required(*KEEPERS)
def add_photo(product_id):
    scope.product_for(current_user.id, product_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        flash(_("Choose a photo to upload."), "error")
        return redirect(url_for("coop.edit_product", product_id=product_id)), 303
    try:
        # One byte more than allowed is enough to see that a file is too large.
        listings.add_product_photo(current_user.id, product_id, form.photo.data.read(MAX_PHOTO_BYTES + 1))
    except DomainError as error:
        flash_refusal(error)
    else:
        flash(_("Photo added."), "info")
    return redirect(url_for("coop.edit_product", product_id=product_id)), 303


@bp.get("/products/<int:product_id>/preview")
@role_required(*KEEPERS)
def preview_product(product_id):
    product = scope.product_for(current_user.id, product_id)
    return render_template("coop/preview.html", product=product)


@bp.route("/products/<int:product_id>/variants/new", methods=["GET", "POST"])
@role_required(*KEEPERS)
def new_variant(product_id):
    product = scope.product_for(current_user.id, product_id)
    form = VariantForm()
    status = 200
    if form.validate_on_submit():
        try:
            listings.create_variant(current_user.id, product_id, form.values())
        except DomainError as error:
            status = show_refusal(error, form)
        else:
            flash(_("Variant added."), "info")
            return redirect(url_for("coop.edit_product", product_id=product_id))
    elif form.is_submitted():
        status = 422
    return render_template("coop/variant_form.html", form=form, product=product, variant=None), status


@bp.route("/variants/<int:variant_id>", methods=["GET", "POST"])
@role_required(*KEEPERS)
def edit_variant(variant_id):
    variant = listings.variant_for(current_user.id, variant_id)
    form = VariantForm(obj=variant)
    status = 200
    if not form.is_submitted():
        form.price.data = f"{variant.price_fen / 100:.2f}"
        form.stock_seen.data = str(variant.stock_available)
    if form.validate_on_submit():
        # The stock the form showed; anything unreadable never matches, so the stock is not overwritten.
        seen = whole_number_or_none(form.stock_seen.data or "", Variant.stock_available)
        seen = -1 if seen is None else seen
        try:
            listings.update_variant(current_user.id, variant_id, form.values(), stock_seen=seen)
        except DomainError as error:
            status = show_refusal(error, form)
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("coop.edit_product", product_id=variant.product_id))
    elif form.is_submitted():
        status = 422
    return render_template("coop/variant_form.html", form=form, product=variant.product, variant=variant), status


@bp.post("/variants/<int:variant_id>/status")
@role_required(*KEEPERS)
def variant_status(variant_id):
    form = StatusForm()
    variant = listings.variant_for(current_user.id, variant_id)
    if form.validate_on_submit():
        listings.set_variant_active(current_user.id, variant_id, form.status.data == "active")
        flash(_("Status changed."), "info")
    return redirect(url_for("coop.edit_product", product_id=variant.product_id))
