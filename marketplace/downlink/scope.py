"""Who may act where in the downlink: an agent only at their service point, a supplier only on their own goods."""
from flask_babel import gettext as _
from marketplace.errors import Forbidden, NotFound
from marketplace.extensions import db
from marketplace.people.models import Household, User
from marketplace.places.models import ServicePoint


def acting_user(actor_id):
    user = db.session.get(User, actor_id) if actor_id is not None else None
    if user is None or not user.is_active_account:
        raise Forbidden(_("Please sign in again."))
    return user


def agent_point(actor_id):
    """The service point the agent `actor_id` works at; anyone else is refused."""
    user = acting_user(actor_id)
    if user.role != "agent" or user.service_point_id is None:
        raise Forbidden(_("Only a service-point agent can do this."))
    return db.session.get(ServicePoint, user.service_point_id)


def supplier_of(actor_id):
    """The supplier id the user `actor_id` works for; anyone else is refused."""
    user = acting_user(actor_id)
    if user.role != "supplier" or user.supplier_id is None:
        raise Forbidden(_("Only a supplier's staff can do this."))
    return user.supplier_id


def household_of_point(household_id, point):
    """A household of the service point's village; a household elsewhere is as good as unknown."""
    household = db.session.get(Household, household_id) if household_id is not None else None
    if household is None or household.village_id != point.village_id:
        raise NotFound(_("No such household in this village."))
    return household
