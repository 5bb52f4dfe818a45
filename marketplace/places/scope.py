"""Town scope: town staff act only on their own town's households, batches and reports."""
from sqlalchemy import select

from marketplace.errors import Forbidden, NotFound
from marketplace.extensions import db
from marketplace.people.models import Household, User
from marketplace.places.models import Village


def staff_town_id(actor_id):
    """The town the acting staff member works for; Forbidden for anyone else."""
    actor = db.session.get(User, actor_id)
    if actor is None or actor.role != "town_staff" or actor.town_id is None or not actor.is_active_account:
        raise Forbidden("Only the town's e-commerce staff may do this.")
    return actor.town_id


def household_in_town(household_id, town_id):
    """The household, if it lives in `town_id`; NotFound otherwise (never reveal another town's)."""
    household = db.session.scalar(
        select(Household).join(Village).where(Household.id == household_id, Village.town_id == town_id))
    if household is None:
        raise NotFound("No such household in your town.")
    return household


def village_in_town(village_id, town_id):
    village = db.session.get(Village, village_id)
    if village is None or village.town_id != town_id:
        raise NotFound("No such village in your town.")
    return village
