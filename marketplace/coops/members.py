"""Member households of a cooperative and their shares (入股) by kind, with a kept history."""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.coops import scope
from marketplace.coops.models import SHARE_KINDS, Cooperative, Membership, ShareChange, ShareHolding
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.people.models import Household
from marketplace.places.models import Village
from marketplace.local_time import local_today

MAX_SHARES = Decimal("1000000")


def members(actor_id):
    """The cooperative's current members with their holdings, by household."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    return db.session.scalars(
        select(Membership).where(Membership.cooperative_id == cooperative_id, Membership.left_on.is_(None))
        .order_by(Membership.household_id)
    ).all()


def membership_for(actor_id, membership_id):
    cooperative_id = scope.managed_cooperative_id(actor_id)
    membership = db.session.get(Membership, membership_id) if membership_id is not None else None
    if membership is None or membership.cooperative_id != cooperative_id:
        raise NotFound(_("No such member."))
    return membership


def share_history(actor_id, membership_id):
    membership = membership_for(actor_id, membership_id)
    return db.session.scalars(select(ShareChange).where(ShareChange.membership_id == membership.id)
                              .order_by(ShareChange.changed_at.desc(), ShareChange.id.desc())).all()


def households_to_admit(actor_id):
    """Households of the cooperative's town that are not members yet."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    cooperative = db.session.get(Cooperative, cooperative_id)
    current = select(Membership.household_id).where(Membership.cooperative_id == cooperative_id)
    return db.session.scalars(
        select(Household).join(Village).where(Village.town_id == cooperative.town_id, Household.id.not_in(current))
        .order_by(Household.village_id, Household.id)
    ).all()


def admit_member(actor_id, household_id, joined_on=None):
    """Make a household of the cooperative's town a member."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    cooperative = db.session.get(Cooperative, cooperative_id)
    household = db.session.get(Household, household_id) if household_id is not None else None
    if household is None or household.village.town_id != cooperative.town_id:
        raise NotFound(_("No such household in this town."))
    if db.session.scalar(select(Membership).filter_by(cooperative_id=cooperative_id, household_id=household.id)):
        raise Conflict(_("That household is already a member."))
    membership = Membership(cooperative_id=cooperative_id, household_id=household.id, joined_on=joined_on or local_today())
    db.session.add(membership)
    db.session.flush()
    record("member.admitted", actor_id=actor_id, obj=membership, town_id=cooperative.town_id,
           household_id=household.id)
    db.session.commit()
    return membership


def parse_shares(text):
    """Shares as typed ("2.5"): a Decimal with at most three decimals, from 0 up to a million."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as error:
        raise DomainError(_("Enter a number of shares."), field="quantity") from error
    if not value.is_finite() or value < 0 or value > MAX_SHARES or value != value.quantize(Decimal("0.001")):
        raise DomainError(_("Enter a number of shares from 0 to 1,000,000 with at most three decimals."),
                          field="quantity")
    return value


def set_shares(actor_id, membership_id, kind, quantity, note=""):
    """Set a member's holding of one kind; the old and new quantity, who and when go to the history."""
    membership = membership_for(actor_id, membership_id)
    if kind not in SHARE_KINDS:
        raise DomainError(_("Choose a kind of share."), field="kind")
    quantity = parse_shares(quantity)
    if len(note or "") > 200:
        raise DomainError(_("That text is too long."), field="note")
    holding = db.session.scalar(select(ShareHolding).filter_by(membership_id=membership.id, kind=kind))
    old = holding.quantity if holding is not None else Decimal(0)
    if old == quantity:
        return holding
    if holding is None:
        holding = ShareHolding(membership_id=membership.id, kind=kind, quantity=quantity)
        db.session.add(holding)
    holding.quantity = quantity
    db.session.add(ShareChange(membership_id=membership.id, kind=kind, old_quantity=old, new_quantity=quantity,
                               changed_by_id=actor_id, note=note or ""))
    record("shares.changed", actor_id=actor_id, obj=membership, kind=kind, old=str(old), new=str(quantity))
    db.session.commit()
    return holding
