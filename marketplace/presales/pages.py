"""What the pre-sale pages read: a cooperative's pre-sales and their pre-orders, the pre-sales
on a product page, and the committed demand per product and season on the dashboards.

Reads only; every function checks the reader's scope (a manager sees their cooperative's
pre-sales only) and raises NotFound for anything outside it.
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from marketplace.catalog.models import Product, Variant
from marketplace.coops.scope import managed_cooperative_id
from marketplace.database import utcnow
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.presales.harvest import presale_figures
from marketplace.presales.models import PreOrder, PreSale
from marketplace.presales.services import HOLDING, committed_quantity


@dataclass(frozen=True)
class PreSaleOffer:
    """A pre-sale as the product page shows it."""

    presale: PreSale
    committed: int

    @property
    def left(self):
        return max(0, self.presale.expected_quantity - self.committed)


def coop_presales(actor_id):
    """The manager's cooperative's pre-sales, newest first, with their figures."""
    cooperative_id = managed_cooperative_id(actor_id)
    presales = db.session.scalars(select(PreSale).where(PreSale.cooperative_id == cooperative_id)
                                  .order_by(PreSale.created_at.desc(), PreSale.id.desc())).all()
    return [(presale, presale_figures(presale.id)) for presale in presales]


def presale_for_manager(actor_id, presale_id):
    """One of the manager's pre-sales with its pre-orders (in order time) and figures."""
    cooperative_id = managed_cooperative_id(actor_id)
    presale = db.session.get(PreSale, presale_id) if presale_id is not None else None
    if presale is None or presale.cooperative_id != cooperative_id:
        raise NotFound(_("No such pre-sale."))
    preorders = db.session.scalars(select(PreOrder).where(PreOrder.presale_id == presale.id)
                                   .order_by(PreOrder.ordered_at, PreOrder.id)).all()
    return presale, preorders, presale_figures(presale.id)


def presale_variants(actor_id):
    """The manager's variants a pre-sale may be opened for (active, of their cooperative's products)."""
    from marketplace.catalog.models import Seller

    cooperative_id = managed_cooperative_id(actor_id)
    return db.session.scalars(select(Variant).join(Product).join(Seller, Product.seller_id == Seller.id)
                              .where(Seller.cooperative_id == cooperative_id, Variant.is_active)
                              .order_by(Product.id, Variant.id)).all()


def offers_for_variants(variant_ids, now=None):
    """The pre-sales taking orders now for these variants, with what is committed."""
    now = now or utcnow()
    ids = list(variant_ids)
    if not ids:
        return []
    presales = db.session.scalars(select(PreSale).where(
        PreSale.variant_id.in_(ids), PreSale.status == "open", PreSale.orders_open_at <= now,
        PreSale.orders_close_at > now).order_by(PreSale.id)).all()
    return [PreSaleOffer(presale, committed_quantity(presale.id)) for presale in presales]


def offer_for_buyers(presale_id, now=None):
    """A pre-sale a buyer may order from now; NotFound otherwise (closed, over, unknown)."""
    presale = db.session.get(PreSale, presale_id) if presale_id is not None else None
    now = now or utcnow()
    if presale is None or presale.status != "open" or not presale.orders_open_at <= now < presale.orders_close_at:
        raise NotFound(_("This pre-sale is not taking orders."))
    return PreSaleOffer(presale, committed_quantity(presale.id))


def season_of(day: date):
    """The harvest season a shipping window belongs to: its year and quarter (autumn = Q3)."""
    return day.year, (day.month - 1) // 3 + 1


def committed_demand(cooperative_id):
    """Units committed per product and season (the quarter the shipping starts in), for the
    cooperative's open and closed pre-sales: [(product, variant, year, quarter, committed, filled)]."""
    rows = db.session.execute(
        select(PreSale.id, PreSale.variant_id, PreSale.ships_from,
               func.coalesce(func.sum(PreOrder.quantity).filter(PreOrder.status.in_(HOLDING)), 0),
               func.coalesce(func.sum(PreOrder.allocated_quantity).filter(PreOrder.status == "filled"), 0))
        .outerjoin(PreOrder, PreOrder.presale_id == PreSale.id)
        .where(PreSale.cooperative_id == cooperative_id)
        .group_by(PreSale.id, PreSale.variant_id, PreSale.ships_from).order_by(PreSale.ships_from, PreSale.id)).all()
    demand = {}
    for _presale_id, variant_id, ships_from, committed, filled in rows:
        key = (variant_id, *season_of(ships_from))
        was = demand.get(key, (0, 0))
        demand[key] = (was[0] + int(committed), was[1] + int(filled))
    variants = {v.id: v for v in db.session.scalars(select(Variant).where(
        Variant.id.in_([key[0] for key in demand] or [0])))}
    return [(variants[variant_id], year, quarter, committed, filled)
            for (variant_id, year, quarter), (committed, filled) in demand.items()]
