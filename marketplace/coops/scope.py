"""Who may touch what in the cooperative portal.

A cooperative manager acts only for the cooperative on their account; a village agent (代办)
only for the households of their service point's village. Anything outside the actor's scope
is answered as if it did not exist (NotFound), so ids of other cooperatives reveal nothing.
"""
from sqlalchemy import select

from flask_babel import lazy_gettext as _

from marketplace.catalog.models import Product, Seller
from marketplace.errors import Forbidden, NotFound
from marketplace.extensions import db
from marketplace.people.models import Household, User
from marketplace.places.models import ServicePoint


def acting_user(actor_id):
    user = db.session.get(User, actor_id) if actor_id is not None else None
    if user is None or not user.is_active_account:
        raise Forbidden(_("Please sign in again."))
    return user


def managed_cooperative_id(actor_id):
    """The cooperative the actor manages; Forbidden for anyone who is not a cooperative manager."""
    user = acting_user(actor_id)
    if user.role != "coop_manager" or user.cooperative_id is None:
        raise Forbidden(_("Only a cooperative manager may do this."))
    return user.cooperative_id


def agent_village_id(actor_id):
    """The village of the agent's service point; Forbidden for anyone who is not a village agent."""
    user = acting_user(actor_id)
    if user.role != "agent" or user.service_point_id is None:
        raise Forbidden(_("Only a village agent may do this."))
    return db.session.get(ServicePoint, user.service_point_id).village_id


def household_for_agent(actor_id, household_id):
    """A household of the agent's own village, or NotFound."""
    village_id = agent_village_id(actor_id)
    household = db.session.get(Household, household_id) if household_id is not None else None
    if household is None or household.village_id != village_id:
        raise NotFound(_("No such household in your village."))
    return household


def village_households(actor_id):
    village_id = agent_village_id(actor_id)
    return db.session.scalars(select(Household).where(Household.village_id == village_id)
                              .order_by(Household.id)).all()


def cooperative_seller_id(cooperative_id):
    """The seller row of a cooperative, created on first use."""
    seller = db.session.scalar(select(Seller).where(Seller.cooperative_id == cooperative_id))
    if seller is None:
        seller = Seller(kind="cooperative", cooperative_id=cooperative_id)
        db.session.add(seller)
        db.session.flush()
    return seller.id


def household_seller_id(household_id):
    seller = db.session.scalar(select(Seller).where(Seller.household_id == household_id))
    if seller is None:
        seller = Seller(kind="household", household_id=household_id)
        db.session.add(seller)
        db.session.flush()
    return seller.id


def can_manage_product(user, product):
    seller = product.seller
    if user.role == "coop_manager":
        return seller.kind == "cooperative" and seller.cooperative_id == user.cooperative_id
    if user.role == "agent" and seller.kind == "household":
        point = db.session.get(ServicePoint, user.service_point_id)
        return point is not None and seller.household.village_id == point.village_id
    return False


def product_for(actor_id, product_id):
    """A product the actor may manage (their cooperative's, or a direct listing of their village), or NotFound."""
    user = acting_user(actor_id)
    product = db.session.get(Product, product_id) if product_id is not None else None
    if product is None or not can_manage_product(user, product):
        raise NotFound(_("No such product."))
    return product


def cooperative_product(cooperative_id, product_id):
    """A product sold by this cooperative, or NotFound."""
    product = db.session.get(Product, product_id) if product_id is not None else None
    if product is None or product.seller.kind != "cooperative" or product.seller.cooperative_id != cooperative_id:
        raise NotFound(_("No such product in this cooperative."))
    return product
