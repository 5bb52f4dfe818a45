"""A delivered order of the demo's with an after-sales claim on it, built through the real services."""
from io import BytesIO
from types import SimpleNamespace

from PIL import Image
from sqlalchemy import select

from marketplace.aftersales.services import open_claim
from marketplace.extensions import db
from marketplace.orders import fulfilment
from marketplace.orders.models import Order, Shipment
from marketplace.people.models import User
from tests.coops.conftest import make_paid_order, pay_and_attribute


def jpeg_bytes(size=(64, 48)):
    data = BytesIO()
    Image.new("RGB", size, (200, 180, 90)).save(data, "JPEG")
    return data.getvalue()


def user_id(email):
    return db.session.scalar(select(User.id).where(User.email == email))


def claimed_order(buyer_email="buyer@demo.cn", sku="GRAIN-1J", manager_email="coop@demo.cn", quantity=2):
    """The buyer's paid order of `quantity` × `sku`, delivered by its cooperative, with an open claim on
    one unit and its photo. Returns its order no, line id, claim id and photo id; commits."""
    buyer = user_id(buyer_email)
    order_id = make_paid_order(sku, quantity=quantity)
    order = db.session.get(Order, order_id)
    order.buyer_id = buyer
    db.session.commit()
    pay_and_attribute(order_id)
    manager = user_id(manager_email)
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order_id))
    fulfilment.mark_packed(shipment.id, manager)
    fulfilment.mark_shipped(shipment.id, manager, "顺丰速运", f"SF{order_id:010d}")
    fulfilment.record_carrier_delivery(shipment.id, manager)
    claim = open_claim(order.public_no, order.lines[0].id, buyer, "damaged", 1, "refund", photos=[jpeg_bytes()])
    return SimpleNamespace(order_no=order.public_no, line_id=order.lines[0].id, claim_id=claim.id,
                           photo_id=claim.photos[0].id, order_id=order_id)
