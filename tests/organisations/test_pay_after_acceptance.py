"""Pay after acceptance: an organisation on those terms has its approved order packed and shipped
unpaid; accepting every parcel starts a 30-day clock (one 15-day extension); the sellers' credits
exist only once the transfer has arrived. Time is controlled by passing `now`, as the payment
clock's other tests do (DESIGN §3 "Time": stored UTC, shown in Beijing time)."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.errors import Conflict, Forbidden
from marketplace.extensions import db
from marketplace.ledger.balances import available_by_account
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import account_id, owed_to_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders import fulfilment
from marketplace.orders.models import Order, StockReservation
from marketplace.orders.reservations import release_expired_reservations
from marketplace.orders.settlement import settle_due
from marketplace.organisations import acceptance, payment_clock, transfers
from marketplace.organisations.models import Requisition, ShipmentAcceptance
from tests.organisations.test_transfers import approved_order, credited_to_recipients
from tests.organisations.test_views import signed_in

DAY = date(2026, 12, 1)


@pytest.fixture
def terms(inst):
    inst.organisation.payment_terms = "after_acceptance"
    db.session.commit()
    return inst


def order_entries(order_id):
    return db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.order_id == order_id))


def shipped_order(inst, units=10):
    requisition, order = approved_order(inst, [(inst.variant, units)])
    shipment = order.shipments[0]
    manager = inst.district.user("coop_manager", cooperative_id=inst.coop.id)
    fulfilment.mark_packed(shipment.id, manager.id)
    fulfilment.mark_shipped(shipment.id, manager.id, fulfilment.CARRIERS[0], "SF20261201")
    return db.session.get(Requisition, requisition.id), db.session.get(Order, order.id), shipment


def accepted_order(inst, units=10):
    requisition, order, shipment = shipped_order(inst, units)
    accepted = acceptance.accept_shipment(inst.approver.id, shipment.id, "验收合格")
    return db.session.get(Requisition, requisition.id), db.session.get(Order, order.id), accepted.accepted_at


def clock(requisition, order, now):
    return payment_clock.clock_of(db.session.get(Requisition, requisition.id), db.session.get(Order, order.id), now)


def test_an_order_on_terms_takes_its_stock_and_ships_unpaid(terms):
    stock = terms.variant.stock_available
    requisition, order = approved_order(terms, [(terms.variant, 10)])
    assert (order.status, order.paid_at, order.reservation_expires_at) == ("on_terms", None, None)
    assert requisition.payment_terms == "after_acceptance"
    assert {r.status for r in db.session.scalars(select(StockReservation).where(StockReservation.order_id == order.id))} \
        == {"converted"}
    db.session.refresh(terms.variant)
    assert terms.variant.stock_available == stock - 10
    assert release_expired_reservations(now=order.created_at + timedelta(days=400)) == 0  # nothing runs out
    requisition, order, _shipment = shipped_order(terms)
    assert order.status == "shipped" and order.paid_at is None
    assert order_entries(order.id) == 0  # no money, no credit
    assert clock(requisition, order, order.created_at).state == "awaiting_acceptance"


def test_a_pay_first_organisation_still_cannot_ship_before_paying(inst):
    requisition, order = approved_order(inst, [(inst.variant, 5)])
    assert order.status == "pending_payment" and order.reservation_expires_at is not None
    manager = inst.district.user("coop_manager", cooperative_id=inst.coop.id)
    with pytest.raises(Conflict):
        fulfilment.mark_packed(order.shipments[0].id, manager.id)


def test_acceptance_starts_a_30_day_clock_with_days_left_then_overdue(terms):
    requisition, order, accepted_at = accepted_order(terms)
    due = accepted_at + timedelta(days=30)
    ten = clock(requisition, order, accepted_at + timedelta(days=10))
    assert (ten.state, ten.days_left, ten.due_at, ten.can_extend) == ("awaiting", 20, due, True)
    near = clock(requisition, order, accepted_at + timedelta(days=27))
    assert (near.state, near.days_left) == ("due_soon", 3)
    late = clock(requisition, order, accepted_at + timedelta(days=33))
    assert (late.state, late.days_left, late.can_extend) == ("overdue", -3, False)
    # overdue is flagged, never cancelled: the goods were delivered
    release_expired_reservations(now=accepted_at + timedelta(days=33))
    assert db.session.get(Order, order.id).status == "delivered"


def test_one_15_day_extension_before_the_deadline(terms):
    requisition, order, accepted_at = accepted_order(terms)
    with pytest.raises(Forbidden):  # the organisation's buyer may not; finance or an approver may
        payment_clock.extend_payment(terms.buyer.id, requisition.id, now=accepted_at + timedelta(days=20))
    db.session.rollback()
    payment_clock.extend_payment(terms.finance.id, requisition.id, now=accepted_at + timedelta(days=20))
    extended = clock(requisition, order, accepted_at + timedelta(days=40))
    assert (extended.due_at, extended.days_left, extended.extended) == (accepted_at + timedelta(days=45), 5, True)
    with pytest.raises(Conflict):
        payment_clock.extend_payment(terms.finance.id, requisition.id, now=accepted_at + timedelta(days=41))
    db.session.rollback()
    assert clock(requisition, order, accepted_at + timedelta(days=46)).state == "overdue"


def test_no_extension_before_acceptance_or_after_the_deadline(terms):
    requisition, order, _shipment = shipped_order(terms, units=3)
    with pytest.raises(Conflict):
        payment_clock.extend_payment(terms.approver.id, requisition.id)
    db.session.rollback()
    requisition, order, accepted_at = accepted_order(terms, units=3)
    with pytest.raises(Conflict):
        payment_clock.extend_payment(terms.approver.id, requisition.id, now=accepted_at + timedelta(days=31))
    db.session.rollback()
    assert db.session.get(Requisition, requisition.id).extended_at is None


def test_settlement_waits_for_the_money(terms):
    requisition, order, accepted_at = accepted_order(terms)
    coop = account_id("cooperative_revenue", "cooperative", terms.coop.id)
    settle_due(now=accepted_at + timedelta(days=8))  # the after-sales window closed
    order = db.session.get(Order, order.id)
    assert order.status == "completed" and order.paid_at is None
    assert order_entries(order.id) == 0 and owed_to_fen(coop) == 0 and available_by_account([coop]).get(coop, 0) == 0
    assert clock(requisition, order, accepted_at + timedelta(days=8)).state == "awaiting"
    short = transfers.record_transfer(terms.admin.id, DAY, order.total_fen - 1, "一中", requisition.transfer_reference)
    assert short.outcome == "partial" and order_entries(order.id) == 0
    paid = transfers.record_transfer(terms.admin.id, DAY, order.total_fen, "一中", requisition.transfer_reference)
    assert paid.outcome == "matched"
    order = db.session.get(Order, order.id)
    assert order.paid_at is not None and order.status == "completed"  # its progress is kept
    assert credited_to_recipients(order.id) == order.total_fen
    assert available_by_account([coop])[coop] == owed_to_fen(coop) > 0  # settled, and now received
    assert clock(requisition, order, accepted_at + timedelta(days=9)).state == "paid"
    report = verify_ledger()
    assert report.ok, report.violations


def test_paying_before_acceptance_keeps_the_order_moving(terms):
    requisition, order = approved_order(terms, [(terms.variant, 4)])
    assert transfers.record_transfer(terms.admin.id, DAY, order.total_fen, "", requisition.transfer_reference) \
        .outcome == "matched"
    order = db.session.get(Order, order.id)
    assert order.status == "paid" and credited_to_recipients(order.id) == order.total_fen
    assert verify_ledger().ok


def test_the_organisation_and_finance_see_days_left_and_overdue(app, terms):
    requisition, order, accepted_at = accepted_order(terms)
    home = signed_in(app, terms.finance).get("/org/").get_data(as_text=True)
    assert "剩余 30 天" in home
    page = signed_in(app, terms.finance).get(f"/org/requests/{requisition.id}").get_data(as_text=True)
    assert requisition.transfer_reference in page and 'id="terms-due"' in page
    # finance's page lists it with its deadline; once overdue, flagged so
    accepted = db.session.scalar(select(ShipmentAcceptance).where(ShipmentAcceptance.shipment_id == order.shipments[0].id))
    accepted.accepted_at = accepted_at - timedelta(days=35)  # accepted 35 days ago
    db.session.commit()
    finance = signed_in(app, terms.admin).get("/admin/transfers").get_data(as_text=True)
    assert order.public_no in finance and "已逾期 5 天" in finance


def test_admin_changes_the_terms_later_and_only_requests_submitted_afterwards_follow(inst, app):
    """Pay first → pay after acceptance from the admin's page: the request submitted before keeps
    pay first even when approved after the change; the next one ships unpaid. Audited."""
    from marketplace.audit.models import AuditLog
    from marketplace.organisations import requisitions
    from tests.organisations.test_views import csrf

    inst.fill_cart(inst.buyer, [(inst.variant, 4)])
    before = requisitions.submit_requisition(inst.buyer.id, "王师傅", "13800000000", "淄川区松龄路1号一中食堂")
    admin = signed_in(app, inst.admin)
    page = admin.get("/admin/organisations").get_data(as_text=True)
    assert "付款方式" in page
    field = f"t{inst.organisation.id}"
    response = admin.post(f"/admin/organisations/{inst.organisation.id}/terms",
                          data={f"{field}-csrf_token": csrf(page), f"{field}-payment_terms": "after_acceptance"})
    assert response.status_code == 303
    db.session.expire_all()
    assert inst.organisation.payment_terms == "after_acceptance"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "organisation.payment_terms_changed"))
    assert audit.actor_id == inst.admin.id and audit.details["after"] == "after_acceptance"
    inst.fill_cart(inst.buyer, [(inst.variant, 3)])
    after = requisitions.submit_requisition(inst.buyer.id, "王师傅", "13800000000", "淄川区松龄路1号一中食堂")
    first = requisitions.approve_requisition(inst.approver.id, before.id)
    second = requisitions.approve_requisition(inst.approver.id, after.id)
    assert (first.payment_terms, db.session.get(Order, first.order_id).status) == ("pay_first", "pending_payment")
    assert (second.payment_terms, db.session.get(Order, second.order_id).status) == ("after_acceptance", "on_terms")


def test_only_the_admin_changes_terms_and_only_to_known_terms(inst):
    from marketplace.errors import DomainError
    from marketplace.organisations import services

    with pytest.raises(Forbidden):
        services.set_payment_terms(inst.approver.id, inst.organisation.id, "after_acceptance")
    with pytest.raises(DomainError):
        services.set_payment_terms(inst.admin.id, inst.organisation.id, "never")
    db.session.rollback()
    assert db.session.get(type(inst.organisation), inst.organisation.id).payment_terms == "pay_first"
