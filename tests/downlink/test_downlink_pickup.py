from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.database import utcnow
from marketplace.downlink import pickup, runs
from marketplace.downlink.models import DeliveryRun, PickupTicket
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.reports import impact_receipt
from marketplace.ledger.verify import verify_ledger
from marketplace.ledger.services import account_id, balance_fen, owed_to_fen
from marketplace.money import apply_rate
from marketplace.orders.models import Order
from marketplace.people.models import Supplier
from marketplace.places.models import ServicePoint


def arrived(dl):
    """Consolidate, dispatch and receive whatever is ready: the goods are at the service point."""
    for run in runs.consolidate():
        runs.dispatch_run(dl.supplier_user_id, run.id)
        runs.receive_run(dl.agent_id, run.id)


def test_a_pickup_with_a_wrong_code_is_refused_and_nothing_changes(app_ctx, dl, place):
    order = place({dl.oil: 1}, "cash")
    arrived(dl)
    wrong = "000000" if order.pickup_code != "000000" else "111111"

    with pytest.raises(DomainError) as refused:
        pickup.hand_over(dl.agent_id, order.public_no, wrong, cash_received_fen=order.total_fen)

    assert refused.value.code == "wrong_pickup_code"
    db.session.rollback()
    ticket = db.session.scalar(select(PickupTicket).where(PickupTicket.order_id == order.id))
    assert ticket.picked_up_at is None and ticket.cash_collected_fen == 0
    assert db.session.get(Order, order.id).status == "pending_payment"
    assert db.session.scalar(select(JournalEntry).where(JournalEntry.order_id == order.id)) is None


def test_the_right_code_hands_over_and_the_cash_is_owed_to_the_supplier(app_ctx, dl, place):
    order = place({dl.oil: 2}, "cash")
    arrived(dl)

    pickup.hand_over(dl.agent_id, order.public_no, order.pickup_code, cash_received_fen=2 * 9900)

    assert db.session.get(Order, order.id).status == "completed"
    # The demo supplier's agreed commission is 0 (the article names none).
    commission = apply_rate(2 * 9900, db.session.get(Supplier, dl.supplier_id).commission_rate)
    assert commission == 0
    assert owed_to_fen(account_id("supplier_payable", "supplier", dl.supplier_id)) == 2 * 9900 - commission
    assert owed_to_fen(account_id("platform_fees")) == commission
    town_id = db.session.get(ServicePoint, order.service_point_id).village.town_id
    assert balance_fen(account_id("cash_collected", "town", town_id)) == 2 * 9900
    report = verify_ledger()
    assert report.ok, report.violations
    assert impact_receipt(order.id).total_fen == 2 * 9900
    with pytest.raises(Conflict):
        pickup.hand_over(dl.agent_id, order.public_no, order.pickup_code, cash_received_fen=2 * 9900)


def test_cash_short_of_the_total_is_refused_and_nothing_is_handed_over(app_ctx, dl, place):
    order = place({dl.oil: 1}, "cash")
    arrived(dl)
    for short_or_absurd in (None, 9000, 9900 + 100_01):
        with pytest.raises(DomainError):
            pickup.hand_over(dl.agent_id, order.public_no, order.pickup_code, cash_received_fen=short_or_absurd)
    assert db.session.get(Order, order.id).status == "pending_payment"
    assert db.session.scalar(select(JournalEntry).where(JournalEntry.order_id == order.id)) is None


def test_cash_over_the_total_is_recorded_as_tendered_with_the_change_given_back(app_ctx, dl, place):
    order = place({dl.oil: 1}, "cash")  # ¥99.00
    arrived(dl)
    pickup.hand_over(dl.agent_id, order.public_no, order.pickup_code, cash_received_fen=100_00)
    ticket = pickup.ticket_for(db.session.get(Order, order.id))
    assert (ticket.cash_tendered_fen, ticket.cash_collected_fen, ticket.change_fen) == (100_00, 9900, 100)
    town_id = db.session.get(ServicePoint, order.service_point_id).village.town_id
    assert balance_fen(account_id("cash_collected", "town", town_id)) == 9900  # the change is not the town's


def test_goods_that_have_not_arrived_cannot_be_handed_over(app_ctx, dl, place):
    order = place({dl.oil: 1}, "cash")
    runs.consolidate()
    with pytest.raises(Conflict):
        pickup.hand_over(dl.agent_id, order.public_no, order.pickup_code, cash_received_fen=9900)


def test_goods_left_unpicked_after_n_days_are_flagged(app_ctx, dl, place):
    late = place({dl.oil: 1}, "cash")
    arrived(dl)
    fresh = place({dl.soap: 1}, "cash", household_id=dl.other_household_id)
    arrived(dl)
    old_run = db.session.scalar(select(PickupTicket.run_id).where(PickupTicket.order_id == late.id))
    db.session.get(DeliveryRun, old_run).received_at = utcnow() - timedelta(days=8)
    db.session.commit()

    assert pickup.flag_unpicked(days=7) == 1
    assert pickup.flag_unpicked(days=7) == 0
    waiting = pickup.waiting_at_point(dl.agent_id)
    assert [(order.id, ticket.flagged_unpicked_at is not None) for order, ticket in waiting] == [
        (late.id, True), (fresh.id, False)]


@pytest.mark.postgres
def test_two_agent_sessions_handing_over_the_same_goods_at_once_complete_it_once(app, dl, place, monkeypatch):
    """Both sessions read the ticket as waiting before either writes: one hands over, the other is refused."""
    import threading

    from marketplace.audit.models import AuditLog
    from marketplace.orders.models import OrderEvent

    order = place({dl.oil: 1}, "cash")
    arrived(dl)
    public_no, code, total = order.public_no, order.pickup_code, order.total_fen
    db.session.remove()
    both_read = threading.Barrier(2, timeout=10)
    read_ticket = pickup.ticket_for

    def read_then_wait(order):
        ticket = read_ticket(order)
        both_read.wait()
        return ticket

    monkeypatch.setattr(pickup, "ticket_for", read_then_wait)
    outcomes = []

    def agent_session():
        with app.app_context():
            try:
                pickup.hand_over(dl.agent_id, public_no, code, cash_received_fen=total)
                outcomes.append("handed over")
            except Conflict:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=agent_session) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["handed over", "refused"]
    completed = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                            OrderEvent.status == "completed")).all()
    assert len(completed) == 1
    assert len(db.session.scalars(select(AuditLog).where(AuditLog.action == "downlink.picked_up")).all()) == 1
    assert verify_ledger().ok
