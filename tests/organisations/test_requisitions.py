import pytest

from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.orders.models import CartItem, Order, StockReservation
from marketplace.organisations import requisitions
from marketplace.organisations.errors import NotAwaitingApproval, OwnApproval
from marketplace.organisations.models import Requisition
from marketplace.catalog.models import Variant


def submit(inst, lines=None, user=None):
    user = user or inst.buyer
    inst.fill_cart(user, lines or [(inst.variant, 20), (inst.direct, 2)])
    return requisitions.submit_requisition(user.id, "食堂王师傅", "13800000000", "淄川区松龄路1号一中食堂")


def test_submitting_moves_the_cart_into_a_request_awaiting_approval(inst):
    requisition = submit(inst)
    assert requisition.status == "awaiting_approval"
    assert [(line.variant_id, line.quantity) for line in requisition.lines] == [(inst.variant.id, 20),
                                                                                (inst.direct.id, 2)]
    assert requisition.estimate_fen == 20 * 800 + 2 * 1500
    assert db.session.query(CartItem).count() == 0


def test_approval_places_the_order_through_checkout_with_stock_held_for_the_transfer(inst, app):
    requisition = submit(inst)
    stock_before = db.session.get(Variant, inst.variant.id).stock_available
    approved = requisitions.approve_requisition(inst.approver.id, requisition.id)
    order = db.session.get(Order, approved.order_id)
    assert approved.status == "approved" and approved.decided_by_id == inst.approver.id
    assert order.status == "pending_payment" and order.buyer_id == inst.buyer.id
    assert order.total_fen == 20 * 800 + 2 * 1500  # over ¥99: free shipping
    assert [line.unit_price_fen for line in order.lines] == [800, 1500]
    assert db.session.get(Variant, inst.variant.id).stock_available == stock_before - 20
    held = order.reservation_expires_at - order.created_at
    assert round(held.total_seconds() / 86400) == app.config["TRANSFER_PAYMENT_DAYS"]
    assert db.session.query(StockReservation).filter_by(order_id=order.id).count() == 2
    assert approved.transfer_reference.startswith("XF") and len(approved.transfer_reference) == 9


def test_an_approver_cannot_approve_their_own_request(inst):
    inst.fill_cart(inst.approver, [(inst.variant, 1)])
    requisition = Requisition(organisation_id=inst.organisation.id, submitted_by_id=inst.approver.id,
                              recipient_name="王", recipient_phone="13800000000", address="淄川区松龄路1号")
    db.session.add(requisition)
    db.session.commit()
    with pytest.raises(OwnApproval):
        requisitions.approve_requisition(inst.approver.id, requisition.id)
    assert db.session.get(Requisition, requisition.id).status == "awaiting_approval"
    assert db.session.query(Order).count() == 0


def test_a_buyer_cannot_approve_and_another_organisation_sees_nothing(inst):
    requisition = submit(inst)
    with pytest.raises(Forbidden):
        requisitions.approve_requisition(inst.buyer.id, requisition.id)
    from marketplace.organisations import services
    other = services.register_organisation(inst.admin.id, "淄川区总工会", "91350100M000100Y43", "union", None, "",
                                           2026, 100_00, "20")
    stranger = inst.member("approver", organisation=other)
    with pytest.raises(NotFound):
        requisitions.approve_requisition(stranger.id, requisition.id)
    with pytest.raises(NotFound):
        requisitions.requisition_for(stranger.id, requisition.id)
    assert db.session.get(Requisition, requisition.id).status == "awaiting_approval"


def test_a_request_is_decided_once(inst):
    requisition = submit(inst)
    requisitions.approve_requisition(inst.approver.id, requisition.id)
    with pytest.raises(NotAwaitingApproval):
        requisitions.approve_requisition(inst.approver2.id, requisition.id)
    assert db.session.query(Order).count() == 1


def test_returning_puts_the_lines_back_in_the_buyers_cart(inst):
    requisition = submit(inst)
    with pytest.raises(DomainError):
        requisitions.return_requisition(inst.approver.id, requisition.id, "  ")
    returned = requisitions.return_requisition(inst.approver.id, requisition.id, "数量太多，请改为10斤")
    assert returned.status == "returned" and returned.decision_note == "数量太多，请改为10斤"
    assert sorted((item.variant_id, item.quantity) for item in db.session.query(CartItem)) == [
        (inst.variant.id, 20), (inst.direct.id, 2)]
    assert db.session.query(Order).count() == 0


def test_sold_out_at_approval_leaves_the_request_waiting(inst):
    requisition = submit(inst, lines=[(inst.variant, 5)])
    db.session.get(Variant, inst.variant.id).stock_available = 3
    db.session.commit()
    with pytest.raises(DomainError):
        requisitions.approve_requisition(inst.approver.id, requisition.id)
    assert db.session.get(Requisition, requisition.id).status == "awaiting_approval"
    assert db.session.query(Order).count() == 0


def test_finance_staff_cannot_submit(inst):
    inst.fill_cart(inst.finance, [(inst.variant, 1)])
    with pytest.raises(Forbidden):
        requisitions.submit_requisition(inst.finance.id, "王", "13800000000", "淄川区松龄路1号")
