"""Refunds, whole or per line: recorded first, sent to Stripe after, reversed when Stripe says so.

`refund_order` is the one way money goes back to a buyer for goods. Amounts come from the
order's snapshotted unit prices, never from a form. When nothing of the order is left
unrefunded, its shipping and love-fund donation go back too.

A refund of an order an organisation paid by company transfer is `owed` to the organisation when
recorded (no Stripe), posted by the ledger at once, and `succeeded` when staff record the bank
transfer that paid it back (organisations/transfer_refunds.py, ledger/rules/transfer_refunds.py).

A card refund's life (`Refund.status`): `requested` when recorded here, then whatever Stripe says —
`pending`, `requires_action`, `succeeded`, `failed` or `canceled` (a succeeded refund may still
fail later, when the card turns out closed).

1. `refund_lines_uncommitted` writes the Refund, its lines and the order's refunded figures in
   the caller's transaction and publishes `payments.send_refund`. Stripe is not called while
   rows are locked, nor before the refund is committed: a double-click or a retried request
   finds the order already refunded and creates nothing.
2. `send_refund` (run by the worker) asks Stripe for the refund under the idempotency key
   `refund:{payment intent}:{refund id}` — after looking for one an earlier attempt already
   created, because Stripe forgets keys after a day and localstripe ignores them — so however
   often it runs, Stripe refunds once.
3. `apply_stripe_refund` records what Stripe says (after `send_refund`, and on every refund
   webhook, re-read at Stripe): `succeeded` publishes rule 8 (`ledger.attribute_refund`);
   `failed` or `canceled` gives the order and its lines back their refunded figures, tells the
   buyer (order timeline) and staff (audit log), and publishes `ledger.attribute_refund`, which
   reverses the reversal if it was already posted. `pending` waits.

Locks: the payment row, then the order row — the order in which attribution takes them
(`attribute_payments` locks the payments, then posts entries that reference their orders), so a
cancel right after paying waits for attribution (or attribution for it) and never deadlocks.
"""
import logging
from types import SimpleNamespace

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from marketplace.audit.services import record
from marketplace.catalog.models import Variant
from marketplace.database import lock_for_update
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger.rules.refunds import BEARERS
from marketplace.orders.fulfilment import close_refunded_shipments, reopen_unrefunded_shipments
from marketplace.orders.models import ORDER_STATUSES, Order, OrderEvent, OrderLine
from marketplace.outbox.services import publish
from marketplace.payments import stripe_gateway
from marketplace.payments.events import record_event
from marketplace.payments.models import REFUND_METHODS, Payment, Refund, RefundLine

log = logging.getLogger(__name__)

REFUNDABLE_STATUSES = ("paid", "packed", "shipped", "delivered", "completed", "partially_refunded")
REQUESTED = "requested"
WAITING_STATUSES = (REQUESTED, "pending", "requires_action")
FAILED_STATUSES = ("failed", "canceled")
REFUND_STATUSES = (*WAITING_STATUSES, "succeeded", *FAILED_STATUSES)


def refund_order(order_id, lines, actor_id, restock, reason="", borne_by=""):
    """Refund `lines` ({order_line_id: quantity}) of a paid order; Stripe is asked once it is committed.

    `borne_by` names who bears a refund of goods whose sale has settled (platform, cooperative,
    supplier or carrier; the platform when unnamed): see marketplace/ledger/rules/refunds.py.
    An order paid partly or wholly with store credit is refunded to the card first, up to what the
    card paid, and the rest back to store credit (a second Refund, `store_credit`, done at once);
    the first of them is returned.
    Raises NotFound, Conflict (not paid, nothing left to refund) or DomainError (bad quantities).
    """
    if borne_by not in ("", *BEARERS):
        raise DomainError(_("Choose who bears this refund."), field="borne_by")
    refund = refund_lines_uncommitted(order_id, lines, actor_id, restock, reason, borne_by=borne_by)
    db.session.commit()
    return refund


def lock_payment_then_order(order_id):
    """Row-lock the order's payment (if any), then the order, re-read as committed: (order, payment)."""
    payment_id = db.session.scalar(select(Payment.id).where(Payment.order_id == order_id))
    payment = None
    if payment_id is not None:
        payment = db.session.scalar(lock_for_update(select(Payment).where(Payment.id == payment_id))
                                    .execution_options(populate_existing=True))
    order = db.session.scalar(lock_for_update(select(Order).where(Order.id == order_id))
                              .options(selectinload(Order.lines)).execution_options(populate_existing=True))
    return order, payment


def refund_lines_uncommitted(order_id, lines, actor_id, restock, reason="", allowed_statuses=REFUNDABLE_STATUSES,
                             borne_by=""):
    """`refund_order` without the commit, for services that refund as part of a larger change.

    The payment and then the order are locked first, so the order's status is checked against
    `allowed_statuses` as it is now."""
    order, payment = lock_payment_then_order(order_id)
    if order is None:
        raise NotFound(_("No such order."))
    if order.status not in allowed_statuses:
        raise Conflict(_("Only a paid order can be refunded.") if allowed_statuses == REFUNDABLE_STATUSES else
                       _("This order can no longer be cancelled: it is already being packed or was closed."))
    if not _paid(order, payment):
        raise Conflict(_("This order has no completed payment to refund."))
    by_id = {line.id: line for line in order.lines}
    if not lines:
        raise DomainError(_("Choose at least one item to refund."), field="lines")
    for line_id, quantity in lines.items():
        line = by_id.get(line_id)
        if line is None:
            raise NotFound(_("That item is not part of this order."))
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= line.quantity - line.refunded_quantity:
            raise DomainError(_("Refund between 1 and the units not yet refunded."), field="lines")
    # A line may have money back already without units: the store-credit part of a refund whose
    # card part failed (the units went back with the card part). Its units never return it twice.
    line_fen = {line_id: min(by_id[line_id].unit_price_fen * quantity,
                             by_id[line_id].line_total_fen - by_id[line_id].refunded_fen)
                for line_id, quantity in lines.items()}
    amount = sum(line_fen.values())
    everything_back = all(line.refunded_quantity + lines.get(line.id, 0) == line.quantity for line in order.lines)
    if everything_back:
        amount = min(amount + order.shipping_fen + order.donation_fen, order.total_fen - order.refunded_fen)
    # Card first: the buyer's own money goes back where it came from while the card still holds
    # any of the order's payment; only the rest returns to the store credit it was paid with. So a
    # refund never asks Stripe for more than the card paid, and a whole refund restores both.
    # An order paid by company transfer has one way back: a bank transfer to the organisation.
    by_transfer = payment is None and paid_by_transfer(order.id)
    card_fen = min(amount, card_left_fen(payment))
    parts = _split_refund(lines, line_fen, card_fen)
    rest_method = "transfer" if by_transfer else "store_credit"
    refunds = []
    for method, part_fen, part_lines in (("original", card_fen, parts[0]), (rest_method, amount - card_fen, parts[1])):
        if part_fen <= 0:
            continue
        refund = Refund(order_id=order.id, payment_id=payment.id if payment is not None else None, amount_fen=part_fen,
                        status=_first_status(method), method=method,
                        reason=reason[:200], restock=restock, created_by_id=actor_id, borne_by=borne_by)
        refund.lines.extend(RefundLine(order_line_id=line_id, quantity=quantity, amount_fen=fen)
                            for line_id, quantity, fen in part_lines)
        db.session.add(refund)
        refunds.append(refund)
    for line_id, quantity in sorted(lines.items()):
        line = by_id[line_id]
        line.refunded_quantity += quantity
        line.refunded_fen += line_fen[line_id]
        if restock:
            db.session.execute(update(Variant).where(Variant.id == line.variant_id)
                               .values(stock_available=Variant.stock_available + quantity)
                               .execution_options(synchronize_session=False))
    order.refunded_fen += amount
    order.status = "refunded" if everything_back else "partially_refunded"
    db.session.add(OrderEvent(order_id=order.id, status=order.status, actor_id=actor_id,
                              note="refund_owed_to_organisation" if by_transfer else "refund_requested"))
    db.session.flush()
    close_refunded_shipments(order.id)
    for refund in refunds:
        if refund.method == "original":
            publish("payments.send_refund", refund_id=refund.id)
        else:  # nothing to ask Stripe: the credit (or the debt to the organisation) is posted by the ledger
            publish("ledger.attribute_refund", refund_id=refund.id)
    return refunds[0]


# A refund to an organisation's bank account is owed from the moment it is recorded (the ledger
# reverses the lines then) and `succeeded` once staff record the outgoing transfer that paid it
# (organisations/transfer_refunds.py); one to store credit is done when recorded.
OWED = "owed"
# A refund of an order on pay-after-acceptance terms recorded before the organisation paid: taken
# off the amount it transfers, so nothing goes back (organisations/unpaid_orders.py).
DEDUCTED = "deducted"


def _first_status(method):
    return {"original": REQUESTED, "transfer": OWED}.get(method, "succeeded")


def paid_by_transfer(order_id):
    """The order was paid by a company transfer matched to it (organisations/transfers.py)."""
    from marketplace.organisations.models import IncomingTransfer  # organisations build on payments

    return db.session.scalar(select(IncomingTransfer.id).where(IncomingTransfer.paid_order_id == order_id)) is not None


def _paid(order, payment):
    """The order's payment succeeded, or store credit or a company transfer paid it whole (no card payment at all)."""
    if payment is not None:
        return payment.status == "succeeded"
    if order.paid_at is None:
        return False
    return order.payment_method == "store_credit" or paid_by_transfer(order.id)


def card_left_fen(payment):
    """What a refund to the card may still give back: the card payment less its card refunds not failed."""
    if payment is None:
        return 0
    refunded = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
        Refund.payment_id == payment.id, Refund.method == "original", Refund.status.not_in(FAILED_STATUSES)))
    return payment.amount_fen - int(refunded or 0)


def _split_refund(lines, line_fen, card_fen):
    """([(line id, units, fen)] to the card, [...] to store credit): the card takes the lines first,
    then shipping and round-up; the units go with the card part whenever it has some of the line
    (a failed card refund gives them back), else with the credit part."""
    left = card_fen
    card, credit = [], []
    for line_id, quantity in sorted(lines.items()):
        fen = line_fen[line_id]
        to_card = min(fen, left)
        left -= to_card
        if to_card:
            card.append((line_id, quantity, to_card))
        if fen - to_card:
            credit.append((line_id, 0 if to_card else quantity, fen - to_card))
    return card, credit


def refund_claim_uncommitted(order_id, order_line_id, quantity, amount_fen, actor_id, reason="", method="original"):
    """An after-sales claim's refund: `amount_fen` (at most those units' price) for `quantity` units of
    one line, to the buyer's original payment method or (`method="store_credit"`) the buyer's store
    credit; never the shipping or the round-up.

    Recorded in the caller's transaction; once committed, a card refund is sent to Stripe like
    `refund_order`, a store-credit refund is done already (`succeeded`) and goes straight to the
    ledger, which posts it under the claim rule (marketplace/ledger/rules/claims.py) and credits
    the buyer (marketplace/ledger/rules/store_credit.py)."""
    if method not in REFUND_METHODS:
        raise DomainError(_("Choose where the refund goes."), field="refund_to")
    order, payment = lock_payment_then_order(order_id)
    if order is None:
        raise NotFound(_("No such order."))
    if not _paid(order, payment):
        raise Conflict(_("This order has no completed payment to refund."))
    line = next((line for line in order.lines if line.id == order_line_id), None)
    if line is None:
        raise NotFound(_("That item is not part of this order."))
    if not 1 <= quantity <= line.quantity - line.refunded_quantity:
        raise DomainError(_("Refund between 1 and the units not yet refunded."), field="quantity")
    if not 0 < amount_fen <= line.unit_price_fen * quantity:
        raise DomainError(_("The refund must be more than nothing and at most what those units cost."),
                          field="amount")
    if payment is None and paid_by_transfer(order.id):
        # An organisation's money goes back to the organisation, by bank transfer, whatever the claim asked.
        method = "transfer"
    elif method == "original" and amount_fen > card_left_fen(payment):
        # The card cannot give back more than it paid: the part store credit paid comes back as credit.
        method = "store_credit"
    to_credit = method == "store_credit"
    if to_credit and order.buyer_id is None:
        raise Conflict(_("Only a signed-in buyer's order can be refunded as store credit."))
    refund = Refund(order_id=order.id, payment_id=payment.id if payment is not None else None, amount_fen=amount_fen,
                    status=_first_status(method), method=method,
                    reason=reason[:200], restock=False, created_by_id=actor_id)
    refund.lines.append(RefundLine(order_line_id=line.id, quantity=quantity, amount_fen=amount_fen))
    line.refunded_quantity += quantity
    line.refunded_fen += amount_fen
    order.refunded_fen += amount_fen
    if order.status in REFUNDABLE_STATUSES:
        order.status = "refunded" if order.refunded_fen == order.total_fen else "partially_refunded"
    db.session.add(refund)
    db.session.add(OrderEvent(order_id=order.id, status=order.status, actor_id=actor_id,
                              note={"store_credit": "refunded_to_store_credit",
                                    "transfer": "refund_owed_to_organisation"}.get(method, "refund_requested")))
    db.session.flush()
    if method == "original":
        publish("payments.send_refund", refund_id=refund.id)
    else:
        publish("ledger.attribute_refund", refund_id=refund.id)
    return refund


def refund_late_payment_uncommitted(payment):
    """A payment that went through after its order was cancelled goes straight back to the buyer.

    Recorded in the caller's transaction (which holds the payment's row lock, so a concurrent
    delivery of the same event finds this refund and adds none); sent to Stripe after commit."""
    refund = Refund(order_id=payment.order_id, payment_id=payment.id, amount_fen=payment.amount_fen,
                    status=REQUESTED, reason="paid after the order was cancelled")
    db.session.add(refund)
    db.session.add(OrderEvent(order_id=payment.order_id, status="cancelled", note="late_payment_refunded"))
    db.session.flush()
    publish("payments.send_refund", refund_id=refund.id)
    return refund


def idempotency_key(payment_intent_id, refund_id):
    return f"refund:{payment_intent_id}:{refund_id}"


def send_refund(refund_id):
    """Ask Stripe for the refund recorded as `refund_id`, once however often this runs; then apply
    what Stripe says (see `apply_stripe_refund`). Returns what happened, for logs and tests."""
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("No such refund.")
    stripe_refund_id = refund.stripe_refund_id
    intent_id = db.session.get(Payment, refund.payment_id).stripe_payment_intent_id
    amount_fen, order_no = refund.amount_fen, db.session.get(Order, refund.order_id).public_no
    db.session.rollback()  # nothing held over the network
    if stripe_refund_id:
        stripe_refund = stripe_gateway.retrieve_refund(stripe_refund_id)
    else:
        try:
            stripe_refund = (stripe_gateway.find_refund(intent_id, "refund_id", str(refund_id))
                             or stripe_gateway.create_refund(
                                 intent_id, amount_fen, idempotency_key(intent_id, refund_id),
                                 metadata={"refund_id": str(refund_id), "order_no": order_no}))
        except stripe_gateway.RequestRefused as error:
            # Stripe refuses this refund outright (a disputed charge, say): it failed before it began.
            log.error("Stripe refused refund %s: %s", refund_id, error)
            stripe_refund = SimpleNamespace(id=None, status="failed", metadata={},
                                            failure_reason=f"refused: {getattr(error, 'code', None) or 'unknown'}")
    return apply_stripe_refund(stripe_refund, refund_id=refund_id)


def settle_refund(stripe_refund_id, event_id=None, event_type=""):
    """A refund webhook: re-read the refund at Stripe (never trust the payload) and apply it once per event."""
    return apply_stripe_refund(stripe_gateway.retrieve_refund(stripe_refund_id), event_id=event_id,
                               event_type=event_type)


def _our_refund_id(stripe_refund):
    """Our Refund's id for a Stripe refund: by its recorded id, else by the id we put in its metadata."""
    found = db.session.scalar(select(Refund.id).where(Refund.stripe_refund_id == stripe_refund.id))
    if found is None:
        ours = stripe_gateway.metadata_of(stripe_refund).get("refund_id")
        if ours and str(ours).isdigit():
            found = db.session.scalar(select(Refund.id).where(Refund.id == int(ours),
                                                              Refund.stripe_refund_id.is_(None)))
    return found


def apply_stripe_refund(stripe_refund, refund_id=None, event_id=None, event_type=""):
    """Bring our Refund in line with Stripe's refund object; commits. Returns what happened.

    "succeeded": rule 8 is published. "failed": the order gets its refunded figures back and the
    ledger reverses nothing, or its reversal (see the module docstring). "waiting": pending at
    Stripe. "unchanged", "duplicate" (an event already applied) or "unknown" (not ours).
    """
    refund_id = refund_id or _our_refund_id(stripe_refund)
    if refund_id is None:
        db.session.rollback()
        return "unknown"
    if event_id and not record_event(event_id, event_type, stripe_refund.id):
        db.session.rollback()
        return "duplicate"
    payment_id, order_id = db.session.execute(
        select(Refund.payment_id, Refund.order_id).where(Refund.id == refund_id)).one()
    order, _payment = lock_payment_then_order(order_id)
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id).execution_options(populate_existing=True))
    if refund.stripe_refund_id is None and stripe_refund.id:
        refund.stripe_refund_id = stripe_refund.id
    status = stripe_refund.status
    outcome = "unchanged"
    if status == "succeeded" and refund.status in WAITING_STATUSES:
        refund.status = status
        db.session.add(OrderEvent(order_id=order.id, status=order.status, note="refunded"))
        if order.paid_at is not None:  # a payment refunded as late was never attributed
            publish("ledger.attribute_refund", refund_id=refund.id)
        outcome = "succeeded"
    elif status in FAILED_STATUSES and refund.status not in FAILED_STATUSES:
        refund.status = status
        if order.paid_at is not None:  # a late payment's refund never counted on the order
            _give_back_refunded_figures(refund, order)
        db.session.add(OrderEvent(order_id=order.id, status=order.status, note="refund_failed"))
        record("payments.refund_failed", obj=refund, order_no=order.public_no, amount_fen=refund.amount_fen,
               stripe_refund=stripe_refund.id or "",
               failure_reason=getattr(stripe_refund, "failure_reason", None) or "")
        if order.paid_at is not None:
            publish("ledger.attribute_refund", refund_id=refund.id)
        log.warning("refund %s (%s) of order %s %s at Stripe", refund.id, stripe_refund.id, order.public_no, status)
        outcome = "failed"
    elif status in WAITING_STATUSES and refund.status == REQUESTED:
        refund.status = status
        outcome = "waiting"
    db.session.commit()
    return outcome


def _give_back_refunded_figures(refund, order):
    """A refund that failed never returned the money: the order and its lines count it no more.

    A paid order goes on as it was: the parcels the refund closed are opened again, and goods the
    refund put back in stock are taken out again for it (as far as nobody bought them meanwhile;
    a shortfall is in the audit record). An order the buyer cancelled stays cancelled, its goods
    back in stock, with nothing refunded, for staff to settle with the buyer."""
    lines = {line.id: line for line in order.lines}
    for refund_line in refund.lines:
        line = lines.get(refund_line.order_line_id) or db.session.get(OrderLine, refund_line.order_line_id)
        line.refunded_quantity -= refund_line.quantity
        line.refunded_fen -= refund_line.amount_fen
    order.refunded_fen -= refund.amount_fen
    if order.status in ("refunded", "partially_refunded"):
        order.status = "partially_refunded" if order.refunded_fen else _status_before_refunds(order.id)
    if order.status == "cancelled":
        return
    db.session.flush()
    reopen_unrefunded_shipments(order.id)
    if refund.restock:
        short = _take_back_restocked(refund, lines)
        if short:
            record("payments.refund_failed_stock_short", obj=refund, order_no=order.public_no, short_units=short)


def _take_back_restocked(refund, lines):
    """Take the refund's restocked units out of stock again; returns {variant_id: units missing}."""
    short = {}
    for refund_line in refund.lines:
        variant_id = (lines.get(refund_line.order_line_id)
                      or db.session.get(OrderLine, refund_line.order_line_id)).variant_id
        available = db.session.scalar(select(Variant.stock_available).where(Variant.id == variant_id)
                                      .with_for_update())
        taken = min(available, refund_line.quantity)
        db.session.execute(update(Variant).where(Variant.id == variant_id)
                           .values(stock_available=Variant.stock_available - taken)
                           .execution_options(synchronize_session=False))
        if taken < refund_line.quantity:
            short[str(variant_id)] = refund_line.quantity - taken
    return short


def _status_before_refunds(order_id):
    """What the order's timeline said before anything was refunded (paid, packed, shipped…); events
    that are not order statuses (a shipment settling, an after-sales claim's steps) are skipped."""
    statuses = [status for status in ORDER_STATUSES if status not in ("refunded", "partially_refunded")]
    return db.session.scalar(
        select(OrderEvent.status).where(OrderEvent.order_id == order_id, OrderEvent.status.in_(statuses))
        .order_by(OrderEvent.at.desc(), OrderEvent.id.desc()).limit(1)) or "paid"
