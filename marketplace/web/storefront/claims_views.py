"""The buyer's after-sales claims: opened on a delivered parcel's line, followed on the order page."""
from flask import abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.aftersales import services as claims
from marketplace.aftersales.models import ClaimPhoto
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.orders.checkout import order_for_buyer
from marketplace.orders.models import OrderLine
from marketplace.web.forms import Form
from marketplace.web.storefront import bp
from marketplace.web.storefront.forms import ClaimForm

MAX_UPLOAD = 5 * 1024 * 1024 + 1


def _line_of(order, order_line_id):
    line = db.session.get(OrderLine, order_line_id)
    if line is None or line.order_id != order.id:
        abort(404)
    return line


@bp.route("/orders/<public_no>/lines/<int:order_line_id>/claim", methods=["GET", "POST"])
@login_required
def open_claim(public_no, order_line_id):
    order = order_for_buyer(public_no, current_user.id)
    line = _line_of(order, order_line_id)
    form = ClaimForm()
    if form.validate_on_submit():
        photos = [upload.read(MAX_UPLOAD) for upload in request.files.getlist("photos") if upload and upload.filename]
        try:
            claims.open_claim(public_no, line.id, current_user.id, form.reason.data, form.quantity.data,
                              form.remedy.data, note=form.note.data or "", photos=photos,
                              refund_to=form.refund_to.data)
        except DomainError as error:
            if isinstance(error, NotFound):
                raise
            flash(str(error.message), "error")
        else:
            flash(_("Your claim is with the seller. You can follow it on this page."), "info")
            return redirect(url_for("storefront.order_detail", public_no=public_no, _anchor="claims"), 303)
    elif request.method == "POST":
        for errors in form.errors.values():
            flash(str(errors[0]), "error")
            break
    return render_template("storefront/claim_form.html", order=order, line=line, form=form,
                           claimable=claims.claimable_units(line), max_photos=claims.MAX_PHOTOS), \
        (422 if request.method == "POST" else 200)


@bp.post("/orders/<public_no>/claims/<int:claim_id>/offer")
@login_required
def answer_offer(public_no, claim_id):
    order_for_buyer(public_no, current_user.id)
    if Form().validate():
        accept = request.form.get("answer") == "accept"
        try:
            claims.answer_offer(public_no, claim_id, current_user.id, accept)
        except DomainError as error:
            if isinstance(error, NotFound):
                raise
            flash(str(error.message), "error")
        else:
            flash(_("Offer accepted: the refund is on its way to your original payment method.") if accept
                  else _("Offer declined: town staff will decide the claim."), "info")
    return redirect(url_for("storefront.order_detail", public_no=public_no, _anchor="claims"), 303)


@bp.post("/orders/<public_no>/claims/<int:claim_id>/appeal")
@login_required
def appeal_claim(public_no, claim_id):
    order_for_buyer(public_no, current_user.id)
    if Form().validate():
        try:
            claims.appeal(public_no, claim_id, current_user.id)
        except DomainError as error:
            if isinstance(error, NotFound):
                raise
            flash(str(error.message), "error")
        else:
            flash(_("Town staff will decide the claim."), "info")
    return redirect(url_for("storefront.order_detail", public_no=public_no, _anchor="claims"), 303)


@bp.get("/claims/<int:claim_id>/photos/<int:photo_id>")
@login_required
def claim_photo(claim_id, photo_id):
    """A claim's photo, for its buyer, its seller and staff of the seller's town only."""
    photo = db.session.get(ClaimPhoto, photo_id)
    if photo is None or photo.claim_id != claim_id:
        abort(404)
    try:
        claims.claim_visible_to(current_user.id, claim_id)
    except (NotFound, Forbidden):
        abort(404)
    name = photo.thumbnail_path if request.args.get("size") == "thumb" else photo.path
    return send_from_directory(current_app.config["UPLOAD_DIR"], name, max_age=0)
