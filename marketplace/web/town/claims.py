"""Town staff arbitrate escalated after-sales claims of their town's sellers and see the town's figures."""
from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.aftersales import metrics
from marketplace.aftersales import services as claims
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.orders.models import OrderLine
from marketplace.web.access import role_required
from marketplace.web.town import bp
from marketplace.web.town.forms import ClaimDecisionForm

staff_only = role_required("town_staff")


@bp.get("/claims")
@staff_only
def claims_page():
    found = claims.town_claims(current_user.id)
    lines = {claim.id: db.session.get(OrderLine, claim.order_line_id) for claim in found}
    return render_template("town/claims.html", claims=found, lines=lines, form=ClaimDecisionForm(formdata=None),
                           metrics=metrics.claim_metrics(claims.town_seller_ids(current_user.town_id), get_locale()))


@bp.post("/claims/<int:claim_id>/decide")
@staff_only
def decide_claim(claim_id):
    claims.claim_for_staff(current_user.id, claim_id)
    form = ClaimDecisionForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0] if form.errors else _("Give the reason for the decision."), "error")
        return redirect(url_for("town.claims_page"), 303)
    try:
        percents = claims.parse_percents(form.seller_percent.data, form.carrier_percent.data,
                                         form.platform_percent.data)
        claims.decide(claim_id, current_user.id, form.refund.fen or 0, percents, form.reason.data,
                      refund_to=form.refund_to.data)
    except (NotFound, Forbidden):
        raise
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        flash(_("Decided. The buyer sees the decision on the order."), "info")
    return redirect(url_for("town.claims_page"), 303)
