"""Rules 1, 2, 4, 6 and 7: the money of a paid order attributed to the people it is owed to.

Every entry of an order is posted in one transaction under a row lock on its payment, so an
order is attributed completely or not at all, and exactly once however often it is asked.
"""
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import select

from marketplace.catalog.models import Seller
from marketplace.coops.models import Cooperative, SharingRule
from marketplace.database import utcnow
from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger.errors import NotReady
from marketplace.ledger.rules.lots import allocate_units_to_lots, lock_lots_of_products
from marketplace.ledger.rules.names import (
    COOPERATIVE_SALE, DIRECT_SALE, LOVE_FUND_DONATION, PAYMENT_FEE, PAYMENT_RECEIVED, SHIPPING, SUPPLIER_SALE,
)
from marketplace.ledger.services import account_id, entry_for_key, household_account, post_entry
from marketplace.money import apply_rate, split_largest_remainder
from marketplace.orders.models import Order
from marketplace.payments.models import Payment
from marketplace.people.models import Household, Supplier
from marketplace.places.models import Village


def lock_payment(payment_id):
    """Row-lock a payment: every attribution of its order runs one at a time."""
    return db.session.execute(
        select(Payment).where(Payment.id == payment_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def attribute_payment(payment_id):
    """Rules 1, 2, 4, 6, 7 for a succeeded payment; commits. Idempotent: returns the payment entry.

    Rule 1: Dr stripe_receivable A, Cr sales_pending A. Then each line (rule 2, 4 or a supplier
    line), shipping and the love-fund round-up take their part of sales_pending, and the Stripe
    fee (rule 7) is borne by the platform: Dr payment_fees, Cr stripe_receivable.
    Raises NotReady while the payment has not succeeded.
    """
    payment = lock_payment(payment_id)
    if payment is None:
        raise NotFound("No such payment.")
    existing = entry_for_key(f"pay:{payment.id}")
    if existing is not None:
        db.session.commit()
        return existing
    if payment.status != "succeeded":
        raise NotReady(f"Payment {payment.id} has not succeeded yet ({payment.status}).")
    order = db.session.get(Order, payment.order_id)
    if payment.amount_fen != order.total_fen:
        raise DomainError(f"Payment {payment.id} of {payment.amount_fen} fen does not match "
                          f"order total {order.total_fen}.")
    entry = post_entry(
        f"pay:{payment.id}", PAYMENT_RECEIVED,
        [(account_id("stripe_receivable"), payment.amount_fen), (account_id("sales_pending"), -payment.amount_fen)],
        rule_settings={"amount_fen": payment.amount_fen, "payment_intent": payment.stripe_payment_intent_id},
        memo=f"payment for order {order.public_no}", order_id=order.id,
    )
    attribute_order(order, paid_at=payment.succeeded_at or order.paid_at or utcnow())
    post_payment_fee(payment)
    db.session.commit()
    return entry


def post_payment_fee(payment):
    """Rule 7: Stripe's fee on the charge is the platform's expense, never a household's."""
    return post_entry(
        f"fee:{payment.id}", PAYMENT_FEE,
        [(account_id("payment_fees"), payment.fee_fen), (account_id("stripe_receivable"), -payment.fee_fen)],
        rule_settings={"fee_fen": payment.fee_fen, "balance_transaction": payment.balance_transaction_id,
                       "borne_by": "platform"},
        memo=f"payment fee on payment {payment.id}", order_id=payment.order_id,
    )


def attribute_order(order, paid_at):
    """Move an order's money out of sales_pending: every line, then shipping, then the round-up."""
    platform_rate = Decimal(current_app.config["PLATFORM_COMMISSION_RATE"])
    lines = sorted(order.lines, key=lambda line: line.id)
    lots = lock_lots_of_products({line.product_id for line in lines if line.seller_kind == "cooperative"})
    for line in lines:
        seller = db.session.get(Seller, line.seller_id)
        if line.seller_kind == "household":
            attribute_direct_line(line, seller.household_id, platform_rate)
        elif line.seller_kind == "cooperative":
            attribute_cooperative_line(line, seller.cooperative_id, lots, paid_at)
        else:
            attribute_supplier_line(line, seller.supplier_id, platform_rate)
    pending = account_id("sales_pending")
    post_entry(f"attr:order:{order.id}:shipping", SHIPPING,
               [(pending, order.shipping_fen), (account_id("shipping"), -order.shipping_fen)],
               rule_settings={"shipping_fen": order.shipping_fen}, memo=f"shipping of order {order.public_no}",
               order_id=order.id)
    if order.donation_fen:
        town_id = order.donation_town_id or town_of_order(order)
        post_entry(f"attr:order:{order.id}:donation", LOVE_FUND_DONATION,
                   [(pending, order.donation_fen), (account_id("love_fund", "town", town_id), -order.donation_fen)],
                   rule_settings={"town_id": town_id, "donation_fen": order.donation_fen},
                   memo=f"love-fund round-up on order {order.public_no}", order_id=order.id)


def attribute_direct_line(line, household_id, platform_rate):
    """Rule 2: a household's own line; no commission from a verified poor household (free stall)."""
    household = db.session.get(Household, household_id)
    rate = Decimal(0) if household.is_verified_poor else platform_rate
    commission = apply_rate(line.line_total_fen, rate)
    return post_entry(
        f"attr:line:{line.id}", DIRECT_SALE,
        [(account_id("sales_pending"), line.line_total_fen),
         (household_account(household_id), -(line.line_total_fen - commission)),
         (account_id("platform_fees"), -commission)],
        rule_settings={"household_id": household_id, "verified_poor": household.is_verified_poor,
                       "commission_rate": str(rate), "platform_commission_rate": str(platform_rate),
                       "commission_fen": commission},
        memo=f"direct sale: {line.title_zh} × {line.quantity}", order_id=line.order_id, order_line_id=line.id,
    )


def attribute_supplier_line(line, supplier_id, platform_rate):
    """A daily-goods line: the supplier is owed the line less the platform's commission."""
    commission = apply_rate(line.line_total_fen, platform_rate)
    return post_entry(
        f"attr:line:{line.id}", SUPPLIER_SALE,
        [(account_id("sales_pending"), line.line_total_fen),
         (account_id("supplier_payable", "supplier", supplier_id), -(line.line_total_fen - commission)),
         (account_id("platform_fees"), -commission)],
        rule_settings={"supplier_id": supplier_id, "commission_rate": str(platform_rate),
                       "platform_commission_rate": str(platform_rate), "commission_fen": commission},
        memo=f"supplier sale: {line.title_zh} × {line.quantity}", order_id=line.order_id, order_line_id=line.id,
    )


def sharing_rule_in_force(cooperative_id, at):
    """The cooperative's sharing rule that applied at `at` (the newest effective by then)."""
    return db.session.scalar(
        select(SharingRule)
        .where(SharingRule.cooperative_id == cooperative_id, SharingRule.effective_at <= at)
        .order_by(SharingRule.effective_at.desc(), SharingRule.id.desc())
        .limit(1)
    )


def attribute_cooperative_line(line, cooperative_id, lots, paid_at):
    """Rule 4: the line to cooperative_revenue, then profit return (利润返还) to the supplying households.

    Sold lot units (quantity × lot_units) are taken from the product's lots oldest first; each
    household supplying u units gets r × u × max(0, price per lot unit − its lot's floor), r the
    profit-return rate of the sharing rule in force when the order was paid. Units beyond the
    lots stay with the cooperative, with no return. One entry: sale and returns together.
    """
    if entry_for_key(f"attr:line:{line.id}") is not None:
        return entry_for_key(f"attr:line:{line.id}")
    rule = sharing_rule_in_force(cooperative_id, paid_at)
    rate = rule.profit_return_rate if rule is not None else Decimal(0)
    allocations, beyond = allocate_units_to_lots(line, lots)
    price = Decimal(line.unit_price_fen) / Decimal(line.lot_units)
    exact = [(a, rate * a.lot_units * max(Decimal(0), price - a.floor_price_fen)) for a in allocations]
    total_return = int(sum((share for _, share in exact), Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    returns = split_largest_remainder(total_return, [(a.id, share) for a, share in exact]) if exact else {}
    by_household = {}
    for allocation in allocations:
        by_household[allocation.household_id] = by_household.get(allocation.household_id, 0) + returns[allocation.id]
    legs = [(account_id("sales_pending"), line.line_total_fen),
            (account_id("cooperative_revenue", "cooperative", cooperative_id), -(line.line_total_fen - total_return))]
    legs += [(household_account(household_id), -fen) for household_id, fen in sorted(by_household.items())]
    return post_entry(
        f"attr:line:{line.id}", COOPERATIVE_SALE, legs,
        rule_settings={
            "cooperative_id": cooperative_id,
            **(rule.settings() if rule is not None else {"sharing_rule_id": None, "profit_return_rate": "0"}),
            "unit_price_per_lot_unit_fen": str(price),
            "lot_units_sold": line.quantity * line.lot_units,
            "units_beyond_lots": beyond,
            "profit_return_fen": total_return,
            "allocations": [{"lot_id": a.lot_id, "household_id": a.household_id, "lot_units": a.lot_units,
                             "floor_price_fen": a.floor_price_fen, "return_fen": returns[a.id]} for a in allocations],
        },
        memo=f"cooperative sale: {line.title_zh} × {line.quantity}", order_id=line.order_id, order_line_id=line.id,
    )


def town_of_order(order):
    """The town whose love fund receives a round-up when checkout did not name one: the first seller's."""
    for line in sorted(order.lines, key=lambda line: line.id):
        seller = db.session.get(Seller, line.seller_id)
        if seller.cooperative_id:
            return db.session.get(Cooperative, seller.cooperative_id).town_id
        if seller.household_id:
            household = db.session.get(Household, seller.household_id)
            return db.session.get(Village, household.village_id).town_id
        supplier = db.session.get(Supplier, seller.supplier_id)
        if supplier.town_id:
            return supplier.town_id
    raise DomainError(f"Order {order.public_no} has a love-fund round-up but no town to give it to.")
