"""After-sales claims through the API: a buyer opens one with a photo and answers the seller's
offer; the cooperative answers it; bad input and other people's orders change nothing."""
import base64
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from marketplace.aftersales.models import Claim
from marketplace.extensions import db
from marketplace.orders import fulfilment
from marketplace.orders.models import Order, Shipment
from marketplace.payments.models import Refund
from tests.api.conftest import user_id
from tests.coops.conftest import make_paid_order, pay_and_attribute

BUYER = "buyer@demo.cn"


def jpeg_base64():
    data = BytesIO()
    Image.new("RGB", (64, 48), (200, 180, 90)).save(data, "JPEG")
    return base64.b64encode(data.getvalue()).decode()


@pytest.fixture
def delivered(api):
    """A paid order of the buyer's: 3 boxes of Lili's grains, delivered; (public no, line id)."""
    order_id = make_paid_order("GRAIN-1J", quantity=3)
    order = db.session.get(Order, order_id)
    order.buyer_id = user_id(BUYER)
    db.session.commit()
    pay_and_attribute(order_id)
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order_id))
    manager = user_id("coop@demo.cn")
    fulfilment.mark_packed(shipment.id, manager)
    fulfilment.mark_shipped(shipment.id, manager, "顺丰速运", "SF0000000099")
    fulfilment.record_carrier_delivery(shipment.id, manager)
    public_no, line_id = order.public_no, order.lines[0].id
    db.session.remove()
    return public_no, line_id


def claims_count():
    count = db.session.scalar(select(func.count(Claim.id)))
    db.session.remove()
    return count


def test_a_buyer_opens_a_claim_and_accepts_the_cooperatives_offer(api, delivered):
    public_no, line_id = delivered
    created = api.post(f"/orders/{public_no}/claims", as_=BUYER, json={
        "order_line_id": line_id, "reason": "short_weight", "quantity": 1, "remedy": "refund",
        "note": "少了一斤", "photos": [jpeg_base64()]})
    assert created.status_code == 201, created.get_json()
    claim = created.get_json()
    assert claim["status"] == "awaiting_seller"
    waiting = api.get("/seller/claims", as_="coop@demo.cn").get_json()["items"]
    assert [item["id"] for item in waiting] == [claim["id"]]
    assert api.get("/seller/claims", as_="coop2@demo.cn").get_json()["items"] == []
    assert api.post(f"/seller/claims/{claim['id']}/answer", as_="coop2@demo.cn",
                    json={"action": "accept"}).status_code == 404
    offered = api.post(f"/seller/claims/{claim['id']}/answer", as_="coop@demo.cn",
                       json={"action": "offer", "offer_fen": 300})
    assert offered.get_json()["status"] == "offered"
    accepted = api.post(f"/orders/{public_no}/claims/{claim['id']}/offer-answer", as_=BUYER, json={"accept": True})
    assert accepted.get_json()["status"] == "resolved" and accepted.get_json()["refund_fen"] == 300
    assert db.session.scalar(select(Refund.amount_fen).where(Refund.id == db.session.get(Claim, claim["id"]).refund_id)) == 300
    db.session.remove()


@pytest.mark.parametrize("change, status", [
    ({"quantity": 4}, 422),                                   # more than was bought
    ({"photos": [base64.b64encode(b"%PDF-1.4 not a picture").decode()]}, 422),
    ({"photos": ["***not base64***"]}, 422),
    ({"reason": "bored"}, 422),
    ({"quantity": -1}, 422),
    ({"note": "x" * 501}, 422),
])
def test_bad_claims_are_refused_with_nothing_changed(api, delivered, change, status):
    public_no, line_id = delivered
    body = {"order_line_id": line_id, "reason": "damaged", "quantity": 1, "remedy": "refund", **change}
    response = api.post(f"/orders/{public_no}/claims", as_=BUYER, json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["title"]
    assert claims_count() == 0


def test_another_buyers_order_and_an_already_claimed_quantity_are_refused(api, delivered):
    public_no, line_id = delivered
    body = {"order_line_id": line_id, "reason": "damaged", "quantity": 3, "remedy": "refund"}
    assert api.post(f"/orders/{public_no}/claims", as_="someone@else.cn", json=body).status_code == 404
    assert api.post(f"/orders/{public_no}/claims", as_=BUYER, json=body).status_code == 201
    again = api.post(f"/orders/{public_no}/claims", as_=BUYER, json={**body, "quantity": 1})
    assert again.status_code == 409
    assert claims_count() == 1


def test_a_claim_on_a_parcel_not_yet_delivered_is_refused(api):
    order_id = make_paid_order("GRAIN-1J", quantity=1)
    order = db.session.get(Order, order_id)
    order.buyer_id = user_id(BUYER)
    db.session.commit()
    pay_and_attribute(order_id)
    public_no, line_id = order.public_no, order.lines[0].id
    db.session.remove()
    response = api.post(f"/orders/{public_no}/claims", as_=BUYER, json={
        "order_line_id": line_id, "reason": "not_received", "quantity": 1, "remedy": "refund"})
    assert response.status_code == 409
    assert claims_count() == 0
