"""At harvest: pre-orders allocated to the lots received, balances, fills, short harvests, deadlines.

- `allocate_harvest`: the pre-sale's harvest is the confirmed lots of its product received since
  it opened (in variant units); committed pre-orders take it first-in-first-out by order time,
  whole, and the first that does not fit waits (no later order jumps the queue). An allocated
  pre-order owes its balance by `balance_days` from now, or is filled at once if prepaid in full.
- `fill_preorder`: paid in full, the pre-order becomes an ordinary paid order of its units,
  paid out of the hold (`presale_fill`) and attributed as any cooperative line (rule 4: FIFO
  lots, profit return to the supplying households); its shipment is packed and shipped as any.
- `close_short`: the cooperative closes a pre-sale whose harvest fell short. What was allocated
  stands; the rest is refunded in full, the last orders first (they simply get nothing), or
  pro rata (each waiting order gets its share of the units left, the rest refunded whole).
- `expire_unpaid_balances`: a beat task with the clock passed in: a reminder a day before the
  deadline; past it, the deposit is forfeited or refunded as the pre-sale's terms said.

Refunds go to Stripe outside any transaction, then are recorded under the pre-order's lock.
"""
from datetime import timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from marketplace.catalog.models import SupplyLot
from marketplace.coops.scope import managed_cooperative_id
from marketplace.database import utcnow
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.ledger.rules.presales import post_presale_fill, post_presale_forfeit, post_presale_refund
from marketplace.ledger.rules.sales import attribute_order
from marketplace.money import split_largest_remainder
from marketplace.orders.checkout import new_public_no
from marketplace.orders.fulfilment import open_shipments
from marketplace.orders.models import Order, OrderEvent, OrderLine
from marketplace.orders.pickup import new_pickup_code
from marketplace.payments import stripe_gateway
from marketplace.presales.models import PreOrder, PreSale, PreSalePayment
from marketplace.presales.services import tell_buyer

REMIND_BEFORE = timedelta(days=1)


def _lock_presale(presale_id):
    return db.session.execute(select(PreSale).where(PreSale.id == presale_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def harvested_quantity(presale):
    """Variant units received for the pre-sale: its product's confirmed lots since it opened."""
    lot_units = db.session.scalar(select(func.coalesce(func.sum(SupplyLot.quantity), 0)).where(
        SupplyLot.product_id == presale.variant.product_id, SupplyLot.created_at >= presale.harvest_from,
        SupplyLot.confirmed_at.is_not(None)))
    return int(lot_units) // presale.variant.lot_units


def _allocated(presale_id):
    return int(db.session.scalar(select(func.coalesce(func.sum(PreOrder.allocated_quantity), 0)).where(
        PreOrder.presale_id == presale_id, PreOrder.status.in_(("balance_due", "filled", "forfeited")))))


def _waiting(presale_id):
    return db.session.scalars(select(PreOrder).where(PreOrder.presale_id == presale_id,
                                                     PreOrder.status == "committed")
                              .order_by(PreOrder.ordered_at, PreOrder.id).with_for_update()).all()


def _ask_balance(preorder, units, now):
    preorder.allocated_quantity = units
    preorder.status = "balance_due"
    preorder.balance_due_at = now + timedelta(days=preorder.presale.balance_days)
    if preorder.balance_fen > 0:
        tell_buyer(preorder, "balance_due", preorder.balance_fen)


def allocate_harvest(presale_id, now=None):
    """Allocate the harvest received so far to waiting pre-orders, FIFO; commits. Returns their ids."""
    now = now or utcnow()
    presale = _lock_presale(presale_id)
    if presale is None or presale.status != "open":
        db.session.rollback()
        return []
    free = harvested_quantity(presale) - _allocated(presale.id)
    allocated = []
    for preorder in _waiting(presale.id):
        if preorder.quantity > free:
            break  # first in, first out: a later order never jumps an earlier one
        free -= preorder.quantity
        _ask_balance(preorder, preorder.quantity, now)
        allocated.append(preorder.id)
    db.session.commit()
    for preorder_id in allocated:
        if db.session.get(PreOrder, preorder_id).balance_fen == 0:
            fill_preorder(preorder_id)  # prepaid in full: nothing more to ask
    return allocated


def allocate_harvest_of_product(product_id, now=None):
    """After a lot is recorded: every open pre-sale of the product takes what it can."""
    ids = db.session.scalars(select(PreSale.id).join(PreSale.variant)
                             .where(PreSale.status == "open", PreSale.variant.has(product_id=product_id))).all()
    for presale_id in ids:
        allocate_harvest(presale_id, now=now)


def fill_preorder(preorder_id):
    """A pre-order paid in full becomes an ordinary paid order, paid out of the hold; commits. Idempotent."""
    preorder = db.session.execute(select(PreOrder).where(PreOrder.id == preorder_id).with_for_update()
                                  .execution_options(populate_existing=True)).scalar_one_or_none()
    if preorder is None or preorder.status != "balance_due":
        db.session.rollback()
        return preorder
    paid = sum(p.amount_fen - p.refunded_fen for p in preorder.payments if p.status == "succeeded")
    if paid != preorder.total_fen:
        db.session.rollback()
        return preorder
    presale, now = preorder.presale, utcnow()
    variant, product = presale.variant, presale.variant.product
    pickup = preorder.delivery_kind == "pickup"
    order = Order(public_no=new_public_no(), buyer_id=preorder.buyer_id, direction="uplink", status="paid",
                  payment_method="stripe", delivery_kind=preorder.delivery_kind,
                  service_point_id=preorder.service_point_id if pickup else None,
                  pickup_code=new_pickup_code() if pickup else None, recipient_name=preorder.recipient_name,
                  recipient_phone=preorder.recipient_phone, address=preorder.address, region_code=preorder.region_code,
                  region_name=preorder.region_name, address_detail=preorder.address_detail,
                  subtotal_fen=preorder.total_fen,
                  shipping_fen=0, donation_fen=0, total_fen=preorder.total_fen, paid_at=now)
    order.lines = [OrderLine(variant_id=variant.id, product_id=product.id, seller_id=product.seller_id,
                             seller_kind="cooperative", title_zh=f"{product.title_zh} {variant.name_zh}",
                             title_en=f"{product.title_en} {variant.name_en}", unit=variant.unit,
                             lot_units=variant.lot_units, unit_price_fen=preorder.unit_price_fen,
                             quantity=preorder.allocated_quantity, line_total_fen=preorder.total_fen)]
    db.session.add(order)
    db.session.flush()
    db.session.add(OrderEvent(order_id=order.id, status="paid", note="pre-order filled"))
    open_shipments(order)
    post_presale_fill(preorder, order)
    attribute_order(order, paid_at=now)
    preorder.status, preorder.order_id, preorder.closed_at = "filled", order.id, now
    tell_buyer(preorder, "filled", preorder.total_fen)
    db.session.commit()
    return preorder


def refund_preorder(preorder_id, message_kind, now=None):
    """Give back every payment of an unfilled pre-order whole, then close it as refunded; commits.

    Stripe is asked first (idempotency key per payment), outside any transaction; the refund is
    posted when Stripe says it succeeded. Returns the pre-order.
    """
    preorder = db.session.get(PreOrder, preorder_id)
    todo = [(p.id, p.stripe_payment_intent_id, p.amount_fen - p.refunded_fen) for p in preorder.payments
            if p.status == "succeeded" and p.stripe_refund_id is None and p.amount_fen > p.refunded_fen]
    db.session.rollback()
    answers = {payment_id: stripe_gateway.create_refund(intent_id, amount, f"presale-refund:{payment_id}",
                                                        {"presale_payment_id": str(payment_id)})
               for payment_id, intent_id, amount in todo}
    preorder = db.session.execute(select(PreOrder).where(PreOrder.id == preorder_id).with_for_update()
                                  .execution_options(populate_existing=True)).scalar_one()
    if preorder.status in ("filled", "refunded", "forfeited", "cancelled"):
        db.session.rollback()
        return preorder
    returned = 0
    for payment in preorder.payments:
        answer = answers.get(payment.id)
        if answer is not None and payment.stripe_refund_id is None:
            payment.stripe_refund_id = answer.id
            if answer.status == "succeeded":
                amount = payment.amount_fen - payment.refunded_fen
                payment.refunded_fen = payment.amount_fen
                post_presale_refund(payment, preorder, amount)
                returned += amount
    paid = [p for p in preorder.payments if p.status == "succeeded"]
    preorder.status = "refunded" if paid else "cancelled"
    preorder.allocated_quantity, preorder.closed_at = 0, now or utcnow()
    if paid:
        tell_buyer(preorder, message_kind, returned)
    db.session.commit()
    return preorder


def close_short(actor_id, presale_id, now=None):
    """The cooperative closes a pre-sale whose harvest fell short; commits. Returns the refunded ids.

    Allocates what the harvest covers first (FIFO); then, under `last_first`, every order still
    waiting is refunded whole; under `pro_rata`, the units left are shared among the waiting
    orders by their quantities (largest remainder, earlier orders first on ties) and only
    orders that get nothing are refunded. Orders never paid are cancelled.
    """
    now = now or utcnow()
    cooperative_id = managed_cooperative_id(actor_id)
    presale = db.session.get(PreSale, presale_id)
    if presale is None or presale.cooperative_id != cooperative_id:
        raise NotFound(_("No such pre-sale."))
    if presale.status != "open":
        raise Conflict(_("This pre-sale is closed already."))
    allocate_harvest(presale_id, now=now)
    presale = _lock_presale(presale_id)
    waiting = _waiting(presale.id)
    free = max(0, harvested_quantity(presale) - _allocated(presale.id))
    cut = []  # pre-orders cut pro rata
    if presale.short_policy == "pro_rata" and waiting and free:
        shares = split_largest_remainder(free, [(p.id, p.quantity) for p in waiting])
        for preorder in waiting:
            units = min(shares.get(preorder.id, 0), preorder.quantity)
            if units:
                # What the deposit paid beyond the cut order's price is given back (refund_excess_deposit).
                preorder.deposit_fen = min(preorder.deposit_fen, preorder.unit_price_fen * units)
                _ask_balance(preorder, units, now)
                tell_buyer(preorder, "cut_pro_rata", preorder.total_fen)
                cut.append(preorder.id)
    presale.status, presale.closed_at = "closed", now
    pending = db.session.scalars(select(PreOrder.id).where(PreOrder.presale_id == presale.id,
                                                           PreOrder.status.in_(("committed", "pending_deposit")))
                                 .order_by(PreOrder.ordered_at.desc(), PreOrder.id.desc())).all()
    db.session.commit()
    for preorder_id in cut:
        refund_excess_deposit(preorder_id)
    refunded = []
    for preorder_id in pending:  # the last orders first
        refund_preorder(preorder_id, "refunded_short", now=now)
        refunded.append(preorder_id)
    return refunded


def refund_excess_deposit(preorder_id):
    """After a pro-rata cut: give back the part of the deposit above the cut order's price; commits.
    A cut order whose deposit now covers it is filled."""
    preorder = db.session.get(PreOrder, preorder_id)
    deposit = next((p for p in preorder.payments if p.kind == "deposit" and p.status == "succeeded"), None)
    excess = deposit.amount_fen - preorder.deposit_fen if deposit is not None else 0
    if excess > 0 and deposit.excess_refund_id is None:
        payment_id, intent_id = deposit.id, deposit.stripe_payment_intent_id
        db.session.rollback()
        answer = stripe_gateway.create_refund(intent_id, excess, f"presale-excess:{payment_id}",
                                              {"presale_payment_id": str(payment_id), "excess": "1"})
        preorder = db.session.execute(select(PreOrder).where(PreOrder.id == preorder_id).with_for_update()
                                      .execution_options(populate_existing=True)).scalar_one()
        deposit = db.session.get(PreSalePayment, payment_id)
        if deposit.excess_refund_id is None and answer.status == "succeeded":
            deposit.excess_refund_id = answer.id
            deposit.refunded_fen += excess
            deposit.excess_refunded_fen = excess
            post_presale_refund(deposit, preorder, excess, excess=True)
        db.session.commit()
    if preorder.balance_fen == 0:
        fill_preorder(preorder_id)


def expire_unpaid_balances(now=None):
    """Beat task body, clock passed in: remind a day before a balance's deadline; past it, forfeit
    or refund the deposit as the pre-sale's terms say. Safe to run twice. Returns counts."""
    now = now or utcnow()
    due = db.session.scalars(select(PreOrder).where(PreOrder.status == "balance_due",
                                                    PreOrder.balance_due_at.is_not(None))
                             .order_by(PreOrder.balance_due_at, PreOrder.id)).all()
    reminded, forfeited, refunded = 0, 0, 0
    remind, lapse = [], []
    for preorder in due:
        if preorder.balance_due_at <= now:
            lapse.append(preorder.id)
        elif preorder.balance_due_at - REMIND_BEFORE <= now and preorder.reminded_at is None:
            remind.append(preorder.id)
    for preorder in db.session.scalars(select(PreOrder).where(PreOrder.id.in_(remind or [0]))):
        preorder.reminded_at = now
        tell_buyer(preorder, "balance_reminder", preorder.balance_fen)
        reminded += 1
    db.session.commit()
    for preorder_id in lapse:
        preorder = db.session.execute(select(PreOrder).where(PreOrder.id == preorder_id).with_for_update()
                                      .execution_options(populate_existing=True)).scalar_one()
        if preorder.status != "balance_due" or preorder.balance_due_at > now:
            db.session.rollback()
            continue
        if preorder.presale.unpaid_policy == "forfeit":
            held = sum(p.amount_fen - p.refunded_fen for p in preorder.payments if p.status == "succeeded")
            post_presale_forfeit(preorder, preorder.presale.cooperative_id, held)
            preorder.status, preorder.closed_at = "forfeited", now
            tell_buyer(preorder, "forfeited", held)
            db.session.commit()
            forfeited += 1
        else:
            db.session.rollback()
            refund_preorder(preorder_id, "refunded_unpaid", now=now)
            refunded += 1
    return {"reminded": reminded, "forfeited": forfeited, "refunded": refunded}


def presale_figures(presale_id):
    """What a pre-sale's page shows: committed, harvested and allocated units."""
    from marketplace.presales.services import committed_quantity

    presale = db.session.get(PreSale, presale_id)
    return {"committed": committed_quantity(presale_id), "harvested": harvested_quantity(presale),
            "allocated": _allocated(presale_id)}
