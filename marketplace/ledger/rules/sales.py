"""Rules 1, 2, 4, 6 and 7: the money of paid orders attributed to the people it is owed to.

Payments are attributed in batches, one transaction per batch (`attribute_payments`; a single
payment is a batch of one). The payments are row-locked in id order, then the lots of their
products in id order, so overlapping batches wait for each other instead of deadlocking, and a
payment already attributed is skipped: each order is attributed completely or not at all, and
exactly once however often it is asked. What a batch reads is loaded in a few queries; its
entries are built in memory and posted in bulk (`post_entries`).
"""
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from marketplace.catalog.models import Seller
from marketplace.coops.models import Cooperative, SharingRule
from marketplace.database import utcnow
from marketplace.errors import DomainError, NotFound, Yuan
from marketplace.extensions import db
from marketplace.ledger.errors import NotReady
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.lots import allocate_units_to_lots, lock_lots_of_products, record_allocations
from marketplace.ledger.rules.store_credit import spend_draft
from marketplace.ledger.rules.names import (
    COOPERATIVE_SALE, DIRECT_SALE, LOVE_FUND_DONATION, PAYMENT_FEE, PAYMENT_RECEIVED, SHIPPING, SUPPLIER_SALE,
)
from marketplace.ledger.services import EntryDraft, among, entry_for_key, post_entries
from marketplace.money import apply_rate, split_largest_remainder
from marketplace.orders.models import Order
from marketplace.payments.models import Payment, StoreCreditSpend
from marketplace.people.models import Household, Supplier
from marketplace.places.models import Village

STRIPE_RECEIVABLE = ("stripe_receivable", "", 0)
SALES_PENDING = ("sales_pending", "", 0)
PLATFORM_FEES = ("platform_fees", "", 0)


def household_payable(household_id):
    return ("household_payable", "household", household_id)


def lock_payment(payment_id):
    """Row-lock a payment: every attribution of its order runs one at a time."""
    return db.session.execute(
        select(Payment).where(Payment.id == payment_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


@dataclass
class BatchOutcome:
    """What `attribute_payments` did with each payment id it was given."""

    posted: list = field(default_factory=list)    # attributed by this batch
    already: list = field(default_factory=list)   # attributed before: nothing posted
    refused: dict = field(default_factory=dict)   # payment id -> DomainError (NotReady: try again later)

    def finished(self):
        """Payment ids that need no retry: posted, already posted, or refused for good."""
        return sorted(self.posted + self.already
                      + [pid for pid, error in self.refused.items() if not isinstance(error, NotReady)])


def attribute_payment(payment_id):
    """Rules 1, 2, 4, 6, 7 for one succeeded payment; commits. Idempotent: returns the payment entry.

    A batch of one (see `attribute_payments`). Raises NotFound for an unknown payment, NotReady
    while it has not succeeded, DomainError when its amount does not match its order.
    """
    outcome = attribute_payments([payment_id])
    if payment_id in outcome.refused:
        raise outcome.refused[payment_id]
    return entry_for_key(f"pay:{payment_id}")


def attribute_payments(payment_ids):
    """Rules 1, 2, 4, 6, 7 for many succeeded payments, in one transaction; commits. Idempotent.

    For each payment, rule 1: Dr stripe_receivable A, Cr sales_pending A. Then each line (rule
    2, 4 or a supplier line), shipping and the love-fund round-up take their part of
    sales_pending, and the Stripe fee (rule 7) is borne by the platform: Dr payment_fees, Cr
    stripe_receivable. A payment that cannot be attributed (unknown, not succeeded, amount not
    its order's) is refused on its own and the others post. Returns a BatchOutcome.
    """
    outcome = BatchOutcome()
    payments = db.session.scalars(
        select(Payment).where(among(Payment.id, set(payment_ids))).order_by(Payment.id)
        .with_for_update().execution_options(populate_existing=True)
    ).all()
    for missing in sorted(set(payment_ids) - {payment.id for payment in payments}):
        outcome.refused[missing] = NotFound("No such payment.")
    posted = _posted_keys([f"pay:{payment.id}" for payment in payments])
    waiting = []
    for payment in payments:
        if f"pay:{payment.id}" in posted:
            outcome.already.append(payment.id)
        elif payment.status != "succeeded":
            outcome.refused[payment.id] = NotReady("The payment has not succeeded yet.")
        else:
            waiting.append(payment)
    orders = {order.id: order for order in db.session.scalars(
        select(Order).where(among(Order.id, {payment.order_id for payment in waiting}))
        .options(selectinload(Order.lines)))}
    batch = AttributionBatch(orders.values())
    for payment in waiting:
        try:
            batch.add_payment(payment, orders[payment.order_id])
        except DomainError as error:
            outcome.refused[payment.id] = error
        else:
            outcome.posted.append(payment.id)
    batch.post()
    db.session.commit()
    return outcome


def attribute_order(order, paid_at):
    """Move one order's money out of sales_pending (lines, shipping, round-up); joins the caller's transaction."""
    batch = AttributionBatch([order])
    batch.add_order(order, paid_at)
    batch.post()


def _posted_keys(keys):
    if not keys:
        return set()
    key = JournalEntry.idempotency_key
    return set(db.session.scalars(select(key).where(among(key, keys))))


def _load(model, ids):
    """Rows of `model` by id, in one query; they stay in the session, so `db.session.get` finds them."""
    ids = sorted(identifier for identifier in ids if identifier is not None)
    return {row.id: row for row in db.session.scalars(select(model).where(among(model.id, ids)))} if ids else {}


class AttributionBatch:
    """The entries and lot allocations of many orders, built in memory, then posted at once.

    Reads what its orders need up front (sellers, households, sharing rules); the lots of their
    cooperative products are locked and allocated when the batch posts. Adding an order that
    a DomainError refuses adds nothing.
    """

    def __init__(self, orders):
        self.platform_rate = Decimal(current_app.config["PLATFORM_COMMISSION_RATE"])
        lines = [line for order in orders for line in order.lines]
        self.sellers = _load(Seller, {line.seller_id for line in lines})
        self.households = _load(Household, {seller.household_id for seller in self.sellers.values()})
        self.suppliers = _load(Supplier, {seller.supplier_id for seller in self.sellers.values()})
        cooperative_ids = sorted({seller.cooperative_id for seller in self.sellers.values() if seller.cooperative_id})
        self.sharing_rules = {}  # cooperative id -> its rules, newest first
        if cooperative_ids:
            for rule in db.session.scalars(select(SharingRule).where(among(SharingRule.cooperative_id, cooperative_ids))
                                           .order_by(SharingRule.effective_at.desc(), SharingRule.id.desc())):
                self.sharing_rules.setdefault(rule.cooperative_id, []).append(rule)
        self.drafts = []  # EntryDrafts, and (line, cooperative id, paid at) for lines that need lots
        self.allocations = {}  # order line id -> allocations, written if its entry is posted
        # Store credit applied at checkout: posted with the order's payment, then no longer held.
        order_ids = [order.id for order in orders]
        self.credit = {spend.order_id: spend for spend in db.session.scalars(
            select(StoreCreditSpend).where(among(StoreCreditSpend.order_id, order_ids),
                                           StoreCreditSpend.status != "released"))} if order_ids else {}
        self.spent = []  # StoreCreditSpend ids posted by this batch

    def add_payment(self, payment, order):
        spend = self.credit.get(order.id)
        credit_fen = spend.amount_fen if spend is not None else 0
        if payment.amount_fen + credit_fen != order.total_fen:
            raise DomainError("A payment of %(paid)s does not match its order's total of %(total)s.",
                              paid=Yuan(payment.amount_fen + credit_fen), total=Yuan(order.total_fen))
        received = EntryDraft(
            f"pay:{payment.id}", PAYMENT_RECEIVED,
            [(STRIPE_RECEIVABLE, payment.amount_fen), (SALES_PENDING, -payment.amount_fen)],
            rule_settings={"amount_fen": payment.amount_fen, "payment_intent": payment.stripe_payment_intent_id},
            memo=f"payment for order {order.public_no}", references={"order_id": order.id})
        fee = EntryDraft(
            f"fee:{payment.id}", PAYMENT_FEE,
            [(("payment_fees", "", 0), payment.fee_fen), (STRIPE_RECEIVABLE, -payment.fee_fen)],
            rule_settings={"fee_fen": payment.fee_fen, "balance_transaction": payment.balance_transaction_id,
                           "borne_by": "platform"},
            memo=f"payment fee on payment {payment.id}", references={"order_id": payment.order_id})
        self.add_order(order, paid_at=payment.succeeded_at or order.paid_at or utcnow(), first=received, last=fee)
        if spend is not None:
            self.add_credit(spend, order)

    def add_credit(self, spend, order):
        """The store credit applied to `order` (the rest of its total paid by card, or none)."""
        self.drafts.append(spend_draft(spend, order))
        self.spent.append(spend.id)

    def add_order(self, order, paid_at, first=None, last=None):
        """Every line, then shipping, then the round-up (rule 6) of `order`, between `first` and `last`."""
        donation_town_id = (order.donation_town_id or self._town_of_order(order)) if order.donation_fen else None
        drafts = [first] if first else []
        for line in order.lines:
            seller = self.sellers[line.seller_id]
            if line.seller_kind == "household":
                drafts.append(self._direct_line(line, seller.household_id))
            elif line.seller_kind == "cooperative":
                drafts.append((line, seller.cooperative_id, paid_at))  # built in `post`, under the lot locks
            else:
                drafts.append(self._supplier_line(line, seller.supplier_id))
        drafts.append(EntryDraft(
            f"attr:order:{order.id}:shipping", SHIPPING,
            [(SALES_PENDING, order.shipping_fen), (("shipping", "", 0), -order.shipping_fen)],
            rule_settings={"shipping_fen": order.shipping_fen}, memo=f"shipping of order {order.public_no}",
            references={"order_id": order.id}))
        if order.donation_fen:
            drafts.append(EntryDraft(
                f"attr:order:{order.id}:donation", LOVE_FUND_DONATION,
                [(SALES_PENDING, order.donation_fen), (("love_fund", "town", donation_town_id), -order.donation_fen)],
                rule_settings={"town_id": donation_town_id, "donation_fen": order.donation_fen},
                memo=f"love-fund round-up on order {order.public_no}", references={"order_id": order.id}))
        if last:
            drafts.append(last)
        self.drafts.extend(drafts)

    def post(self):
        """Post every entry; the cooperative lines last, allocated under the locks of their lots.

        What needs no lot is inserted before the lots are locked, so concurrent batches selling
        the same products wait on each other only for the cooperative lines and the commit.
        """
        post_entries([draft for draft in self.drafts if isinstance(draft, EntryDraft)])
        if self.spent:
            db.session.execute(update(StoreCreditSpend).where(among(StoreCreditSpend.id, self.spent),
                                                              StoreCreditSpend.status == "held")
                               .values(status="spent", closed_at=utcnow()).execution_options(synchronize_session=False))
        cooperative = [draft for draft in self.drafts if not isinstance(draft, EntryDraft)]
        if not cooperative:
            return
        self.lots = lock_lots_of_products({line.product_id for line, _cooperative, _paid_at in cooperative})
        # Read after the lots are locked: whoever allocated from them before us has committed.
        posted = _posted_keys([f"attr:line:{line.id}" for line, _cooperative, _paid_at in cooperative])
        inserted = post_entries([self._cooperative_line(*draft) for draft in cooperative
                                 if f"attr:line:{draft[0].id}" not in posted])
        record_allocations({line_id: allocations for line_id, allocations in self.allocations.items()
                            if f"attr:line:{line_id}" in inserted})

    def _direct_line(self, line, household_id):
        """Rule 2: a household's own line; no commission from a verified poor household (free stall)."""
        household = self.households[household_id]
        rate = Decimal(0) if household.is_verified_poor else self.platform_rate
        commission = apply_rate(line.line_total_fen, rate)
        return EntryDraft(
            f"attr:line:{line.id}", DIRECT_SALE,
            [(SALES_PENDING, line.line_total_fen),
             (household_payable(household_id), -(line.line_total_fen - commission)),
             (PLATFORM_FEES, -commission)],
            rule_settings={"household_id": household_id, "verified_poor": household.is_verified_poor,
                           "commission_rate": str(rate), "platform_commission_rate": str(self.platform_rate),
                           "commission_fen": commission},
            memo=f"direct sale: {line.title_zh} × {line.quantity}",
            references={"order_id": line.order_id, "order_line_id": line.id})

    def _supplier_line(self, line, supplier_id):
        """A daily-goods line: the supplier is owed the line less the commission agreed with it (0 unless set)."""
        rate = self.suppliers[supplier_id].commission_rate
        commission = apply_rate(line.line_total_fen, rate)
        return EntryDraft(
            f"attr:line:{line.id}", SUPPLIER_SALE,
            [(SALES_PENDING, line.line_total_fen),
             (("supplier_payable", "supplier", supplier_id), -(line.line_total_fen - commission)),
             (PLATFORM_FEES, -commission)],
            rule_settings={"supplier_id": supplier_id, "commission_rate": str(rate), "commission_fen": commission},
            memo=f"supplier sale: {line.title_zh} × {line.quantity}",
            references={"order_id": line.order_id, "order_line_id": line.id})

    def _cooperative_line(self, line, cooperative_id, paid_at):
        """Rule 4: the line to cooperative_revenue, then profit return (利润返还) to the supplying households.

        Sold lot units (quantity × lot_units) are taken from the product's lots oldest first; each
        household supplying u units gets r × u × max(0, price per lot unit − its lot's floor), r the
        profit-return rate of the sharing rule in force when the order was paid. Units beyond the
        lots stay with the cooperative, with no return. One entry: sale and returns together.
        """
        rule = next((rule for rule in self.sharing_rules.get(cooperative_id, ()) if rule.effective_at <= paid_at), None)
        rate = rule.profit_return_rate if rule is not None else Decimal(0)
        allocations, beyond = allocate_units_to_lots(line, self.lots.get(line.product_id, ()))
        self.allocations[line.id] = allocations
        price = Decimal(line.unit_price_fen) / Decimal(line.lot_units)
        exact = [rate * a.lot_units * max(Decimal(0), price - a.floor_price_fen) for a in allocations]
        total_return = int(sum(exact, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        # Keyed by position: allocations are in FIFO order, which is the order ties break in.
        returns = split_largest_remainder(total_return, list(enumerate(exact))) if exact else {}
        by_household = {}
        for index, allocation in enumerate(allocations):
            by_household[allocation.household_id] = by_household.get(allocation.household_id, 0) + returns[index]
        legs = [(SALES_PENDING, line.line_total_fen),
                (("cooperative_revenue", "cooperative", cooperative_id), -(line.line_total_fen - total_return))]
        legs += [(household_payable(household_id), -fen) for household_id, fen in sorted(by_household.items())]
        return EntryDraft(
            f"attr:line:{line.id}", COOPERATIVE_SALE, legs,
            rule_settings={
                "cooperative_id": cooperative_id,
                **(rule.settings() if rule is not None else {"sharing_rule_id": None, "profit_return_rate": "0"}),
                "unit_price_per_lot_unit_fen": str(price),
                "lot_units_sold": line.quantity * line.lot_units,
                "units_beyond_lots": beyond,
                "profit_return_fen": total_return,
                "allocations": [{"lot_id": a.lot_id, "household_id": a.household_id, "lot_units": a.lot_units,
                                 "floor_price_fen": a.floor_price_fen, "return_fen": returns[index]}
                                for index, a in enumerate(allocations)],
            },
            memo=f"cooperative sale: {line.title_zh} × {line.quantity}",
            references={"order_id": line.order_id, "order_line_id": line.id})

    def _town_of_order(self, order):
        """The town whose love fund receives a round-up when checkout did not name one: the first seller's."""
        for line in order.lines:
            seller = self.sellers[line.seller_id]
            if seller.cooperative_id:
                return db.session.get(Cooperative, seller.cooperative_id).town_id
            if seller.household_id:
                return db.session.get(Village, self.households[seller.household_id].village_id).town_id
            supplier = self.suppliers[seller.supplier_id]
            if supplier.town_id:
                return supplier.town_id
        raise DomainError("Order %(order)s has a love-fund round-up but no town to give it to.", order=order.public_no)


def sharing_rule_in_force(cooperative_id, at):
    """The cooperative's sharing rule that applied at `at` (the newest effective by then)."""
    return db.session.scalar(
        select(SharingRule)
        .where(SharingRule.cooperative_id == cooperative_id, SharingRule.effective_at <= at)
        .order_by(SharingRule.effective_at.desc(), SharingRule.id.desc())
        .limit(1)
    )
