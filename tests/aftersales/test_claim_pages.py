"""The buyer's claim form and the seller's and town's claim pages, submitted as real forms: bad input
gets a clear message and changes nothing; the photo is served only to who may see the claim."""
from datetime import timedelta
from io import BytesIO

from sqlalchemy import func, select, update

from marketplace.aftersales.models import Claim, ClaimPhoto
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order, Shipment
from tests.aftersales.builders import claimed_order, jpeg_bytes
from tests.storefront.conftest import district  # noqa: F401  (the fixture: no app context left pushed)


def counts():
    found = (db.session.scalar(select(func.count(Claim.id))), db.session.scalar(select(func.count(ClaimPhoto.id))))
    db.session.remove()
    return found


def claim_form(client, order_no, line_id, photo=None, quantity="1", filename="pear.jpg"):
    data = {"reason": "damaged", "quantity": quantity, "remedy": "refund", "note": "坏了"}
    if photo is not None:
        data["photos"] = (BytesIO(photo), filename)
    return client.post(f"/orders/{order_no}/lines/{line_id}/claim", data=data, content_type="multipart/form-data")


def test_bad_claims_from_the_form_get_a_clear_message_and_change_nothing(demo, client, auth):
    made = claimed_order(quantity=3)
    before = counts()
    auth.login_as("buyer@demo.cn")
    client.get("/lang/en")
    not_a_picture = claim_form(client, made.order_no, made.line_id, photo=b"%PDF-1.7 a contract", filename="x.jpg")
    assert not_a_picture.status_code == 422
    assert "This file is not a picture we can read." in not_a_picture.get_data(as_text=True)
    too_large = claim_form(client, made.order_no, made.line_id, photo=jpeg_bytes() + b"\0" * (5 * 1024 * 1024))
    assert "The photo is larger than 5 MB." in too_large.get_data(as_text=True)
    too_many = claim_form(client, made.order_no, made.line_id, quantity="3")  # one of the three is claimed already
    assert "Claim between 1 and 2 units." in too_many.get_data(as_text=True)
    assert counts() == before
    db.session.execute(update(Shipment).where(Shipment.order_id == made.order_id)
                       .values(delivered_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    late = claim_form(client, made.order_no, made.line_id, photo=jpeg_bytes())
    assert "The after-sales window of 7 days after delivery has closed." in late.get_data(as_text=True)
    assert counts() == before


def test_another_buyers_order_is_not_found_and_the_photo_is_the_buyers_sellers_and_towns(district, client, auth, app):
    with app.app_context():
        made = claimed_order()
        db.session.remove()
    photo_url = f"/claims/{made.claim_id}/photos/{made.photo_id}"
    for email, status in (("buyer@demo.cn", 200), ("coop@demo.cn", 200), ("town@demo.cn", 200),
                          ("coop2@demo.cn", 404), ("taihe@demo.cn", 404)):
        auth.login_as(email)
        response = client.get(photo_url)
        assert response.status_code == status, (email, response.headers.get("Location"))
    assert client.get("/media/claims/x.jpg").status_code == 404  # never public
    auth.login_as("coop2@demo.cn")
    assert claim_form(client, made.order_no, made.line_id, photo=jpeg_bytes()).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Order.status).where(Order.id == made.order_id)) == "delivered"
        assert counts() == (1, 1)
