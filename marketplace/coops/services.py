"""Cooperative work: supply lot intake (保底收购) and the rules that go with it."""
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from marketplace.audit.services import record
from marketplace.catalog.listings import add_stock
from marketplace.catalog.models import Product, SupplyLot, Variant
from marketplace.coops import scope
from marketplace.coops.models import Cooperative, Membership
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.attribution import post_floor_purchase
from marketplace.places.scope import staff_town_id
from marketplace.local_time import local_today

GRADES = ("特级", "一级", "二级", "三级")
# Refused outright: no household delivers a million units at once.
MAX_LOT_QUANTITY = 1_000_000


def _check_lot_scope(actor_id, cooperative_id, household_id):
    """Managers record for their own cooperative; agents (代办) for households of their village.

    Returns whether the lot is recorded on the household's behalf. `actor_id=None` is the
    system itself (the demo seed and commands), never a web request.
    """
    if actor_id is None:
        return False
    user = scope.acting_user(actor_id)
    if user.role == "agent":
        scope.household_for_agent(actor_id, household_id)
        return True
    if scope.managed_cooperative_id(actor_id) != cooperative_id:
        raise NotFound(_("No such cooperative."))
    return False


def _existing_lot(idempotency_token, cooperative_id):
    lot = db.session.scalar(select(SupplyLot).where(SupplyLot.idempotency_token == idempotency_token))
    if lot is not None and lot.cooperative_id != cooperative_id:
        raise Conflict(_("This form was already used. Please open a fresh one."))
    return lot


def needs_town_confirmation(household_id, quantity, received_on):
    """Whether a lot is above the intake ceilings: more than LOT_CONFIRM_ABOVE_UNITS in one lot, or
    more than LOT_SEASON_UNITS_PER_HOUSEHOLD from one household in the season (its calendar year)."""
    config = current_app.config
    season = db.session.scalar(select(func.coalesce(func.sum(SupplyLot.quantity), 0)).where(
        SupplyLot.household_id == household_id,
        SupplyLot.received_on >= date(received_on.year, 1, 1), SupplyLot.received_on <= date(received_on.year, 12, 31)))
    return quantity > config["LOT_CONFIRM_ABOVE_UNITS"] or season + quantity > config["LOT_SEASON_UNITS_PER_HOUSEHOLD"]


def record_supply_lot(cooperative_id, product_id, household_id, quantity, idempotency_token,
                      received_on=None, grade="", actor_id=None, on_behalf=False, variant_id=None):
    """Record that a member household delivered `quantity` lot units, and credit its floor price.

    A lot above the intake ceilings (`needs_town_confirmation`) is recorded unconfirmed: its floor
    money is not owed, its units are not sold from it and no stock is added until town staff
    confirm it (`confirm_lot`), so a mistyped or invented quantity costs nobody anything.

    Safe to submit twice: the same `idempotency_token` returns the lot already recorded (also
    when two submits race: the unique token lets one insert win). The lot snapshots the
    product's floor price of today, so a later floor change never reaches it. With `variant_id`
    the delivered goods are also put on sale: whole variant units (quantity ÷ its lot units)
    are added to that variant's stock.
    """
    on_behalf = _check_lot_scope(actor_id, cooperative_id, household_id) or on_behalf
    if not idempotency_token or len(idempotency_token) > 64:
        raise DomainError(_("This form has expired. Please open it again."), field="idempotency_token")
    existing = _existing_lot(idempotency_token, cooperative_id)
    if existing is not None:
        return existing
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= MAX_LOT_QUANTITY:
        raise DomainError(_("Quantity must be a whole number above zero."), field="quantity")
    if grade and grade not in GRADES:
        raise DomainError(_("Choose a quality grade."), field="grade")
    if received_on is not None and received_on > local_today():
        raise DomainError(_("The delivery date cannot be in the future."), field="received_on")
    product = scope.cooperative_product(cooperative_id, product_id)
    if product.floor_price_fen is None:
        raise DomainError(_("This product has no guaranteed floor price set."), field="product_id")
    member = db.session.scalar(select(Membership).filter_by(cooperative_id=cooperative_id, household_id=household_id))
    if member is None or member.left_on is not None:
        raise DomainError(_("That household is not a member of this cooperative."), field="household_id")
    variant = None
    if variant_id is not None:
        variant = db.session.get(Variant, variant_id)
        if variant is None or variant.product_id != product.id:
            raise DomainError(_("Choose a variant of this product."), field="variant_id")
    received_on = received_on or local_today()
    confirmed = not needs_town_confirmation(household_id, quantity, received_on)
    lot = SupplyLot(
        product_id=product_id, cooperative_id=cooperative_id, household_id=household_id,
        quantity=quantity, quantity_remaining=quantity, floor_price_fen=product.floor_price_fen,
        received_on=received_on, grade=grade, idempotency_token=idempotency_token,
        recorded_by_id=actor_id, confirmed_at=utcnow() if confirmed else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(lot)
    except IntegrityError:
        # The same form was submitted twice at once: the other submit recorded the lot.
        existing = _existing_lot(idempotency_token, cooperative_id)
        if existing is None:
            raise
        return existing
    stocked = 0
    if confirmed:
        post_floor_purchase(lot)
        stocked = quantity // variant.lot_units if variant is not None else 0
        if stocked:
            add_stock(variant.id, stocked)
    record("lot.recorded", actor_id=actor_id, obj=lot, town_id=product.seller.cooperative.town_id,
           on_behalf_of_household_id=household_id if on_behalf else None,
           quantity=quantity, floor_price_fen=lot.floor_price_fen, cooperative_id=cooperative_id,
           variant_id=variant_id, stock_added=stocked, awaiting_town_confirmation=not confirmed)
    db.session.commit()
    if confirmed:
        from marketplace.presales.harvest import allocate_harvest_of_product  # pre-sales build on lots

        lot_id = lot.id
        allocate_harvest_of_product(product_id)  # the harvest of an open pre-sale goes to its pre-orders first
        lot = db.session.get(SupplyLot, lot_id)
    return lot


def lots_awaiting_confirmation(town_id):
    """Lots of the town's cooperatives above the intake ceilings that staff have not confirmed yet."""
    return db.session.scalars(
        select(SupplyLot).join(Cooperative, SupplyLot.cooperative_id == Cooperative.id)
        .where(Cooperative.town_id == town_id, SupplyLot.confirmed_at.is_(None)).order_by(SupplyLot.id)).all()


def confirm_lot(actor_id, lot_id):
    """Town staff confirm a lot above the intake ceilings: its floor money is owed from now (rule 3).

    Staff of the cooperative's town only, never the person who recorded it; once. Commits."""
    town_id = staff_town_id(actor_id)
    lot = db.session.get(SupplyLot, lot_id)
    if lot is None or db.session.get(Cooperative, lot.cooperative_id).town_id != town_id:
        raise NotFound(_("No such lot."))
    if lot.recorded_by_id == actor_id:
        raise Conflict(_("You recorded this lot: another staff member must confirm it."))
    moved = db.session.execute(update(SupplyLot).where(SupplyLot.id == lot.id, SupplyLot.confirmed_at.is_(None))
                               .values(confirmed_at=utcnow(), confirmed_by_id=actor_id)
                               .execution_options(synchronize_session=False)).rowcount
    if not moved:
        db.session.rollback()
        raise Conflict(_("This lot is already confirmed."))
    db.session.refresh(lot)
    post_floor_purchase(lot)
    record("lot.confirmed", actor_id=actor_id, obj=lot, town_id=town_id, quantity=lot.quantity,
           floor_price_fen=lot.floor_price_fen, household_id=lot.household_id)
    db.session.commit()
    from marketplace.presales.harvest import allocate_harvest_of_product  # pre-sales build on lots

    lot_id, product_id = lot.id, lot.product_id
    allocate_harvest_of_product(product_id)
    return db.session.get(SupplyLot, lot_id)


def cooperative_lots(actor_id, limit=200, before=None):
    """The cooperative's lots, newest first, each with what is left of it; `before` =
    (received_on, id) of the last lot already shown, to continue from there."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    query = select(SupplyLot).where(SupplyLot.cooperative_id == cooperative_id)
    if before is not None:
        query = query.where(tuple_(SupplyLot.received_on, SupplyLot.id) < tuple_(*before))
    return db.session.scalars(
        query.order_by(SupplyLot.received_on.desc(), SupplyLot.id.desc()).limit(limit)
    ).all()


def cooperative_lot(actor_id, lot_id):
    """One lot of the actor's own cooperative; another cooperative's lot is NotFound."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    lot = db.session.get(SupplyLot, lot_id)
    if lot is None or lot.cooperative_id != cooperative_id:
        raise NotFound(_("No such lot."))
    return lot


def lot_choices(cooperative_id):
    """What a lot form offers: member households and products with a floor price, with their variants."""
    members = db.session.scalars(
        select(Membership).where(Membership.cooperative_id == cooperative_id, Membership.left_on.is_(None))
        .order_by(Membership.household_id)
    ).all()
    products = db.session.scalars(
        select(Product).where(Product.seller_id == scope.cooperative_seller_id(cooperative_id),
                              Product.floor_price_fen.is_not(None), Product.status != "archived")
        .order_by(Product.id)
    ).all()
    return [member.household for member in members], products


def household_cooperatives(household_id):
    """The cooperatives a household is a member of now (for an agent recording on its behalf)."""
    return db.session.scalars(
        select(Cooperative).join(Membership, Membership.cooperative_id == Cooperative.id)
        .where(Membership.household_id == household_id, Membership.left_on.is_(None)).order_by(Cooperative.id)
    ).all()
