"""Refunding and cancelling an order on pay-after-acceptance terms before the organisation paid it.

Such an order ships unpaid and nothing is posted for it until its transfer arrives (see
payment_clock.py). So nothing can be owed back for it either:

- **A refund of some lines** (a parcel short, a line returned) is recorded as for any transfer-paid
  order — a Refund (`transfer`, status `deducted`: never owed, never paid back) with its lines, the lines' and order's refunded figures, stock put
  back if asked — but it is not owed: the amount due (`amount_due_fen`, what the request page, the
  reminders and the transfer matching ask for) shrinks by it. No outbox message: the ledger has no
  credit to reverse yet. When the transfer of the reduced amount arrives (organisations/transfers.py),
  the order is attributed in full and each such refund is posted as usual (lines reversed,
  `transfer_refund_owed`) and at once as deducted from the transfer (`transfer_refund_deducted`,
  ledger/rules/transfer_refunds.py): credits = paid − refunded, nothing owed to the organisation.
- **Cancelling** it, even shipped (the goods come back by arrangement): the order is `cancelled`,
  its open shipments too, stock put back if asked; no Refund, nothing posted, nothing due. A
  transfer that still arrives is a `not_payable` discrepancy.

Only the platform admin does either, as with other refunds; each is audited. The admin's page
asks before doing either: `preview_refund` and `preview_cancel` refuse exactly what the action
would refuse, and say what the amount due becomes, without changing anything.
"""
from typing import NamedTuple

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update

from marketplace.audit.services import record
from marketplace.catalog.models import Variant
from marketplace.database import lock_for_update
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.orders.fulfilment import close_refunded_shipments
from marketplace.orders.models import Order, OrderEvent, Shipment
from marketplace.organisations.models import Requisition
from marketplace.organisations.services import _admin
from marketplace.payments.models import Refund, RefundLine
from marketplace.payments.refunds import DEDUCTED

CLOSED = ("cancelled", "refunded")


class Preview(NamedTuple):
    """What a refund or cancellation before payment would take off the amount due."""

    line_fen: dict  # {order_line_id: fen} of the lines refunded (empty for a cancellation)
    amount_fen: int  # taken off the amount due
    due_before_fen: int
    due_after_fen: int


def amount_due_fen(order):
    """What the organisation is to transfer for its order: the total less what was refunded before it paid."""
    return order.total_fen - (order.refunded_fen if order.paid_at is None else 0)


def deducted_fen(order_id):
    """What was refunded of the order before its organisation paid (deducted from the amount due)."""
    return db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0))
                             .where(Refund.order_id == order_id, Refund.status == DEDUCTED))


def changeable_before_payment(requisition, order):
    """Whether lines of `order` may still be refunded, or the order cancelled, before it is paid."""
    return (order is not None and requisition is not None and requisition.payment_terms == "after_acceptance"
            and order.paid_at is None and order.status not in CLOSED)


def _unpaid_on_terms(order_id, lock=True):
    query = select(Order).where(Order.id == order_id)
    order = db.session.scalar((lock_for_update(query) if lock else query).execution_options(populate_existing=True))
    requisition = db.session.scalar(select(Requisition).where(Requisition.order_id == order_id)) if order else None
    if order is None or requisition is None:
        raise NotFound(_("No such order."))
    if not changeable_before_payment(requisition, order):
        raise Conflict(_("Only an unpaid order on pay-after-acceptance terms is changed this way."))
    return order, requisition


def _refunded_fen(order, lines):
    """{order_line_id: fen} of `lines` ({order_line_id: quantity}), or the refusal of a bad choice."""
    by_id = {line.id: line for line in order.lines}
    if not lines:
        raise DomainError(_("Choose at least one item to refund."), field="lines")
    for line_id, quantity in lines.items():
        line = by_id.get(line_id)
        if line is None:
            raise NotFound(_("That item is not part of this order."))
        if not isinstance(quantity, int) or isinstance(quantity, bool) or \
                not 1 <= quantity <= line.quantity - line.refunded_quantity:
            raise DomainError(_("Refund between 1 and the units not yet refunded."), field="lines")
    if all(line.refunded_quantity + lines.get(line.id, 0) == line.quantity for line in order.lines):
        raise DomainError(_("That is every item left: cancel the order instead."), field="lines")
    return {line_id: by_id[line_id].unit_price_fen * quantity for line_id, quantity in lines.items()}


def _reason(reason):
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 200:
        raise DomainError(_("Say why the order is cancelled (up to 200 characters)."), field="reason")
    return reason


def preview_refund(actor_id, order_id, lines):
    """What `refund_unpaid_lines` would take off the amount due, refused as it would be; changes nothing."""
    _admin(actor_id)
    order, _requisition = _unpaid_on_terms(order_id, lock=False)
    line_fen = _refunded_fen(order, lines)
    due = amount_due_fen(order)
    return Preview(line_fen, sum(line_fen.values()), due, due - sum(line_fen.values()))


def preview_cancel(actor_id, order_id, reason):
    """What `cancel_unpaid_order` would leave due (nothing), refused as it would be; changes nothing."""
    _admin(actor_id)
    _reason(reason)
    order, _requisition = _unpaid_on_terms(order_id, lock=False)
    due = amount_due_fen(order)
    return Preview({}, due, due, 0)


def _restock(variant_id, quantity):
    db.session.execute(update(Variant).where(Variant.id == variant_id)
                       .values(stock_available=Variant.stock_available + quantity)
                       .execution_options(synchronize_session=False))


def refund_unpaid_lines(actor_id, order_id, lines, restock, reason="", due_before_fen=None):
    """Take `lines` ({order_line_id: quantity}) off what the organisation owes; not all of them
    (that is `cancel_unpaid_order`). Refused, nothing changed, for bad quantities or a paid order,
    and when the amount due is no longer `due_before_fen` (what a reviewed refund was reviewed
    against: a confirmation sent twice refunds once)."""
    _admin(actor_id)
    order, requisition = _unpaid_on_terms(order_id)
    if due_before_fen is not None and amount_due_fen(order) != due_before_fen:
        raise Conflict(_("The amount due has changed since this refund was reviewed: review it again."))
    by_id = {line.id: line for line in order.lines}
    line_fen = _refunded_fen(order, lines)
    refund = Refund(order_id=order.id, payment_id=None, amount_fen=sum(line_fen.values()), status=DEDUCTED,
                    method="transfer", reason=(reason or "")[:200], restock=restock, created_by_id=actor_id,
                    borne_by="")
    refund.lines.extend(RefundLine(order_line_id=line_id, quantity=quantity, amount_fen=line_fen[line_id])
                        for line_id, quantity in sorted(lines.items()))
    db.session.add(refund)
    for line_id, quantity in sorted(lines.items()):
        line = by_id[line_id]
        line.refunded_quantity += quantity
        line.refunded_fen += line_fen[line_id]
        if restock:
            _restock(line.variant_id, quantity)
    order.refunded_fen += refund.amount_fen
    db.session.add(OrderEvent(order_id=order.id, status=order.status, actor_id=actor_id, note="refund_before_payment"))
    db.session.flush()
    close_refunded_shipments(order.id)
    record("order.refund_before_payment", actor_id, order, organisation_id=requisition.organisation_id,
           refund_id=refund.id, amount_fen=refund.amount_fen, amount_due_fen=amount_due_fen(order))
    db.session.commit()
    return refund


def cancel_unpaid_order(actor_id, order_id, restock, reason=""):
    """Cancel an unpaid order on pay-after-acceptance terms: nothing was paid, nothing is owed back."""
    _admin(actor_id)
    reason = _reason(reason)
    order, requisition = _unpaid_on_terms(order_id)
    if restock:
        for line in order.lines:
            if line.quantity > line.refunded_quantity:
                _restock(line.variant_id, line.quantity - line.refunded_quantity)
    db.session.execute(update(Shipment).where(Shipment.order_id == order.id, Shipment.status.in_(("open", "packed")))
                       .values(status="cancelled").execution_options(synchronize_session=False))
    order.status = "cancelled"
    db.session.add(OrderEvent(order_id=order.id, status="cancelled", actor_id=actor_id, note="cancelled_before_payment"))
    record("order.cancelled_before_payment", actor_id, order, organisation_id=requisition.organisation_id,
           reason=reason, total_fen=order.total_fen, restock=restock)
    db.session.commit()
    return order
