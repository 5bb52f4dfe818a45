"""After-sales claims on the cooperative's (or, for an agent, the village's direct-selling households') goods."""
from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.aftersales import metrics
from marketplace.aftersales import services as claims
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.orders.models import OrderLine
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import ClaimAnswerForm
from marketplace.web.coop.routes import flash_refusal


@bp.get("/claims")
@role_required("coop_manager", "agent")
def claims_page():
    found = claims.seller_claims(current_user.id)
    lines = {claim.id: db.session.get(OrderLine, claim.order_line_id) for claim in found}
    return render_template("coop/claims.html", claims=found, lines=lines, form=ClaimAnswerForm(formdata=None),
                           metrics=metrics.claim_metrics(claims.seller_ids_for(current_user.id), get_locale()))


@bp.post("/claims/<int:claim_id>/answer")
@role_required("coop_manager", "agent")
def answer_claim(claim_id):
    claims.claim_for_seller(current_user.id, claim_id)
    form = ClaimAnswerForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0] if form.errors else _("Choose how to answer the claim."), "error")
        return redirect(url_for("coop.claims_page"), 303)
    try:
        claims.respond(claim_id, current_user.id, form.action.data, offer_fen=form.offer.fen,
                       reason=form.reason.data or "")
    except DomainError as error:
        flash_refusal(error)
    else:
        flash({"accept": _("Claim accepted."), "offer": _("Offer sent to the buyer."),
               "reject": _("Claim rejected; the buyer may ask town staff to decide.")}[form.action.data], "info")
    return redirect(url_for("coop.claims_page"), 303)
