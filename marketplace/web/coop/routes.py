"""The dashboard, and the helpers every coop view shares."""

from flask import flash, render_template
from flask_babel import get_locale
from flask_login import current_user

from marketplace.aftersales.metrics import claim_metrics
from marketplace.aftersales.services import seller_ids_for as claim_sellers
from marketplace.coops import dashboard as dashboard_service
from marketplace.coops.scope import managed_cooperative_id
from marketplace.presales.pages import committed_demand
from marketplace.subscriptions.pages import subscription_demand
from marketplace.errors import Forbidden, NotFound
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import GRADE_LABELS, MECHANISM_LABELS, SHARE_KIND_LABELS, UNIT_LABELS



def show_refusal(error, form):
    """Put a service's refusal on the form field it names (or on the page); 404/403 are raised as such."""
    if isinstance(error, (NotFound, Forbidden)):
        raise error
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors") and isinstance(field.errors, list):
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)
    return error.status


def flash_refusal(error):
    """Flash a service's refusal; 404/403 are raised as such."""
    if isinstance(error, (NotFound, Forbidden)):
        raise error
    flash(error.message, "error")


@bp.context_processor
def coop_labels():
    return {"unit_labels": UNIT_LABELS, "grade_labels": GRADE_LABELS, "share_kind_labels": SHARE_KIND_LABELS,
            "mechanism_labels": MECHANISM_LABELS}


@bp.get("/")
@role_required("coop_manager")
def dashboard():
    return render_template("coop/dashboard.html", **dashboard_service.dashboard(current_user.id),
                           demand=committed_demand(managed_cooperative_id(current_user.id)),
                           subscription_demand=subscription_demand(managed_cooperative_id(current_user.id)),
                           metrics=claim_metrics(claim_sellers(current_user.id), get_locale()))
