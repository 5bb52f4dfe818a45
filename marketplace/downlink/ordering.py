"""An agent orders daily goods at the service point, for a household of the village or a walk-in.

The order is delivered to the service point (delivery_kind 'pickup'), never to an address. Stock is
taken with one conditional UPDATE per line (`stock_available >= n`), lines in id order, so two
agents can never sell the same last sack. Payment: Stripe (the storefront's checkout), the
household's earnings (ledger rule 9) or cash collected by the agent at pickup.
"""
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from flask_babel import gettext as _
from marketplace.audit.services import record
from marketplace.catalog.models import Variant
from marketplace.database import utcnow
from marketplace.downlink.catalog import suppliers_delivering_to
from marketplace.downlink.models import PickupTicket
from marketplace.downlink.scope import agent_point, household_of_point
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger.attribution import pay_order_from_earnings
from marketplace.ledger.balances import household_balance
from marketplace.ledger.errors import InsufficientBalance
from marketplace.money import format_fen
from marketplace.orders.checkout import new_pickup_code
from marketplace.orders.fulfilment import open_shipments
from marketplace.orders.models import Order, OrderEvent, OrderLine, StockReservation
from marketplace.payments.models import Payment
from marketplace.payments.settlement import cancel_and_settle, settle_payment_intent
from marketplace.people.models import Household, Supplier

PAYMENT_CHOICES = ("earnings", "cash", "stripe")
MAX_QUANTITY = 999
MAX_LINES = 30


def _new_public_no():
    return f"DL{utcnow():%y%m%d}{secrets.token_hex(4).upper()}"


def _clean_quantities(quantities):
    lines = {}
    for variant_id, quantity in quantities.items():
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0 or quantity > MAX_QUANTITY:
            raise DomainError(_("Quantities must be whole numbers from 0 to %(most)s.", most=MAX_QUANTITY),
                              field="quantity")
        if quantity:
            lines[int(variant_id)] = quantity
    if not lines:
        raise DomainError(_("Choose at least one item."), field="quantity")
    if len(lines) > MAX_LINES:
        raise DomainError(_("Too many different items in one order."), field="quantity")
    return lines


def take_stock(variant_id, quantity):
    """One conditional UPDATE: take `quantity` only if that many are left. False when sold out."""
    result = db.session.execute(
        update(Variant)
        .where(Variant.id == variant_id, Variant.stock_available >= quantity)
        .values(stock_available=Variant.stock_available - quantity)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def return_stock(variant_id, quantity):
    db.session.execute(
        update(Variant).where(Variant.id == variant_id)
        .values(stock_available=Variant.stock_available + quantity)
        .execution_options(synchronize_session=False)
    )


def place_order(actor_id, supplier_id, quantities, payment_method, household_id=None,
                walk_in_name="", walk_in_phone=""):
    """Place a downlink order at the agent's service point, in one transaction.

    `quantities` maps variant id -> units; every variant must be the supplier's active downlink
    goods and the supplier must deliver to the village. A walk-in (no household) cannot pay from
    earnings. Paying from earnings posts rule 9 in the same transaction, so a refusal (balance
    would go below zero) leaves no order, no stock taken and no posting. Returns the order.
    """
    point = agent_point(actor_id)
    if payment_method not in PAYMENT_CHOICES:
        raise DomainError(_("Choose how the order is paid."), field="payment_method")
    household = household_of_point(household_id, point) if household_id is not None else None
    walk_in_name, walk_in_phone = (walk_in_name or "").strip(), (walk_in_phone or "").strip()
    if household is None:
        if not walk_in_name or len(walk_in_name) > 60 or len(walk_in_phone) > 30:
            raise DomainError(_("Give the walk-in customer's name (at most 60 characters)."), field="walk_in_name")
        if payment_method == "earnings":
            raise DomainError(_("Only a registered household can pay from its earnings."), field="payment_method")
    if supplier_id not in suppliers_delivering_to(point.village):
        raise NotFound(_("This supplier does not deliver to your village."))
    lines = _clean_quantities(quantities)
    variants = {v.id: v for v in db.session.scalars(select(Variant).where(Variant.id.in_(lines)))}
    for variant_id in lines:
        variant = variants.get(variant_id)
        product = variant.product if variant else None
        if (variant is None or not variant.is_active or product.status != "active" or product.direction != "downlink"
                or product.seller.supplier_id != supplier_id):
            raise NotFound(_("One of the goods is not offered by this supplier any more."))

    try:
        order = _create_order(actor_id, point, household, supplier_id, lines, variants, payment_method,
                              walk_in_name, walk_in_phone)
        if payment_method == "earnings":
            _pay_from_earnings(order, actor_id)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return order


def _create_order(actor_id, point, household, supplier_id, lines, variants, payment_method, walk_in_name,
                  walk_in_phone):
    for variant_id in sorted(lines):
        if not take_stock(variant_id, lines[variant_id]):
            variant = variants[variant_id]
            db.session.refresh(variant)
            goods = f"{variant.product.title_zh} {variant.name_zh}"
            raise Conflict(_("Only %(left)s left of %(goods)s.", left=variant.stock_available, goods=goods))
    now = utcnow()
    held = payment_method == "stripe"
    expires = now + timedelta(minutes=current_app.config["RESERVATION_MINUTES"])
    subtotal = sum(variants[v].price_fen * q for v, q in lines.items())
    order = Order(
        public_no=_new_public_no(), buyer_id=None, direction="downlink", status="pending_payment",
        payment_method=payment_method, delivery_kind="pickup", service_point_id=point.id,
        household_id=household.id if household else None, placed_by_id=actor_id,
        recipient_name=household.head_name if household else walk_in_name,
        recipient_phone="" if household else walk_in_phone, address=point.address_zh,
        subtotal_fen=subtotal, shipping_fen=0, donation_fen=0, total_fen=subtotal,
        reservation_expires_at=expires if held else None, pickup_code=new_pickup_code(), created_at=now,
    )
    db.session.add(order)
    db.session.flush()
    for variant_id in sorted(lines):
        variant, quantity = variants[variant_id], lines[variant_id]
        db.session.add(OrderLine(
            order_id=order.id, variant_id=variant.id, product_id=variant.product_id,
            seller_id=variant.product.seller_id, seller_kind="supplier",
            title_zh=f"{variant.product.title_zh} {variant.name_zh}",
            title_en=f"{variant.product.title_en} {variant.name_en}",
            unit=variant.unit, lot_units=variant.lot_units, unit_price_fen=variant.price_fen, quantity=quantity,
            line_total_fen=variant.price_fen * quantity,
        ))
        db.session.add(StockReservation(order_id=order.id, variant_id=variant.id, quantity=quantity,
                                        status="held" if held else "converted", expires_at=expires))
    open_shipments(order)
    db.session.add(PickupTicket(order_id=order.id, supplier_id=supplier_id, service_point_id=point.id))
    db.session.add(OrderEvent(order_id=order.id, status="pending_payment", actor_id=actor_id,
                              note="cash on pickup" if payment_method == "cash" else ""))
    record("downlink.order_placed", actor_id=actor_id, obj=order, town_id=point.village.town_id,
           on_behalf_of_household_id=household.id if household else None,
           total_fen=subtotal, payment_method=payment_method, walk_in=household is None)
    db.session.flush()
    return order


def _pay_from_earnings(order, actor_id):
    """Rule 9 through the ledger: it locks the household's account, refuses an overdraft, commits."""
    try:
        pay_order_from_earnings(order.id, actor_id)
    except InsufficientBalance as error:
        available = max(household_balance(order.household_id).available_fen, 0)
        raise InsufficientBalance(_(
            "Not enough earnings: %(available)s available, the order costs %(total)s. Nothing was charged.",
            available=format_fen(available), total=format_fen(order.total_fen))) from error


def point_order(actor_id, public_no):
    """An order of the agent's own service point, by its number; any other is not found."""
    point = agent_point(actor_id)
    order = db.session.scalar(select(Order).where(Order.public_no == public_no, Order.direction == "downlink"))
    if order is None or order.service_point_id != point.id:
        raise NotFound(_("No such order at your service point."))
    return order


def cancel_unpaid_order(actor_id, public_no):
    """Cancel an order not yet paid and not yet in a delivery run; its stock goes back on sale.

    A card order is cancelled at Stripe first and settled from what Stripe says (the storefront's
    path), so a payment that went through just now makes it paid instead.
    """
    order = point_order(actor_id, public_no)
    ticket = db.session.scalar(select(PickupTicket).where(PickupTicket.order_id == order.id))
    if order.status != "pending_payment" or ticket.run_id is not None:
        raise Conflict(_("Only an unpaid order that is not on its way can be cancelled."))
    record("downlink.order_cancelled", actor_id=actor_id, obj=order, on_behalf_of_household_id=order.household_id)
    if order.payment_method == "stripe":
        db.session.commit()
        cancel_and_settle(order.id, "cancelled at the service point", actor_id=actor_id)
        return db.session.get(Order, order.id)
    # Cash on pickup: its stock was taken for good at ordering, so give it back here.
    for reservation in db.session.scalars(select(StockReservation).where(
            StockReservation.order_id == order.id, StockReservation.status == "converted")):
        return_stock(reservation.variant_id, reservation.quantity)
        reservation.status, reservation.released_at = "released", utcnow()
    order.status = "cancelled"
    db.session.add(OrderEvent(order_id=order.id, status="cancelled", actor_id=actor_id,
                              note="cancelled at the service point"))
    db.session.commit()
    return order


def settle_card_payment(actor_id, public_no):
    """Back from Stripe's page: settle the order from its own PaymentIntent (the storefront's path)."""
    order = point_order(actor_id, public_no)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
    if payment is not None:
        settle_payment_intent(payment.stripe_payment_intent_id)


def point_orders(actor_id, limit=30):
    """The agent's service point's latest downlink orders."""
    point = agent_point(actor_id)
    return db.session.scalars(
        select(Order).where(Order.service_point_id == point.id, Order.direction == "downlink")
        .order_by(Order.id.desc()).limit(limit)
    ).all()


def point_households(actor_id):
    """The households of the agent's village, by name, each with its available earnings in fen:
    the only households the agent may order for."""
    point = agent_point(actor_id)
    households = db.session.scalars(select(Household).where(Household.village_id == point.village_id)
                                    .order_by(Household.head_name, Household.id)).all()
    return [(household, max(household_balance(household.id).available_fen, 0)) for household in households]


def point_suppliers(actor_id):
    """Suppliers that deliver to the agent's village."""
    point = agent_point(actor_id)
    ids = suppliers_delivering_to(point.village)
    return db.session.scalars(select(Supplier).where(Supplier.id.in_(ids)).order_by(Supplier.id)).all() if ids else []
