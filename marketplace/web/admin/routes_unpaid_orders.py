"""An organisation's order as the platform admin sees it, and, while it is unpaid on
pay-after-acceptance terms, refunding some of its lines or cancelling it (organisations/unpaid_orders.py).

Either action is asked twice: the form's first submission shows what the amount due becomes
(the services' previews, which refuse what the action would refuse), the second does it. A
refusal is flashed on the order's page; nothing is changed.
"""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.money import format_fen
from marketplace.orders.models import Order
from marketplace.organisations import payment_clock, transfer_refunds, unpaid_orders
from marketplace.organisations.models import Requisition
from marketplace.web.access import role_required
from marketplace.web.admin import bp
from marketplace.web.admin.forms_organisations import TERMS_LABELS, UnpaidCancelForm, UnpaidRefundForm
from marketplace.web.security.fields import whole_number_or_none


def _requisition(requisition_id):
    return db.session.get(Requisition, requisition_id) or abort(404)


def _page(requisition, refund_form=None, cancel_form=None, review=None, status=200):
    order = db.session.get(Order, requisition.order_id) if requisition.order_id else None
    return render_template(
        "admin/organisation_order.html", requisition=requisition, order=order,
        clock=payment_clock.clock_of(requisition, order), terms_labels=TERMS_LABELS,
        changeable=unpaid_orders.changeable_before_payment(requisition, order),
        amount_due=unpaid_orders.amount_due_fen(order) if order else 0,
        deducted=unpaid_orders.deducted_fen(order.id) if order else 0,
        refunds=transfer_refunds.refunds_of_order(order.id) if order else [],
        refund_form=refund_form or UnpaidRefundForm(prefix="refund", formdata=None),
        cancel_form=cancel_form or UnpaidCancelForm(prefix="cancel", formdata=None),
        quantities=_quantities_typed(), review=review), status


def _quantities_typed():
    """The units typed per line, to show them again (on a review or a refusal)."""
    return {key[4:]: value for key, value in request.form.items() if key.startswith("qty-")}


def _line_quantities(form_data):
    """`qty-<order line id>` fields -> {order line id: units}; blank or 0 means none."""
    lines = {}
    for key, value in form_data.items():
        if not key.startswith("qty-"):
            continue
        line_id, units = whole_number_or_none(key[4:]), whole_number_or_none(value.strip() or "0")
        if line_id is None or units is None or units < 0:
            raise DomainError(_("Enter the units to refund of each item as a whole number (0 for none)."))
        if units:
            lines[line_id] = units
    return lines


def _back(requisition_id):
    return redirect(url_for("admin.organisation_order", requisition_id=requisition_id)), 303


@bp.get("/organisation-orders/<int:requisition_id>")
@role_required("admin")
def organisation_order(requisition_id):
    return _page(_requisition(requisition_id))


@bp.post("/organisation-orders/<int:requisition_id>/refund")
@role_required("admin")
def refund_before_payment(requisition_id):
    requisition = _requisition(requisition_id)
    form = UnpaidRefundForm(prefix="refund")
    valid = form.validate_on_submit()
    try:
        lines = _line_quantities(request.form)
        # refuses a paid or other order, bad units or every unit left, before the form's own checks
        preview = unpaid_orders.preview_refund(current_user.id, requisition.order_id, lines)
        if not valid:
            return _page(requisition, refund_form=form, status=422)
        if request.form.get("confirmed") != "1":
            return _page(requisition, refund_form=form, review={"kind": "refund", "preview": preview, "lines": lines})
        reviewed_due = whole_number_or_none(request.form.get("due_before", ""), Order.total_fen)
        refund = unpaid_orders.refund_unpaid_lines(current_user.id, requisition.order_id, lines,
                                                   restock=form.restock.data, reason=form.reason.data.strip(),
                                                   due_before_fen=reviewed_due)
    except DomainError as error:
        flash(error.message, "error")
        return _back(requisition_id)
    order = db.session.get(Order, requisition.order_id)
    flash(_("%(amount)s refunded before payment: the organisation now owes %(due)s.",
            amount=format_fen(refund.amount_fen), due=format_fen(unpaid_orders.amount_due_fen(order))), "info")
    return _back(requisition_id)


@bp.post("/organisation-orders/<int:requisition_id>/cancel")
@role_required("admin")
def cancel_before_payment(requisition_id):
    requisition = _requisition(requisition_id)
    form = UnpaidCancelForm(prefix="cancel")
    valid = form.validate_on_submit()
    try:
        # refuses a paid or other order and an empty reason, before the form's own checks
        preview = unpaid_orders.preview_cancel(current_user.id, requisition.order_id, form.reason.data)
        if not valid:
            return _page(requisition, cancel_form=form, status=422)
        if request.form.get("confirmed") != "1":
            return _page(requisition, cancel_form=form, review={"kind": "cancel", "preview": preview})
        unpaid_orders.cancel_unpaid_order(current_user.id, requisition.order_id, restock=form.restock.data,
                                          reason=form.reason.data)
    except DomainError as error:
        flash(error.message, "error")
        return _back(requisition_id)
    flash(_("Order cancelled before payment: the organisation owes nothing for it."), "info")
    return _back(requisition_id)
