"""Company transfers (对公转账) into the platform's account, matched to orders by their reference.

Staff record a transfer by hand or import the bank's statement (CSV or XLSX, read within the
bounds of `imports.reading`). Each credit is matched on the transfer reference found in its memo
(XF + 7 characters, the last a check character, so a mistyped reference matches nothing):

- exactly the order's total, the order awaiting payment → `matched`: the order is paid and its
  money attributed as any payment's, in the same transaction (rule `transfer_payment`: Dr bank,
  Cr sales_pending, then every line, shipping and round-up as after rule 1);
- otherwise the credit is kept as a discrepancy, never applied: `partial` (less than the total),
  `over` (more), `ambiguous` (two or more references), `unknown_reference`, `already_paid` (its
  order was paid by another transfer or card), `not_payable` (the order was cancelled or released),
  `duplicate` (the same bank transaction was recorded before).

The requisition's row is locked before its order is touched, and `paid_order_id` is unique, so
two statements naming the same order at once pay it once: the second waits, then finds it paid.
"""
import hashlib
import re
from datetime import date

from flask_babel import lazy_gettext as _
from sqlalchemy import case, select, update

from marketplace.audit.services import record
from marketplace.database import lock_for_update, utcnow
from marketplace.errors import DomainError, Forbidden
from marketplace.extensions import db
from marketplace.imports.reading import read_rows
from marketplace.ledger.rules.names import TRANSFER_PAYMENT
from marketplace.ledger.rules.sales import attribute_order
from marketplace.ledger.services import account_id, post_entry
from marketplace.money import MoneyError, yuan_to_fen
from marketplace.orders.models import Order, OrderEvent
from marketplace.orders.reservations import convert_reservations
from marketplace.outbox.services import publish
from marketplace.payments.models import Refund
from marketplace.payments.refunds import DEDUCTED
from marketplace.organisations.credit_code import check_character
from marketplace.organisations.models import IncomingTransfer, Requisition
from marketplace.organisations.unpaid_orders import amount_due_fen
from marketplace.people.models import User

# What an unpaid order may be in when its transfer arrives: awaiting payment, or (pay after
# acceptance) anywhere between approval and completion, but not cancelled or refunded.
PAYABLE_STATUSES = ("pending_payment", "on_terms", "packed", "shipped", "delivered", "completed")
REFERENCE = re.compile(r"XF[0-9A-HJ-NPQRTUWXY]{7}")
MAX_STATEMENT_BYTES = 5 * 1024 * 1024
STATEMENT_COLUMNS = {
    "value_date": ("交易日期", "日期", "记账日期", "date"),
    "amount": ("贷方金额", "收入金额", "金额", "amount"),
    "payer_name": ("对方户名", "付款人", "对方名称", "payer"),
    "memo": ("摘要", "附言", "用途", "备注", "memo"),
    "bank_reference": ("流水号", "交易流水号", "凭证号", "reference"),
}


def references_in(memo):
    """The well-formed transfer references in a memo (spaces, dashes and case ignored)."""
    squeezed = re.sub(r"[\s\-_]", "", (memo or "").upper())
    return sorted({found for found in REFERENCE.findall(squeezed) if check_character(found[2:8]) == found[8]})


def _staff(actor_id):
    actor = db.session.get(User, actor_id)
    if actor is None or actor.role != "admin" or not actor.is_active_account:
        raise Forbidden(_("Only the platform's finance staff record transfers."))


def _fingerprint(bank_reference, value_date, amount_fen, payer_name, memo):
    basis = f"bank:{bank_reference}" if bank_reference else f"{value_date}|{amount_fen}|{payer_name}|{memo}"
    return hashlib.sha256(basis.encode()).hexdigest()


def _pay(order, transfer, actor_id):
    """The order is paid by this transfer: state, stock kept, ledger, attribution — or nothing.

    An order on pay-after-acceptance terms may be packed, shipped, even settled already: it keeps
    its progress (only `on_terms` becomes `paid`), and its credits are posted now, when the money
    is here — available at once for shipments whose after-sales window has closed. Lines refunded
    before it paid (organisations/unpaid_orders.py) were taken off what it transferred: the bank
    receives the amount due, and those refunds are posted as deducted from it."""
    deducted = db.session.scalars(select(Refund).where(Refund.order_id == order.id, Refund.method == "transfer",
                                                       Refund.status == DEDUCTED).order_by(Refund.id)).all()
    moved = db.session.execute(
        update(Order).where(Order.id == order.id, Order.paid_at.is_(None), Order.status.in_(PAYABLE_STATUSES))
        .values(status=case((Order.status.in_(("pending_payment", "on_terms")),
                             case((Order.refunded_fen > 0, "partially_refunded"), else_="paid")), else_=Order.status),
                paid_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not moved:
        return False
    db.session.refresh(order)
    due = order.total_fen - sum(refund.amount_fen for refund in deducted)
    convert_reservations(order.id)
    db.session.add(OrderEvent(order_id=order.id, status="paid", note="paid", actor_id=actor_id))
    transfer.paid_order_id = order.id
    db.session.flush()
    post_entry(
        f"transfer:order:{order.id}", TRANSFER_PAYMENT,
        [(account_id("bank"), due), (account_id("sales_pending"), -due)],
        rule_settings={"amount_fen": transfer.amount_fen, "transfer_id": transfer.id,
                       "transfer_reference": transfer.transfer_reference},
        memo=f"company transfer for order {order.public_no}", order_id=order.id, created_by_id=actor_id)
    attribute_order(order, paid_at=order.paid_at)
    for refund in deducted:  # refunded before it was paid: reversed now, and deducted from the transfer
        publish("ledger.attribute_refund", refund_id=refund.id)
    return True


def _apply(actor_id, value_date, amount_fen, payer_name, memo, bank_reference, statement_name):
    fingerprint = _fingerprint(bank_reference, value_date, amount_fen, payer_name, memo)
    transfer = IncomingTransfer(bank_reference=bank_reference, fingerprint=fingerprint, value_date=value_date,
                                payer_name=payer_name, amount_fen=amount_fen, memo=memo,
                                statement_name=statement_name, recorded_by_id=actor_id, outcome="unknown_reference")
    found = references_in(memo)
    duplicate = db.session.scalar(select(IncomingTransfer.id).where(IncomingTransfer.fingerprint == fingerprint,
                                                                     IncomingTransfer.outcome != "duplicate"))
    if duplicate:
        transfer.outcome = "duplicate"
    elif len(found) > 1:
        transfer.outcome, transfer.transfer_reference = "ambiguous", ",".join(found)[:20]
    elif found:
        transfer.transfer_reference = found[0]
        requisition = db.session.scalar(lock_for_update(
            select(Requisition).where(Requisition.transfer_reference == found[0])))
        if requisition is not None:
            transfer.requisition_id = requisition.id
            transfer.outcome = _outcome(requisition, transfer, actor_id)
    db.session.add(transfer)
    db.session.flush()
    return transfer


def _outcome(requisition, transfer, actor_id):
    order = db.session.get(Order, requisition.order_id)
    if db.session.scalar(select(IncomingTransfer.id).where(IncomingTransfer.paid_order_id == order.id)) \
            or order.paid_at is not None:
        return "already_paid"
    if order.status not in (PAYABLE_STATUSES if requisition.payment_terms == "after_acceptance"
                            else ("pending_payment",)):
        return "not_payable"
    due = amount_due_fen(order)
    if transfer.amount_fen < due:
        return "partial"
    if transfer.amount_fen > due:
        return "over"
    db.session.add(transfer)
    return "matched" if _pay(order, transfer, actor_id) else "not_payable"


def _checked(value_date, amount_fen, payer_name, memo, bank_reference):
    if not isinstance(value_date, date):
        raise DomainError(_("Enter the date the money arrived."), field="value_date")
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise DomainError(_("Enter the amount received, more than zero."), field="amount")
    if len(payer_name or "") > 120 or len(memo or "") > 300 or len(bank_reference or "") > 80:
        raise DomainError(_("The payer, memo or bank reference is too long."), field="memo")
    return (payer_name or "").strip(), (memo or "").strip(), (bank_reference or "").strip()


def record_transfer(actor_id, value_date, amount_fen, payer_name, memo, bank_reference=""):
    """One transfer typed in by finance staff; matched at once. Returns the IncomingTransfer."""
    _staff(actor_id)
    payer_name, memo, bank_reference = _checked(value_date, amount_fen, payer_name, memo, bank_reference)
    transfer = _apply(actor_id, value_date, amount_fen, payer_name, memo, bank_reference, "")
    record("transfer.recorded", actor_id, transfer, outcome=transfer.outcome, amount_fen=amount_fen)
    db.session.commit()
    return transfer


class StatementRefused(DomainError):
    code = "statement_refused"


def import_statement(actor_id, filename, data):
    """Every credit of a bank statement, matched; one transaction, so a file with a bad row
    imports nothing (the row is named). Debit rows (no credit amount) are skipped."""
    _staff(actor_id)
    if len(data or b"") > MAX_STATEMENT_BYTES:
        raise StatementRefused("The statement is larger than 5 MB; split it.")
    rows = read_rows(filename, data, STATEMENT_COLUMNS, required=("value_date", "amount", "memo"))
    parsed = []
    for row in rows:
        if row.bad_encoding:
            raise StatementRefused("Row %(row)s of the statement cannot be read.", row=row.number)
        values = row.values
        if not values.get("amount"):
            continue
        try:
            value_date = date.fromisoformat(values["value_date"].replace("/", "-")[:10])
            amount_fen = yuan_to_fen(values["amount"])
        except (ValueError, MoneyError) as error:
            raise StatementRefused("Row %(row)s has no valid date or amount; nothing was imported.",
                                   row=row.number) from error
        if amount_fen <= 0:
            continue
        parsed.append((value_date, amount_fen, values.get("payer_name", ""), values.get("memo", ""),
                       values.get("bank_reference", "")))
    if not parsed:
        raise StatementRefused("The statement has no credits to match.")
    transfers = []
    for value_date, amount_fen, payer_name, memo, bank_reference in parsed:
        payer_name, memo, bank_reference = _checked(value_date, amount_fen, payer_name, memo, bank_reference)
        transfers.append(_apply(actor_id, value_date, amount_fen, payer_name, memo, bank_reference,
                                (filename or "")[:120]))
    record("transfer.statement_imported", actor_id, None, statement=(filename or "")[:120], rows=len(transfers),
           matched=sum(1 for transfer in transfers if transfer.outcome == "matched"))
    db.session.commit()
    return transfers


def recent_transfers(limit=200):
    return db.session.scalars(select(IncomingTransfer).order_by(IncomingTransfer.id.desc()).limit(limit)).all()


def transfer_of_order(order_id):
    return db.session.scalar(select(IncomingTransfer).where(IncomingTransfer.paid_order_id == order_id))
