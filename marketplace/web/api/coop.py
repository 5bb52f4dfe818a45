"""Cooperative operations: the cooperative's listings with stock, stock changes, and supply lots.

Only a cooperative manager's token may call them, and only for their own cooperative: the
cooperative services check the scope, and another cooperative's lot is answered as not found.
"""
import hashlib
import secrets
from datetime import date

from marketplace.catalog.listings import listed_products, update_variant, variant_for
from marketplace.coops import scope
from marketplace.coops.services import cooperative_lot, cooperative_lots, record_supply_lot
from marketplace.web.api.framework import operation
from marketplace.web.api.pagination import decode_keyset, page_of
from marketplace.web.api.schemas import catalog as catalog_schemas
from marketplace.web.api.schemas import coop as schemas

MANAGERS = ("coop_manager",)


def _listing(product):
    return schemas.Listing(
        id=product.id, slug=product.slug, status=product.status, title_zh=product.title_zh,
        title_en=product.title_en, floor_price_fen=product.floor_price_fen, lot_unit=product.lot_unit,
        variants=[catalog_schemas.Variant.model_validate(variant) for variant in product.variants])


@operation("GET", "/coop/listings", tag="Cooperatives", summary="The cooperative's listings with their stock",
           roles=MANAGERS, response=schemas.ListingList)
def list_listings(user):
    return schemas.ListingList(items=[_listing(product) for product in listed_products(user.id)])


@operation("PUT", "/coop/variants/<id:variant_id>/stock", tag="Cooperatives", summary="Set a variant's stock",
           roles=MANAGERS, body=schemas.StockIn, response=schemas.StockOut)
def set_stock(user, variant_id, body):
    """Sets the stock only if it is still `stock_seen`: an order placed meanwhile took some."""
    variant = variant_for(user.id, variant_id)
    values = {"name_zh": variant.name_zh, "name_en": variant.name_en, "unit": variant.unit,
              "price_fen": variant.price_fen, "weight_grams": variant.weight_grams, "lot_units": variant.lot_units,
              "stock_available": body.stock_available}
    variant = update_variant(user.id, variant_id, values, body.stock_seen)
    return schemas.StockOut(variant_id=variant.id, stock_available=variant.stock_available)


@operation("GET", "/coop/lots", tag="Cooperatives", summary="The cooperative's supply lots, newest first",
           roles=MANAGERS, query=schemas.LotPageQuery, response=schemas.LotPage)
def list_lots(user, query):
    before = decode_keyset(query.cursor, (date.fromisoformat, int))
    lots = cooperative_lots(user.id, limit=query.limit + 1, before=before)
    shown, cursor = page_of(lots, query.limit, lambda lot: [lot.received_on.isoformat(), lot.id])
    return schemas.LotPage(items=[schemas.Lot.model_validate(lot) for lot in shown], next_cursor=cursor)


@operation("GET", "/coop/lots/<id:lot_id>", tag="Cooperatives", summary="One supply lot", roles=MANAGERS,
           response=schemas.Lot)
def get_lot(user, lot_id):
    return schemas.Lot.model_validate(cooperative_lot(user.id, lot_id))


def _lot_token(user_id, idempotency_key):
    """The lot service's own idempotency token: from the client's key, or fresh when none was sent."""
    if idempotency_key is None:
        return f"api:{secrets.token_hex(16)}"
    return f"api:{user_id}:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}"


@operation("POST", "/coop/lots", tag="Cooperatives", summary="Record a supply lot delivered by a member household",
           roles=MANAGERS, body=schemas.LotIn, response=schemas.Lot, status=201, idempotent=True,
           links={"GetLot": ("get_lot", {"lot_id": "$response.body#/id"})})
def create_lot(user, body, idempotency_key):
    """Credits the household the guaranteed floor price at once. Send an `Idempotency-Key` so that
    a retry records nothing twice."""
    lot = record_supply_lot(
        scope.managed_cooperative_id(user.id), body.product_id, body.household_id, body.quantity,
        _lot_token(user.id, idempotency_key), received_on=body.received_on, grade=body.grade,
        actor_id=user.id, variant_id=body.variant_id)
    return schemas.Lot.model_validate(lot)
