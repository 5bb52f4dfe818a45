"""An organisation's staff (消费帮扶): its order requests with their approval and payment, and its
quota report. Only a member's token may call them; they see their own organisation only."""
from flask_babel import get_locale

from marketplace.errors import Forbidden
from marketplace.extensions import db
from marketplace.local_time import local_today
from marketplace.orders.models import Order
from marketplace.organisations import payment_clock
from marketplace.organisations.report import quota_report
from marketplace.organisations.requisitions import (
    approve_requisition, requisition_for, requisitions_of, return_requisition,
)
from marketplace.organisations.services import membership
from marketplace.organisations.transfers import transfer_of_order
from marketplace.web.api.framework import operation
from marketplace.web.api.schemas import organisation as schemas

STAFF = ("buyer",)


def _pay_before(requisition, order):
    """The payment deadline while it runs: approval's hold (pay first), or acceptance + 30 days (pay after acceptance)."""
    if order is None:
        return None
    clock = payment_clock.clock_of(requisition, order)
    return clock.due_at if clock.state in ("awaiting", "due_soon", "overdue") else None


def _request(requisition):
    order = db.session.get(Order, requisition.order_id) if requisition.order_id else None
    transfer = transfer_of_order(order.id) if order else None
    return schemas.OrderRequest(
        id=requisition.id, status=requisition.status, submitted_at=requisition.submitted_at,
        estimate_fen=requisition.estimate_fen, decision_note=requisition.decision_note,
        order_no=order.public_no if order else None, order_status=order.status if order else None,
        total_fen=order.total_fen if order else None, transfer_reference=requisition.transfer_reference,
        pay_before=_pay_before(requisition, order),
        paid_by_transfer_on=transfer.value_date if transfer else None)


@operation("GET", "/organisation/requests", tag="Organisations", summary="The organisation's order requests",
           roles=STAFF, response=schemas.OrderRequestList)
def list_order_requests(user):
    """Newest first: approval status, the order approval placed, its transfer reference and payment."""
    return schemas.OrderRequestList(items=[_request(row) for row in requisitions_of(user.id)])


@operation("POST", "/organisation/requests/<id:requisition_id>/approve", tag="Organisations",
           summary="Approve an order request (places the order)", roles=STAFF, response=schemas.OrderRequest)
def approve_order_request(user, requisition_id):
    """An approver of the organisation, never the one who submitted it: the order is placed (prices and
    stock taken now) and waits for its company transfer, whose reference the answer carries."""
    requisition_for(user.id, requisition_id)  # another organisation's request does not exist (404)
    return _request(approve_requisition(user.id, requisition_id))


@operation("POST", "/organisation/requests/<id:requisition_id>/return", tag="Organisations",
           summary="Return an order request to its buyer", roles=STAFF, body=schemas.RequestReturnIn,
           response=schemas.OrderRequest)
def return_order_request(user, requisition_id, body):
    """With the approver's note; the lines go back into the buyer's cart."""
    requisition_for(user.id, requisition_id)
    return _request(return_requisition(user.id, requisition_id, body.note))


@operation("GET", "/organisation/report", tag="Organisations", summary="The organisation's quota report for a year",
           roles=STAFF, query=schemas.ReportQuery, response=schemas.QuotaReport)
def get_quota_report(user, query):
    """Bought here against the required share, by month, and the places, cooperatives and households reached."""
    member = membership(user.id)
    if member is None:
        raise Forbidden("Only the organisation's staff can do this.")
    report = quota_report(member.organisation_id, query.year or local_today().year, str(get_locale() or "zh"))
    return schemas.QuotaReport(
        year=report.year, declared_total_fen=report.declared_total_fen,
        required_share=str(report.required_share) if report.required_share is not None else None,
        required_fen=report.required_fen, bought_fen=report.bought_fen,
        share_reached=str(report.share_reached) if report.share_reached is not None else None, orders=report.orders,
        by_month_fen={f"{report.year}-{month:02d}": fen for month, fen in report.months},
        households_reached=report.households_reached,
        mechanisms={name: schemas.Mechanism(households=count, fen=fen)
                    for name, (count, fen) in report.mechanisms.items()},
        places=[schemas.ReachedPlace(**vars(place)) for place in report.places],
        cooperatives=dict(report.cooperatives))
