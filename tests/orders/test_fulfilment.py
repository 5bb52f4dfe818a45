from io import BytesIO

from pypdf import PdfReader
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.fulfilment import local_day
from marketplace.orders.models import Order, OrderEvent, Shipment
from tests.coops.conftest import make_paid_order


def pdf_text(response):
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)


def only_shipment(app, order_id):
    """The id of the order's one shipment (its lines are all one cooperative's)."""
    with app.app_context():
        (shipment,) = db.session.scalars(select(Shipment).where(Shipment.order_id == order_id)).all()
        return shipment.id


def test_paid_orders_of_the_cooperative_wait_in_the_queue(app, client, auth, paid_order):
    shipment = only_shipment(app, paid_order)
    auth.login_as("coop@demo.cn")
    assert f'id="shipment-{shipment}"' in client.get("/coop/orders").get_data(as_text=True)
    auth.login_as("coop2@demo.cn")
    assert f'id="shipment-{shipment}"' not in client.get("/coop/orders").get_data(as_text=True)


def test_the_packing_list_pdf_names_the_products_in_chinese(client, auth, paid_order):
    auth.login_as("coop@demo.cn")
    text = pdf_text(client.get(f"/coop/orders/{paid_order}/packing-list.pdf"))
    assert "李里小杂粮 1斤装" in text
    assert "王女士" in text


def test_the_days_packing_list_holds_every_order_paid_that_day(app, client, auth, paid_order):
    with app.app_context():
        make_paid_order("GRAIN-5J", quantity=1, recipient="赵先生")
        day = local_day(db.session.get(Order, paid_order).paid_at)
    auth.login_as("coop@demo.cn")
    text = pdf_text(client.get(f"/coop/orders/day/{day.isoformat()}/packing-list.pdf"))
    assert "王女士" in text and "赵先生" in text and "5斤礼盒" in text


def test_the_parcel_label_has_a_qr_code_to_the_product_page(client, auth, paid_order):
    auth.login_as("coop@demo.cn")
    page = client.get(f"/coop/orders/{paid_order}/label").get_data(as_text=True)
    assert "<svg" in page
    assert "/products/lili-minor-grains" in page


def test_packing_then_shipping_shows_on_the_buyers_timeline(app, client, auth, paid_order):
    shipment = only_shipment(app, paid_order)
    auth.login_as("coop@demo.cn")
    assert client.post(f"/coop/shipments/{shipment}/packed").status_code == 303
    response = client.post(f"/coop/shipments/{shipment}/shipped", data={"carrier": "顺丰速运", "tracking_no": "SF1234567890"})
    assert response.status_code == 303
    with app.app_context():
        order = db.session.get(Order, paid_order)
        assert (order.status, order.carrier, order.tracking_no) == ("shipped", "顺丰速运", "SF1234567890")
        events = db.session.scalars(select(OrderEvent).filter_by(order_id=paid_order).order_by(OrderEvent.id)).all()
        assert [(e.status, e.shipment_id) for e in events] == [("packed", shipment), ("shipped", shipment)]
        assert "SF1234567890" in events[-1].note


def test_an_order_cannot_be_shipped_before_it_is_packed(app, client, auth, paid_order):
    shipment = only_shipment(app, paid_order)
    auth.login_as("coop@demo.cn")
    client.post(f"/coop/shipments/{shipment}/shipped", data={"carrier": "顺丰速运", "tracking_no": "SF1"})
    with app.app_context():
        assert db.session.get(Order, paid_order).status == "paid"
        assert db.session.get(Shipment, shipment).status == "open"
        assert db.session.query(OrderEvent).count() == 0


def test_a_bad_tracking_number_changes_nothing(app, client, auth, paid_order):
    shipment = only_shipment(app, paid_order)
    auth.login_as("coop@demo.cn")
    client.post(f"/coop/shipments/{shipment}/packed")
    client.post(f"/coop/shipments/{shipment}/shipped", data={"carrier": "顺丰速运", "tracking_no": "<script>"})
    with app.app_context():
        assert db.session.get(Order, paid_order).status == "packed"
        assert db.session.get(Shipment, shipment).status == "packed"


def test_another_cooperative_cannot_move_the_shipment(app, client, auth, paid_order):
    shipment = only_shipment(app, paid_order)
    auth.login_as("coop2@demo.cn")
    client.post(f"/coop/shipments/{shipment}/packed")
    with app.app_context():
        assert db.session.get(Shipment, shipment).status == "open"
