"""An order on pay-after-acceptance terms, shipped unpaid: refunding some of its lines shrinks what
the organisation owes (nothing is owed back for money never paid), cancelling it leaves nothing due,
and `ledger verify` stays clean once the reduced transfer arrives."""
import pytest
from sqlalchemy import select

from marketplace.errors import Conflict, DomainError, Forbidden
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_refund
from marketplace.ledger.services import account_id, owed_to_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import Order
from marketplace.organisations import payment_clock, transfer_refunds, transfers, unpaid_orders
from marketplace.organisations.models import Requisition
from marketplace.payments.models import Refund
from marketplace.payments.refunds import refund_order
from tests.organisations.test_pay_after_acceptance import DAY, order_entries, shipped_order, terms  # noqa: F401
from tests.organisations.test_transfers import approved_order, credited_to_recipients
from tests.organisations.test_views import signed_in


def two_line_order(inst):
    requisition, order = approved_order(inst, [(inst.variant, 10), (inst.direct, 2)])
    return requisition, order


def test_a_card_style_refund_of_an_unpaid_order_is_refused_as_before(terms):
    _requisition, order, _shipment = shipped_order(terms, units=5)
    with pytest.raises(Conflict):
        refund_order(order.id, {order.lines[0].id: 1}, terms.admin.id, restock=False)
    db.session.rollback()
    assert db.session.scalar(select(Refund.id).where(Refund.order_id == order.id)) is None


def test_refunding_lines_before_payment_shrinks_what_is_due_and_nothing_is_owed_back(app, terms):
    requisition, order = two_line_order(terms)
    stock = terms.direct.stock_available
    direct_line = next(line for line in order.lines if line.variant_id == terms.direct.id)
    refund = unpaid_orders.refund_unpaid_lines(terms.admin.id, order.id, {direct_line.id: 2}, restock=True,
                                               reason="缺货")
    order = db.session.get(Order, order.id)
    assert refund.status == "deducted" and refund.amount_fen == 2 * 1500
    assert unpaid_orders.amount_due_fen(order) == order.total_fen - 3000
    assert order_entries(order.id) == 0  # no money, no credit, nothing reversed
    db.session.refresh(terms.direct)
    assert terms.direct.stock_available == stock + 2
    assert transfer_refunds.refunds_owed() == []  # nothing to pay back: it was never paid
    page = signed_in(app, terms.finance).get(f"/org/requests/{requisition.id}").get_data(as_text=True)
    assert f"¥{(order.total_fen - 3000) / 100:,.2f}" in page and "已从应付金额中扣除" in page
    # the full total is now an over-payment; the amount due matches
    over = transfers.record_transfer(terms.admin.id, DAY, order.total_fen, "一中", requisition.transfer_reference)
    assert over.outcome == "over" and order_entries(order.id) == 0
    paid = transfers.record_transfer(terms.admin.id, DAY, order.total_fen - 3000, "一中",
                                     requisition.transfer_reference, bank_reference="B-2")
    assert paid.outcome == "matched"
    attribute_refund(refund.id)  # the outbox message `_pay` published
    order = db.session.get(Order, order.id)
    assert credited_to_recipients(order.id) == order.total_fen - 3000  # credits = paid − refunded
    organisation = account_id("organisation_refunds", "organisation", terms.organisation.id)
    assert owed_to_fen(organisation) == 0
    report = verify_ledger()
    assert report.ok, report.violations
    with pytest.raises(Exception):  # never paid back: it was deducted
        transfer_refunds.record_refund_transfer(terms.admin.id, refund.id, terms.organisation.id, DAY, 3000, "OUT-1")
    db.session.rollback()


def test_cancelling_a_shipped_unpaid_order_leaves_nothing_due(terms):
    requisition, order, _shipment = shipped_order(terms, units=6)
    stock = db.session.get(type(terms.variant), terms.variant.id).stock_available
    with pytest.raises(DomainError):
        unpaid_orders.cancel_unpaid_order(terms.admin.id, order.id, restock=True, reason="")
    with pytest.raises(Forbidden):
        unpaid_orders.cancel_unpaid_order(terms.approver.id, order.id, restock=True, reason="退回")
    db.session.rollback()
    unpaid_orders.cancel_unpaid_order(terms.admin.id, order.id, restock=True, reason="货物整单退回")
    order = db.session.get(Order, order.id)
    assert order.status == "cancelled" and order.paid_at is None and order_entries(order.id) == 0
    assert db.session.get(type(terms.variant), terms.variant.id).stock_available == stock + 6
    assert db.session.scalar(select(Refund.id).where(Refund.order_id == order.id)) is None
    assert payment_clock.clock_of(db.session.get(Requisition, requisition.id), order).state == "none"
    late = transfers.record_transfer(terms.admin.id, DAY, order.total_fen, "一中", requisition.transfer_reference)
    assert late.outcome == "not_payable" and order_entries(order.id) == 0
    with pytest.raises(Conflict):
        unpaid_orders.cancel_unpaid_order(terms.admin.id, order.id, restock=True, reason="再次")
    db.session.rollback()
    assert verify_ledger().ok


def test_refunding_every_line_or_a_paid_order_this_way_is_refused(terms):
    requisition, order = two_line_order(terms)
    with pytest.raises(DomainError):
        unpaid_orders.refund_unpaid_lines(terms.admin.id, order.id,
                                          {line.id: line.quantity for line in order.lines}, restock=True)
    with pytest.raises(DomainError):
        unpaid_orders.refund_unpaid_lines(terms.admin.id, order.id, {order.lines[0].id: 99}, restock=True)
    db.session.rollback()
    assert db.session.get(Order, order.id).refunded_fen == 0
    transfers.record_transfer(terms.admin.id, DAY, order.total_fen, "一中", requisition.transfer_reference)
    with pytest.raises(Conflict):
        unpaid_orders.refund_unpaid_lines(terms.admin.id, order.id, {order.lines[0].id: 1}, restock=True)
    db.session.rollback()


def test_terms_reminders_are_mailed_once_near_the_deadline_and_once_overdue(app, terms, tmp_path, monkeypatch):
    """The beat task drives the clock from acceptance: nothing before acceptance or while far from
    the deadline; one reminder within TRANSFER_REMINDER_DAYS (with the amount due, less a line
    refunded before payment); one overdue notice; then nothing more, and nothing once paid."""
    from datetime import timedelta

    from marketplace.organisations import acceptance
    from tests.organisations.test_acceptance_and_invoices import sent

    log = tmp_path / "mail.log"
    monkeypatch.setitem(app.config, "MAIL_LOG_PATH", str(log))
    requisition, order, shipment = shipped_order(terms, units=10)
    assert payment_clock.send_payment_reminders(now=order.created_at + timedelta(days=60)) == 0  # not accepted yet
    unpaid_orders.refund_unpaid_lines(terms.admin.id, order.id, {order.lines[0].id: 1}, restock=False)
    accepted_at = acceptance.accept_shipment(terms.approver.id, shipment.id, "验收合格").accepted_at
    assert payment_clock.send_payment_reminders(now=accepted_at + timedelta(days=10)) == 0  # 20 days left
    near = accepted_at + timedelta(days=28)
    assert payment_clock.send_payment_reminders(now=near) == 1
    assert payment_clock.send_payment_reminders(now=near) == 0
    mails = sent(log)
    assert {mail["To"] for mail in mails} == {terms.finance.email, terms.approver.email, terms.approver2.email}
    due = db.session.get(Order, order.id).total_fen - 800
    assert all(requisition.transfer_reference in mail.get_content() and f"¥{due / 100:,.2f}" in mail.get_content()
               for mail in mails)
    late = accepted_at + timedelta(days=31)
    assert payment_clock.send_payment_reminders(now=late) == 1
    assert payment_clock.send_payment_reminders(now=late) == 0
    assert sum("已逾期" in mail.get_content() for mail in sent(log)) == 3
    assert db.session.get(Order, order.id).status != "cancelled"  # overdue is flagged, never cancelled


def test_the_previews_say_what_the_amount_due_becomes_and_refuse_as_the_actions_do(terms):
    requisition, order = two_line_order(terms)
    direct_line = next(line for line in order.lines if line.variant_id == terms.direct.id)
    preview = unpaid_orders.preview_refund(terms.admin.id, order.id, {direct_line.id: 1})
    assert preview == (({direct_line.id: 1500}), 1500, order.total_fen, order.total_fen - 1500)
    assert unpaid_orders.preview_cancel(terms.admin.id, order.id, "退回").due_after_fen == 0
    with pytest.raises(DomainError):
        unpaid_orders.preview_refund(terms.admin.id, order.id, {line.id: line.quantity for line in order.lines})
    with pytest.raises(DomainError):
        unpaid_orders.preview_cancel(terms.admin.id, order.id, " ")
    with pytest.raises(Forbidden):
        unpaid_orders.preview_refund(terms.finance.id, order.id, {direct_line.id: 1})
    db.session.rollback()
    order = db.session.get(Order, order.id)
    assert order.refunded_fen == 0 and unpaid_orders.deducted_fen(order.id) == 0  # nothing was changed
    unpaid_orders.refund_unpaid_lines(terms.admin.id, order.id, {direct_line.id: 1}, restock=False)
    assert unpaid_orders.deducted_fen(order.id) == 1500
    transfers.record_transfer(terms.admin.id, DAY, order.total_fen - 1500, "一中", requisition.transfer_reference)
    order = db.session.get(Order, order.id)
    assert not unpaid_orders.changeable_before_payment(db.session.get(Requisition, requisition.id), order)
    with pytest.raises(Conflict):
        unpaid_orders.preview_cancel(terms.admin.id, order.id, "退回")
    db.session.rollback()
