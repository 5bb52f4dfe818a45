"""The payment clock of an order paid by company transfer (对公转账).

Approval places the order and holds its stock TRANSFER_PAYMENT_DAYS (30): that hold is the
deadline, `orders.reservation_expires_at`. While it runs, the organisation's finance or approver
may extend it once by TRANSFER_EXTENSION_DAYS (15) — the order's and its reservations' expiry
move together, in one transaction, the requisition's row locked so two presses extend it once.

What each party sees: the organisation, on the request and its list, the deadline in Beijing time
with the days left, flagged `due_soon` within TRANSFER_REMINDER_DAYS and `lapsed` once it ran out;
the platform's finance, the orders awaiting a transfer on its transfer page, soonest first, with
the same flags. When the deadline passes the ordinary reservation sweep
(`orders.release_expired_reservations`) cancels the order and puts its stock back; a transfer that
still arrives is kept as a `not_payable` discrepancy, never applied.

The beat task `organisations.send_payment_reminders` mails the organisation's finance and
approvers once when the deadline is near and once when the order lapsed (on pay-after-acceptance
terms: once near the deadline after acceptance, once when it is overdue). Each notice is claimed
by a conditional UPDATE and committed before the mail is sent, and unclaimed again if sending
fails, so a retried or duplicated task sends each notice once.

Pay after acceptance (`Requisition.payment_terms == "after_acceptance"`): the approved order is
packed and shipped unpaid (status `on_terms`, its stock taken for good, nothing to release). Its
clock starts when the organisation has accepted (验收) every parcel: the deadline is the last
acceptance plus TERMS_PAYMENT_DAYS (30), plus TRANSFER_EXTENSION_DAYS if extended (once, before
the deadline). Until then the state is `awaiting_acceptance`; after it, `overdue` — flagged, never
cancelled: the goods were delivered. No seller's credit exists before the transfer arrives (the
ledger attributes the order when it is paid), so none becomes payable before the money is here.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import select, update

from marketplace.audit.services import record
from marketplace.database import lock_for_update, utcnow
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.local_time import format_local
from marketplace.mail import send_mail
from marketplace.money import format_fen
from marketplace.orders.models import Order, Shipment, StockReservation
from marketplace.organisations.models import Organisation, OrganisationMember, Requisition, ShipmentAcceptance
from marketplace.organisations.requisitions import _member
from marketplace.organisations.unpaid_orders import amount_due_fen
from marketplace.people.models import User


@dataclass
class PaymentClock:
    due_at: datetime | None
    days_left: int | None
    state: str  # awaiting | due_soon | overdue | lapsed | paid | none | awaiting_acceptance (terms)
    extended: bool
    can_extend: bool


def accepted_at(order_id):
    """When the organisation accepted the last of the order's parcels, or None while one is not accepted."""
    shipments = db.session.execute(
        select(Shipment.id, ShipmentAcceptance.accepted_at)
        .outerjoin(ShipmentAcceptance, ShipmentAcceptance.shipment_id == Shipment.id)
        .where(Shipment.order_id == order_id, Shipment.status != "cancelled", Shipment.replaces_claim_id.is_(None))).all()
    if not shipments or any(at is None for _id, at in shipments):
        return None
    return max(at for _id, at in shipments)


def terms_due_at(requisition, order_id):
    """The deadline of an order on pay-after-acceptance terms, or None before its acceptance."""
    accepted = accepted_at(order_id)
    if accepted is None:
        return None
    days = current_app.config["TERMS_PAYMENT_DAYS"]
    if requisition.extended_at is not None:
        days += current_app.config["TRANSFER_EXTENSION_DAYS"]
    return accepted + timedelta(days=days)


def _terms_clock(requisition, order, now):
    extended = requisition.extended_at is not None
    if order.status in ("cancelled", "refunded"):
        return PaymentClock(None, None, "none", extended, False)
    due = terms_due_at(requisition, order.id)
    if order.paid_at is not None:
        return PaymentClock(due, None, "paid", extended, False)
    if due is None:
        return PaymentClock(None, None, "awaiting_acceptance", extended, False)
    if due <= now:
        return PaymentClock(due, -math.floor((now - due).total_seconds() / 86400), "overdue", extended, False)
    days_left = math.ceil((due - now).total_seconds() / 86400)
    state = "due_soon" if days_left <= current_app.config["TRANSFER_REMINDER_DAYS"] else "awaiting"
    return PaymentClock(due, days_left, state, extended, not extended)


def clock_of(requisition, order, now=None):
    """Where the order's payment clock stands (see the module docstring for the states)."""
    now = now or utcnow()
    extended = requisition.extended_at is not None
    if order is None:
        return PaymentClock(None, None, "none", extended, False)
    if requisition.payment_terms == "after_acceptance":
        return _terms_clock(requisition, order, now)
    if order.paid_at is not None:
        return PaymentClock(order.reservation_expires_at, None, "paid", extended, False)
    due = order.reservation_expires_at
    if order.status == "cancelled":
        return PaymentClock(due, None, "lapsed", extended, False)
    if order.status != "pending_payment" or due is None:
        return PaymentClock(due, None, "none", extended, False)
    if due <= now:  # the sweep has not released it yet
        return PaymentClock(due, 0, "overdue", extended, False)
    days_left = math.ceil((due - now).total_seconds() / 86400)
    state = "due_soon" if days_left <= current_app.config["TRANSFER_REMINDER_DAYS"] else "awaiting"
    return PaymentClock(due, days_left, state, extended, not extended)


def extend_payment(user_id, requisition_id, now=None):
    """Give the organisation TRANSFER_EXTENSION_DAYS more to pay, once, before the deadline passes."""
    member = _member(user_id, "finance", "approver")
    requisition = db.session.scalar(lock_for_update(select(Requisition).where(Requisition.id == requisition_id)))
    if requisition is None or requisition.organisation_id != member.organisation_id:
        raise NotFound(_("No such order request."))
    order = db.session.get(Order, requisition.order_id) if requisition.order_id else None
    if requisition.extended_at is not None:
        raise Conflict(_("The time to pay was extended once already; it cannot be extended again."))
    now = now or utcnow()
    if requisition.payment_terms == "after_acceptance":
        return _extend_terms(user_id, requisition, order, now)
    if order is None or order.status != "pending_payment" or order.reservation_expires_at is None \
            or order.reservation_expires_at <= now:
        raise Conflict(_("Only an order still waiting for its transfer, before its deadline, can be given more time."))
    days = current_app.config["TRANSFER_EXTENSION_DAYS"]
    due = order.reservation_expires_at + timedelta(days=days)
    moved = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == "pending_payment")
        .values(reservation_expires_at=due).execution_options(synchronize_session=False)).rowcount
    if not moved:
        db.session.rollback()
        raise Conflict(_("Only an order still waiting for its transfer, before its deadline, can be given more time."))
    db.session.execute(update(StockReservation).where(StockReservation.order_id == order.id,
                                                      StockReservation.status == "held")
                       .values(expires_at=due).execution_options(synchronize_session=False))
    requisition.extended_at, requisition.extended_by_id = now, user_id
    record("requisition.payment_extended", user_id, requisition, organisation_id=requisition.organisation_id,
           order_id=order.id, days=days, due_at=due.isoformat())
    db.session.commit()
    db.session.refresh(order)
    return order


def _extend_terms(user_id, requisition, order, now):
    """The one extension of a pay-after-acceptance deadline: only once the clock runs, before it passes."""
    due = terms_due_at(requisition, order.id) if order is not None else None
    if order is None or order.paid_at is not None or order.status in ("cancelled", "refunded") or due is None \
            or due <= now:
        db.session.rollback()
        raise Conflict(_("Only an accepted order still waiting for its transfer, before its deadline, can be "
                         "given more time."))
    days = current_app.config["TRANSFER_EXTENSION_DAYS"]
    requisition.extended_at, requisition.extended_by_id = now, user_id
    record("requisition.payment_extended", user_id, requisition, organisation_id=requisition.organisation_id,
           order_id=order.id, days=days, due_at=(due + timedelta(days=days)).isoformat())
    db.session.commit()
    return order


def awaiting_transfer(limit=200, now=None):
    """(requisition, order, clock) of every approved order still waiting for its transfer: first those
    that must be paid first, soonest deadline first; then those on pay-after-acceptance terms,
    overdue first, then soonest deadline, then those not yet accepted."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Requisition, Order).join(Order, Order.id == Requisition.order_id)
        .where(Order.status == "pending_payment").order_by(Order.reservation_expires_at, Order.id).limit(limit)).all()
    terms = db.session.execute(
        select(Requisition, Order).join(Order, Order.id == Requisition.order_id)
        .where(Requisition.payment_terms == "after_acceptance", Order.paid_at.is_(None),
               Order.status.not_in(("cancelled", "refunded"))).order_by(Order.id).limit(limit)).all()
    clocks = [(requisition, order, clock_of(requisition, order, now)) for requisition, order in terms]
    clocks.sort(key=lambda row: (row[2].due_at is None, row[2].due_at or now, row[1].id))
    return [(requisition, order, clock_of(requisition, order, now)) for requisition, order in rows] + clocks


def _recipients(organisation_id):
    return list(db.session.scalars(
        select(User.email).join(OrganisationMember, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id == organisation_id,
               OrganisationMember.role.in_(("finance", "approver")), User.is_active_account.is_(True))
        .order_by(User.id)))


def _notice(requisition_id, column, subject, body):
    """Claim the notice, commit, send; unclaim if the mail cannot be sent. True if sent."""
    claimed = db.session.execute(
        update(Requisition).where(Requisition.id == requisition_id, getattr(Requisition, column).is_(None))
        .values({column: utcnow()}).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not claimed:
        return False
    requisition = db.session.get(Requisition, requisition_id)
    try:
        for email in _recipients(requisition.organisation_id):
            send_mail(email, subject, body)
    except OSError:
        db.session.execute(update(Requisition).where(Requisition.id == requisition_id)
                           .values({column: None}).execution_options(synchronize_session=False))
        db.session.commit()
        raise
    return True


def send_payment_reminders(now=None):
    """Beat task body: remind of deadlines within TRANSFER_REMINDER_DAYS, and tell of orders that
    lapsed unpaid. Returns how many notices were sent."""
    now = now or utcnow()
    soon = now + timedelta(days=current_app.config["TRANSFER_REMINDER_DAYS"])
    account = current_app.config["PLATFORM_BANK_ACCOUNT_NAME"], current_app.config["PLATFORM_BANK_NAME"], \
        current_app.config["PLATFORM_BANK_ACCOUNT_NO"]
    due = db.session.execute(
        select(Requisition.id, Order.public_no, Order.total_fen, Order.reservation_expires_at,
               Requisition.transfer_reference, Organisation.name)
        .join(Order, Order.id == Requisition.order_id).join(Organisation, Organisation.id == Requisition.organisation_id)
        .where(Order.status == "pending_payment", Requisition.reminded_at.is_(None),
               Order.reservation_expires_at > now, Order.reservation_expires_at <= soon)
        .order_by(Requisition.id).limit(500)).all()
    lapsed = db.session.execute(
        select(Requisition.id, Order.public_no, Order.total_fen, Order.reservation_expires_at,
               Requisition.transfer_reference, Organisation.name)
        .join(Order, Order.id == Requisition.order_id).join(Organisation, Organisation.id == Requisition.organisation_id)
        .where(Order.status == "cancelled", Order.paid_at.is_(None), Requisition.lapse_notified_at.is_(None),
               Order.reservation_expires_at <= now)
        .order_by(Requisition.id).limit(500)).all()
    db.session.rollback()
    sent = 0
    for requisition_id, public_no, total_fen, due_at, reference, name in due:
        when = format_local(due_at)
        body = (f"{name}：订单 {public_no} 尚待对公转账 {format_fen(total_fen, 'zh_CN')}，请于 {when}（北京时间）前"
                f"转入 {account[0]}（{account[1]}，账号 {account[2]}），摘要填写 {reference}。逾期订单将自动取消、释放库存。\n\n"
                f"Order {public_no} awaits your company transfer of {format_fen(total_fen, 'en')}: pay before {when} "
                f"(Beijing time) with {reference} in the memo, or the order is cancelled and its stock released.")
        sent += _notice(requisition_id, "reminded_at", f"订单 {public_no} 转账截止 {when} · payment due", body)
    for requisition_id, public_no, total_fen, due_at, reference, name in lapsed:
        when = format_local(due_at)
        body = (f"{name}：订单 {public_no}（{format_fen(total_fen, 'zh_CN')}，参考号 {reference}）未在 {when}（北京时间）前"
                f"收到转账，已取消，库存已释放。此后收到的转账不会用于该订单，平台财务将联系退回。\n\n"
                f"Order {public_no} was not paid by {when} (Beijing time) and is cancelled; its stock is released. A "
                f"transfer that still arrives is not applied to it: the platform's finance will return it.")
        sent += _notice(requisition_id, "lapse_notified_at", f"订单 {public_no} 已因未付款取消 · order cancelled", body)
    return sent + _send_terms_reminders(now, account)


def _send_terms_reminders(now, account):
    """The same two notices for orders on pay-after-acceptance terms, whose deadline runs from the
    last acceptance (`terms_due_at`, not a column): once within TRANSFER_REMINDER_DAYS of it
    (`reminded_at`), once when it has passed (`lapse_notified_at`: overdue, never cancelled). The
    amount asked is what is due: the total less lines refunded before payment."""
    rows = db.session.execute(
        select(Requisition, Order, Organisation.name)
        .join(Order, Order.id == Requisition.order_id).join(Organisation, Organisation.id == Requisition.organisation_id)
        .where(Requisition.payment_terms == "after_acceptance", Order.paid_at.is_(None),
               Order.status.not_in(("cancelled", "refunded")),
               (Requisition.reminded_at.is_(None)) | (Requisition.lapse_notified_at.is_(None)))
        .order_by(Requisition.id).limit(500)).all()
    soon = now + timedelta(days=current_app.config["TRANSFER_REMINDER_DAYS"])
    notices = []
    for requisition, order, name in rows:
        due_at = terms_due_at(requisition, order.id)
        if due_at is None:
            continue
        when, amount, reference = format_local(due_at), amount_due_fen(order), requisition.transfer_reference
        if due_at <= now and requisition.lapse_notified_at is None:
            body = (f"{name}：订单 {order.public_no} 已验收，应于 {when}（北京时间）前对公转账 {format_fen(amount, 'zh_CN')}，"
                    f"现已逾期。请尽快转入 {account[0]}（{account[1]}，账号 {account[2]}），摘要填写 {reference}。\n\n"
                    f"Order {order.public_no} was accepted and its company transfer of {format_fen(amount, 'en')} was due "
                    f"by {when} (Beijing time): it is overdue. Please pay now with {reference} in the memo.")
            notices.append((requisition.id, "lapse_notified_at", f"订单 {order.public_no} 付款已逾期 · payment overdue", body))
        elif now < due_at <= soon and requisition.reminded_at is None:
            body = (f"{name}：订单 {order.public_no} 已验收，请于 {when}（北京时间）前对公转账 {format_fen(amount, 'zh_CN')}"
                    f"至 {account[0]}（{account[1]}，账号 {account[2]}），摘要填写 {reference}。\n\n"
                    f"Order {order.public_no} was accepted: pay its company transfer of {format_fen(amount, 'en')} before "
                    f"{when} (Beijing time) with {reference} in the memo.")
            notices.append((requisition.id, "reminded_at", f"订单 {order.public_no} 转账截止 {when} · payment due", body))
    db.session.rollback()
    return sum(_notice(*notice) for notice in notices)
