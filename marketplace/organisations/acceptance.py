"""Acceptance (验收): the organisation records, once per shipment, that it received and checked a
seller's goods, with an optional document (the signed acceptance slip: a PDF or a photo).

Any member of the ordering organisation may record it — the canteen's buyer who unpacked the
goods, or its approver. A parcel still on its way (shipped) is delivered by the acceptance, as
when a buyer confirms receipt; a delivered or settled one keeps its status. A parcel not yet
shipped, or cancelled, cannot be accepted. `shipment_acceptances.shipment_id` is unique, so two
people accepting at once record it once: the second is told it is already accepted.
"""
from flask_babel import lazy_gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.audit.services import record
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.orders import fulfilment
from marketplace.orders.models import Shipment
from marketplace.organisations.documents import store_document
from marketplace.organisations.models import Requisition, ShipmentAcceptance
from marketplace.organisations.services import membership

ACCEPTABLE = ("shipped", "delivered", "settled")


def organisation_shipment(user_id, shipment_id):
    """A shipment of an order the user's organisation placed, or NotFound (another's does not exist for them)."""
    member = membership(user_id)
    shipment = db.session.get(Shipment, shipment_id)
    if member is None or shipment is None:
        raise NotFound(_("No such delivery."))
    placed_by = db.session.scalar(select(Requisition.organisation_id).where(Requisition.order_id == shipment.order_id))
    if placed_by != member.organisation_id:
        raise NotFound(_("No such delivery."))
    return member, shipment


def accept_shipment(user_id, shipment_id, note="", filename="", data=b""):
    """Record the organisation's acceptance of one shipment (delivering it if it was on its way)."""
    member, shipment = organisation_shipment(user_id, shipment_id)
    note = (note or "").strip()
    if len(note) > 300:
        raise DomainError(_("Keep the note under 300 characters."), field="note")
    if db.session.scalar(select(ShipmentAcceptance.id).where(ShipmentAcceptance.shipment_id == shipment.id)):
        raise Conflict(_("This delivery is already accepted."))
    if shipment.status not in ACCEPTABLE:
        raise Conflict(_("This delivery has not been shipped yet, or was cancelled: nothing to accept."))
    document = store_document(member.organisation_id, "acceptance", filename, data, user_id,
                              photos_allowed=True) if data else None
    if shipment.status == "shipped":
        fulfilment.deliver_on_acceptance(shipment, user_id)
    acceptance = ShipmentAcceptance(shipment_id=shipment.id, organisation_id=member.organisation_id,
                                    accepted_by_id=user_id, note=note, document_id=document.id if document else None)
    db.session.add(acceptance)
    try:
        db.session.flush()
    except IntegrityError as error:  # accepted by someone else a moment ago
        db.session.rollback()
        raise Conflict(_("This delivery is already accepted.")) from error
    record("shipment.accepted", user_id, shipment, organisation_id=member.organisation_id, order_id=shipment.order_id,
           with_document=document is not None)
    db.session.commit()
    return acceptance


def acceptances_of_order(order_id):
    """shipment id → its acceptance, for the order's page."""
    rows = db.session.scalars(select(ShipmentAcceptance).join(Shipment, Shipment.id == ShipmentAcceptance.shipment_id)
                              .where(Shipment.order_id == order_id))
    return {row.shipment_id: row for row in rows}


def acceptance_document(user_id, acceptance_id):
    """The acceptance's document, for the organisation's staff only; NotFound otherwise."""
    acceptance = db.session.get(ShipmentAcceptance, acceptance_id)
    member = membership(user_id)
    if acceptance is None or acceptance.document is None or member is None \
            or member.organisation_id != acceptance.organisation_id:
        raise NotFound(_("No such document."))
    return acceptance.document
