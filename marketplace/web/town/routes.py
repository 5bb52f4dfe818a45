"""The town e-commerce staff portal: shared helpers and the dashboard."""
from flask import abort, flash, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from marketplace.aftersales.metrics import claim_metrics
from marketplace.aftersales.services import town_seller_ids
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.funds.models import LoveFundGrant
from marketplace.ledger.balances import love_fund_summary
from marketplace.payouts.models import PayoutBatch
from marketplace.places.models import Town, Village
from marketplace.reconciliation.models import Discrepancy
from marketplace.web.access import role_required
from marketplace.web.town import bp

staff_only = role_required("town_staff")


def my_town_id():
    """The signed-in staff member's town; an admin without a town has no town portal."""
    if current_user.role != "town_staff" or current_user.town_id is None:
        abort(403)
    return current_user.town_id


def attempt(action, *args, **kwargs):
    """Run one service call; a refused rule becomes an error message and None."""
    try:
        return action(*args, **kwargs)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")  # the message id and its figures, in the reader's language
        return None


def town_villages(town_id):
    return db.session.scalars(select(Village).where(Village.town_id == town_id).order_by(Village.id)).all()


@bp.get("/")
@staff_only
def dashboard():
    town_id = my_town_id()
    waiting = db.session.scalar(select(func.count()).select_from(PayoutBatch)
                                .where(PayoutBatch.town_id == town_id, PayoutBatch.status == "draft"))
    proposals = db.session.scalar(select(func.count()).select_from(LoveFundGrant)
                                  .where(LoveFundGrant.town_id == town_id, LoveFundGrant.status == "proposed"))
    discrepancies = db.session.scalar(select(func.count()).select_from(Discrepancy)
                                      .where(Discrepancy.resolved_at.is_(None)))
    return render_template("town/dashboard.html", town=db.session.get(Town, town_id), waiting=waiting,
                           proposals=proposals, discrepancies=discrepancies, fund=love_fund_summary(town_id),
                           metrics=claim_metrics(town_seller_ids(town_id), get_locale()))
