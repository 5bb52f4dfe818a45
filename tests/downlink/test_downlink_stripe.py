"""A villager pays by card at the service point: the storefront's checkout (localstripe in tests)."""
from sqlalchemy import select

from marketplace.downlink import runs
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment
from marketplace.ledger.balances import supplier_payable_fen
from marketplace.orders.models import Order
from marketplace.payments.models import Payment


def test_a_card_order_is_paid_through_the_storefront_checkout_and_joins_the_run(app, client, auth, dl, place,
                                                                                 stripe_server):
    order_no = place({dl.oil: 1}, "stripe").public_no
    db.session.remove()
    auth.login_as("agent@demo.cn")
    assert client.get(f"/agent/orders/{order_no}/pay").status_code == 200

    client.post(f"/agent/orders/{order_no}/pay/test-card")

    order = db.session.scalar(select(Order).where(Order.public_no == order_no))
    assert order.status == "paid"
    attribute_payment(db.session.scalar(select(Payment.id).where(Payment.order_id == order.id)))
    assert supplier_payable_fen(dl.supplier_id) > 0
    assert [o.public_no for o in runs.run_orders(runs.consolidate()[0].id)] == [order_no]
