"""On PostgreSQL: many buyers checking out the last units at the same moment."""
import threading

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.orders.cart import add_item, open_cart
from marketplace.orders.models import Order
from marketplace.people.models import User
from tests.storefront.conftest import DELIVERY, stock_of, variant

pytestmark = pytest.mark.postgres
BUYERS = 50


def signed_in_clients(app, count):
    """`count` buyers, each with one pear box in their cart and a signed-in test client."""
    clients = []
    with app.app_context():
        pear = variant("PEAR-5J")
        pear.stock_available = 10
        users = [User(email=f"rush{n}@example.cn", name=f"买家{n}", password_hash="unusable", role="buyer")
                 for n in range(count)]
        db.session.add_all(users)
        db.session.commit()
        for user in users:
            add_item(open_cart(user_id=user.id).id, pear.id, 1)
        session_ids = [user.get_id() for user in users]
        db.session.remove()
    for session_id in session_ids:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        clients.append(client)
    return clients


def test_fifty_checkouts_for_ten_left_sell_exactly_ten(app, district):
    clients = signed_in_clients(app, BUYERS)
    start = threading.Barrier(BUYERS)
    responses = [None] * BUYERS

    def check_out(index):
        start.wait()
        responses[index] = clients[index].post("/checkout", data=DELIVERY)

    threads = [threading.Thread(target=check_out, args=(n,)) for n in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [303] * 10 + [409] * 40
    for response in responses:
        if response.status_code == 409:
            assert "已售罄或库存不足，没有扣款" in response.get_data(as_text=True)
    assert stock_of(app, "PEAR-5J") == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 10
        assert db.session.scalar(select(func.sum(Order.subtotal_fen))) == 10 * 3990
