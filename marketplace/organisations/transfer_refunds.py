"""Paying back refunds of orders an organisation paid by company transfer (对公转账).

A refund of such an order (payments/refunds.py: whole, per line, or an after-sales claim's) is
recorded with method `transfer` and status `owed`; the ledger posts it at once
(ledger/rules/transfer_refunds.py: the lines reversed as for a card, the money owed to the
organisation). The platform's finance staff then send the money from the platform's bank account
and record that outgoing transfer here — the organisation it went to, the date, the amount and
the bank's transaction number. Only exactly the refund's amount, to the organisation whose order
it is, once per refund and once per bank transaction, is accepted; anything else is refused with
nothing changed. The refund is then `succeeded` and the ledger posts `transfer_refund_paid`.

The order's row is locked first (as the ledger's refund rule locks it for an order with no card
payment), so two staff recording the same payment at once record it once: the second waits, then
finds the refund paid back.
"""
from datetime import date

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.errors import DomainError, NotFound, Yuan
from marketplace.extensions import db
from marketplace.ledger.rules.refunds import attribute_refund, lock_order
from marketplace.ledger.rules.transfer_refunds import pay_organisation_back
from marketplace.ledger.services import entry_for_key
from marketplace.orders.models import Order, OrderEvent
from marketplace.organisations.models import Organisation, OutgoingTransfer, Requisition
from marketplace.organisations.transfers import _staff
from marketplace.payments.models import Refund
from marketplace.payments.refunds import OWED


class RefundTransferRefused(DomainError):
    code = "refund_transfer_refused"


def refunds_owed(limit=200):
    """(refund, order, organisation) of every refund still owed to an organisation, oldest first."""
    return db.session.execute(
        select(Refund, Order, Organisation).join(Order, Order.id == Refund.order_id)
        .join(Requisition, Requisition.order_id == Order.id).join(Organisation, Organisation.id == Requisition.organisation_id)
        .where(Refund.method == "transfer", Refund.status == OWED).order_by(Refund.id).limit(limit)).all()


def refunds_paid_back(limit=50):
    """(outgoing transfer, refund, order, organisation), newest first."""
    return db.session.execute(
        select(OutgoingTransfer, Refund, Order, Organisation).join(Refund, Refund.id == OutgoingTransfer.refund_id)
        .join(Order, Order.id == Refund.order_id).join(Organisation, Organisation.id == OutgoingTransfer.organisation_id)
        .order_by(OutgoingTransfer.id.desc()).limit(limit)).all()


def refunds_of_order(order_id):
    """(refund, outgoing transfer or None) of an order's refunds to its organisation, oldest first."""
    return db.session.execute(
        select(Refund, OutgoingTransfer).outerjoin(OutgoingTransfer, OutgoingTransfer.refund_id == Refund.id)
        .where(Refund.order_id == order_id, Refund.method == "transfer").order_by(Refund.id)).all()


def _checked(value_date, amount_fen, bank_reference):
    if not isinstance(value_date, date):
        raise DomainError(_("Enter the date the money was sent."), field="value_date")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise DomainError(_("Enter the amount sent, more than zero."), field="amount")
    bank_reference = (bank_reference or "").strip()
    if not bank_reference or len(bank_reference) > 80:
        raise DomainError(_("Enter the bank's transaction number of the transfer (up to 80 characters)."),
                          field="bank_reference")
    return bank_reference


def record_refund_transfer(actor_id, refund_id, organisation_id, value_date, amount_fen, bank_reference):
    """Finance staff record the outgoing bank transfer that paid refund `refund_id` back to
    organisation `organisation_id`; posts `transfer_refund_paid` and commits. Returns the OutgoingTransfer.

    Refused, with nothing changed: not finance staff (Forbidden); an unknown refund or one that is
    not owed to an organisation (NotFound); the organisation is not the one whose order it is, the
    amount is not exactly what is owed, the refund was paid back already, or the bank transaction was
    recorded before (RefundTransferRefused)."""
    _staff(actor_id)
    bank_reference = _checked(value_date, amount_fen, bank_reference)
    order_id = db.session.scalar(select(Refund.order_id).where(Refund.id == refund_id, Refund.method == "transfer"))
    if order_id is None:
        raise NotFound(_("No refund owed to an organisation has that number."))
    lock_order(order_id)
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id).execution_options(populate_existing=True))
    owner = db.session.scalar(select(Requisition.organisation_id).where(Requisition.order_id == order_id))
    if owner != organisation_id:
        db.session.rollback()
        raise RefundTransferRefused(_("This refund is owed to another organisation: that organisation's order "
                                      "is not this one."), code="another_organisation", field="organisation")
    if refund.status != OWED or db.session.scalar(select(OutgoingTransfer.id).where(
            OutgoingTransfer.refund_id == refund.id)):
        db.session.rollback()
        raise RefundTransferRefused(_("This refund was paid back already; nothing was recorded."),
                                    code="refund_paid_back_already")
    if amount_fen != refund.amount_fen:
        db.session.rollback()
        raise RefundTransferRefused(_("The refund owed is %(owed)s; record the transfer of exactly that amount."),
                                    code="amount_not_owed", field="amount", owed=Yuan(refund.amount_fen))
    if db.session.scalar(select(OutgoingTransfer.id).where(OutgoingTransfer.bank_reference == bank_reference)):
        db.session.rollback()
        raise RefundTransferRefused(_("That bank transaction number was recorded before; nothing was recorded."),
                                    code="bank_transaction_recorded", field="bank_reference")
    if entry_for_key(f"refund:{refund.id}") is None:
        attribute_refund(refund.id)  # the worker has not posted it yet: post it now (idempotent; commits)
        lock_order(order_id)
        refund = db.session.get(Refund, refund_id)
    order = db.session.get(Order, order_id)
    outgoing = OutgoingTransfer(refund_id=refund.id, organisation_id=organisation_id, amount_fen=amount_fen,
                                value_date=value_date, bank_reference=bank_reference, recorded_by_id=actor_id)
    db.session.add(outgoing)
    db.session.flush()
    pay_organisation_back(refund, order, outgoing)
    refund.status = "succeeded"
    db.session.add(OrderEvent(order_id=order.id, status=order.status, note="refund_paid_back", actor_id=actor_id))
    record("transfer.refund_paid", actor_id, outgoing, organisation_id=organisation_id, order_no=order.public_no,
           refund_id=refund.id, amount_fen=amount_fen, bank_reference=bank_reference,
           value_date=value_date.isoformat())
    db.session.commit()
    return outgoing
