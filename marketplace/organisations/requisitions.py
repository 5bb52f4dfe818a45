"""An organisation buyer's cart goes to an approver; approval places the order (消费帮扶 ordering).

Submitting moves the buyer's cart into a requisition (variants and quantities). An approver of
the same organisation — never the person who submitted it — approves it, which places the order
through the ordinary checkout (`orders.checkout.place_order`: prices taken now, stock reserved,
shipments opened) with the stock held for TRANSFER_PAYMENT_DAYS while the company transfer is
on its way; the requisition, its order and the order's transfer reference are written in that
one transaction. Or the approver returns it with a note, and its lines go back to the buyer's cart.
"""
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.database import lock_for_update, utcnow
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.orders import checkout
from marketplace.orders.cart import cart_lines, find_cart, sellable_variant
from marketplace.orders.errors import EmptyCart
from marketplace.orders.models import Cart, CartItem, OrderEvent
from marketplace.orders.reservations import convert_reservations
from marketplace.organisations.credit_code import ALPHABET, check_character
from marketplace.organisations.errors import NotAwaitingApproval, OwnApproval
from marketplace.organisations.models import OrganisationMember, Requisition, RequisitionLine
from marketplace.organisations.services import membership

REFERENCE_PREFIX = "XF"  # 消费帮扶


def new_transfer_reference():
    """XF + 6 random characters + a check character (the credit code's alphabet, no I/O/S/V/Z):
    short enough for a bank memo, and a mistyped character is caught instead of matched."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"{REFERENCE_PREFIX}{body}{check_character(body)}"


def _member(user_id, *roles):
    member = membership(user_id)
    if member is None or member.role not in roles:
        raise Forbidden(_("Only the organisation's staff can do this."))
    return member


def requisition_for(user_id, requisition_id):
    """A requisition of the user's own organisation, or NotFound (another organisation's does not exist for them)."""
    member = membership(user_id)
    requisition = db.session.get(Requisition, requisition_id)
    if member is None or requisition is None or requisition.organisation_id != member.organisation_id:
        raise NotFound(_("No such order request."))
    return requisition


def submit_requisition(user_id, recipient_name, recipient_phone, address, note=""):
    """The buyer's cart, with where it goes, submitted for approval; the cart is emptied."""
    member = _member(user_id, "buyer")
    cart = find_cart(user_id=user_id)
    lines = cart_lines(cart.id) if cart else []
    if not lines:
        raise EmptyCart(_("Your cart is empty."))
    checkout._check_delivery(checkout.Delivery("address", recipient_name or "", recipient_phone or "", address or ""))
    if len(note or "") > 300:
        raise DomainError(_("Keep the note under 300 characters."), field="note")
    for line in lines:
        sellable_variant(line.variant.id)
    requisition = Requisition(organisation_id=member.organisation_id, submitted_by_id=user_id,
                              recipient_name=recipient_name.strip(), recipient_phone=recipient_phone.strip(),
                              address=address.strip(), note=(note or "").strip(),
                              payment_terms=member.organisation.payment_terms,
                              estimate_fen=sum(line.line_total_fen for line in lines))
    db.session.add(requisition)
    db.session.flush()
    for line in lines:
        db.session.add(RequisitionLine(requisition_id=requisition.id, variant_id=line.variant.id,
                                       quantity=line.quantity))
    db.session.execute(CartItem.__table__.delete().where(CartItem.cart_id == cart.id))
    record("requisition.submitted", user_id, requisition, organisation_id=member.organisation_id,
           estimate_fen=requisition.estimate_fen)
    db.session.commit()
    return requisition


def _awaiting(approver_id, requisition_id):
    member = _member(approver_id, "approver")
    requisition = db.session.scalar(lock_for_update(select(Requisition).where(Requisition.id == requisition_id)))
    if requisition is None or requisition.organisation_id != member.organisation_id:
        raise NotFound(_("No such order request."))
    if requisition.submitted_by_id == approver_id:
        raise OwnApproval(_("You submitted this order yourself; another approver must decide on it."))
    if requisition.status != "awaiting_approval":
        raise NotAwaitingApproval(_("This order request was already decided."))
    return requisition


def approve_requisition(approver_id, requisition_id):
    """Approve and place the order (reservations, stock, prices snapshotted), or refuse with nothing changed.
    The order is paid on the terms the organisation had when the request was submitted."""
    requisition = _awaiting(approver_id, requisition_id)
    cart = Cart(token=secrets.token_urlsafe(32))  # the order's own cart, for the checkout to turn into an order
    db.session.add(cart)
    db.session.flush()
    for line in requisition.lines:
        db.session.add(CartItem(cart_id=cart.id, variant_id=line.variant_id, quantity=line.quantity))
    db.session.flush()
    delivery = checkout.Delivery("address", requisition.recipient_name, requisition.recipient_phone,
                                 requisition.address)

    def placed(order):
        requisition.status, requisition.decided_by_id, requisition.decided_at = "approved", approver_id, utcnow()
        requisition.order_id = order.id
        requisition.transfer_reference = new_transfer_reference()
        if requisition.payment_terms == "after_acceptance":
            # Pay after acceptance: the stock is taken for good (no hold that runs out) and the
            # order goes to the sellers to pack unpaid; its payment clock starts at acceptance.
            convert_reservations(order.id)
            order.status, order.reservation_expires_at = "on_terms", None
            db.session.add(OrderEvent(order_id=order.id, status="on_terms", note="on_terms", actor_id=approver_id))
        db.session.delete(cart)
        record("requisition.approved", approver_id, requisition, organisation_id=requisition.organisation_id,
               order_id=order.id, total_fen=order.total_fen)

    try:
        checkout.place_order(cart.id, requisition.submitted_by_id, delivery,
                             hold_minutes=current_app.config["TRANSFER_PAYMENT_DAYS"] * 24 * 60, before_commit=placed)
    except DomainError:
        db.session.rollback()  # sold out or no longer sold: the request waits, unchanged
        raise
    return db.session.get(Requisition, requisition_id)


def return_requisition(approver_id, requisition_id, note):
    """Send it back to the buyer with the approver's note; its lines go back into the buyer's cart."""
    requisition = _awaiting(approver_id, requisition_id)
    note = (note or "").strip()
    if not 1 <= len(note) <= 300:
        raise DomainError(_("Say why you return it (up to 300 characters)."), field="note")
    requisition.status, requisition.decided_by_id, requisition.decided_at = "returned", approver_id, utcnow()
    requisition.decision_note = note
    cart = find_cart(user_id=requisition.submitted_by_id)
    if cart is None:
        cart = Cart(token=secrets.token_urlsafe(32), user_id=requisition.submitted_by_id)
        db.session.add(cart)
        db.session.flush()
    held = {item.variant_id: item for item in db.session.scalars(select(CartItem).where(CartItem.cart_id == cart.id))}
    for line in requisition.lines:
        if line.variant_id in held:
            held[line.variant_id].quantity += line.quantity
        else:
            db.session.add(CartItem(cart_id=cart.id, variant_id=line.variant_id, quantity=line.quantity))
    record("requisition.returned", approver_id, requisition, organisation_id=requisition.organisation_id, note=note)
    db.session.commit()
    return requisition


def requisitions_of(user_id):
    """The organisation's requisitions, newest first, for any of its staff."""
    member = membership(user_id)
    if member is None:
        raise Forbidden(_("Only the organisation's staff can do this."))
    return db.session.scalars(select(Requisition).where(Requisition.organisation_id == member.organisation_id)
                              .order_by(Requisition.id.desc()).limit(200)).all()


def members_of(organisation_id):
    return db.session.scalars(select(OrganisationMember).where(OrganisationMember.organisation_id == organisation_id)
                              .order_by(OrganisationMember.id)).all()
