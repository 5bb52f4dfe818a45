"""A cooperative's sharing rules (分配规则) and floor prices, changed only forward.

A sharing rule is never edited: a change adds a new version with who and when, effective from
that moment. The ledger attributes each sale with the version in force when it was paid
(`sharing_rule_in_force`) and records the settings it used, so past attributions keep theirs. A floor price change is kept in FloorPriceChange; lots snapshot the floor at
intake, so it reaches only lots recorded after it.
"""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.catalog.listings import MAX_PRICE_FEN
from marketplace.catalog.models import Product
from marketplace.coops import scope
from marketplace.coops.models import PERIOD_KINDS, SHARE_KINDS, Cooperative, FloorPriceChange, SharingRule
from marketplace.database import utcnow
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.rules.sales import sharing_rule_in_force


def rule_history(actor_id):
    cooperative_id = scope.managed_cooperative_id(actor_id)
    return db.session.scalars(select(SharingRule).where(SharingRule.cooperative_id == cooperative_id)
                              .order_by(SharingRule.effective_at.desc(), SharingRule.id.desc())).all()


def current_rule(actor_id):
    return sharing_rule_in_force(scope.managed_cooperative_id(actor_id), utcnow())


def _decimal(text, field, low, high):
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as error:
        raise DomainError(_("Enter a number."), field=field) from error
    if not value.is_finite() or not low <= value <= high or value != value.quantize(Decimal("0.0001")):
        raise DomainError(_("Enter a number from %(low)s to %(high)s.", low=low, high=high), field=field)
    return value


def change_sharing_rule(actor_id, profit_return_rate, dividend_rate, period, weights, note=""):
    """Add a new version of the cooperative's sharing rules, in force from now on.

    Rates are fractions (0.30 = 30 %) given as text or Decimal; `weights` maps each share kind
    to its weight. Nothing already attributed changes.
    """
    cooperative_id = scope.managed_cooperative_id(actor_id)
    if period not in PERIOD_KINDS:
        raise DomainError(_("Choose a period."), field="period")
    if len(note or "") > 200:
        raise DomainError(_("That text is too long."), field="note")
    rule = SharingRule(
        cooperative_id=cooperative_id,
        profit_return_rate=_decimal(profit_return_rate, "profit_return_rate", 0, 1),
        dividend_rate=_decimal(dividend_rate, "dividend_rate", 0, 1),
        period=period, effective_at=utcnow(), created_by_id=actor_id, note=note or "",
        **{f"weight_{kind}": _decimal(weights.get(kind), f"weight_{kind}", 0, 1000) for kind in SHARE_KINDS},
    )
    db.session.add(rule)
    db.session.flush()
    cooperative = db.session.get(Cooperative, cooperative_id)
    record("sharing_rule.changed", actor_id=actor_id, obj=rule, town_id=cooperative.town_id, **rule.settings())
    db.session.commit()
    return rule


def change_floor_price(actor_id, product_id, floor_price_fen, note=""):
    """Set a product's guaranteed floor price (保底价) for lots recorded from now on."""
    cooperative_id = scope.managed_cooperative_id(actor_id)
    product = scope.cooperative_product(cooperative_id, product_id)
    if not isinstance(floor_price_fen, int) or isinstance(floor_price_fen, bool) or not 0 <= floor_price_fen <= MAX_PRICE_FEN:
        raise DomainError(_("Enter a floor price from ¥0 to ¥100,000."), field="floor_price_fen")
    if len(note or "") > 200:
        raise DomainError(_("That text is too long."), field="note")
    if floor_price_fen == product.floor_price_fen:
        return product
    db.session.add(FloorPriceChange(product_id=product.id, old_floor_price_fen=product.floor_price_fen,
                                    new_floor_price_fen=floor_price_fen, changed_by_id=actor_id, note=note or ""))
    record("floor_price.changed", actor_id=actor_id, obj=product, old=product.floor_price_fen, new=floor_price_fen)
    product.floor_price_fen = floor_price_fen
    db.session.commit()
    return product


def floor_price_history(actor_id):
    cooperative_id = scope.managed_cooperative_id(actor_id)
    return db.session.scalars(
        select(FloorPriceChange).join(Product, Product.id == FloorPriceChange.product_id)
        .where(Product.seller_id == scope.cooperative_seller_id(cooperative_id))
        .order_by(FloorPriceChange.changed_at.desc(), FloorPriceChange.id.desc()).limit(100)
    ).all()

