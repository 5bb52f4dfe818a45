"""Cooperative work: supply lot intake (保底收购) and the rules that go with it."""
from datetime import date

from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.catalog.models import Product, SupplyLot
from marketplace.coops.models import Membership
from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger.attribution import post_floor_purchase


def record_supply_lot(cooperative_id, product_id, household_id, quantity, idempotency_token,
                      received_on=None, grade="", actor_id=None, on_behalf=False):
    """Record that a member household delivered `quantity` lot units, and credit its floor price.

    Safe to submit twice: the same `idempotency_token` returns the lot already recorded.
    """
    existing = db.session.scalar(select(SupplyLot).where(SupplyLot.idempotency_token == idempotency_token))
    if existing is not None:
        return existing
    if not isinstance(quantity, int) or quantity <= 0 or quantity > 10_000_000:
        raise DomainError("Quantity must be a whole number above zero.", field="quantity")
    product = db.session.get(Product, product_id)
    if product is None or product.seller.kind != "cooperative" or product.seller.cooperative_id != cooperative_id:
        raise NotFound("No such product in this cooperative.")
    if product.floor_price_fen is None:
        raise DomainError("This product has no guaranteed floor price set.", field="product_id")
    member = db.session.scalar(select(Membership).filter_by(cooperative_id=cooperative_id, household_id=household_id))
    if member is None:
        raise DomainError("That household is not a member of this cooperative.", field="household_id")
    lot = SupplyLot(
        product_id=product_id, cooperative_id=cooperative_id, household_id=household_id,
        quantity=quantity, quantity_remaining=quantity, floor_price_fen=product.floor_price_fen,
        received_on=received_on or date.today(), grade=grade, idempotency_token=idempotency_token,
        recorded_by_id=actor_id,
    )
    db.session.add(lot)
    db.session.flush()
    post_floor_purchase(lot)
    record("lot.recorded", actor_id=actor_id, obj=lot, town_id=product.seller.cooperative.town_id,
           on_behalf_of_household_id=household_id if on_behalf else None,
           quantity=quantity, floor_price_fen=lot.floor_price_fen)
    db.session.commit()
    return lot


