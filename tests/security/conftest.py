"""A district with owners and outsiders, for authorization and hostile-input tests.

Owners (the demo's own accounts) hold the objects every route is visited with: the buyer's
order and cart line, the agent's downlink order and delivery run, the supplier's run, variant and
delivery area. Outsiders have the same roles but another scope: another buyer, the manager of
another cooperative, staff of another town, an agent of another service point, another supplier.
"""
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from marketplace.catalog.models import Variant
from tests.demo_copy import seed_demo
from marketplace.downlink import ordering, runs
from marketplace.downlink.models import DeliveryArea, DeliveryRun
from marketplace.extensions import db
from marketplace.orders import cart
from marketplace.orders.checkout import Delivery, place_order
from marketplace.people.models import Household, Supplier, User
from tests.aftersales.builders import claimed_order
from marketplace.places.models import ServicePoint, Town, Village

PASSWORD = "demo1234"
DELIVERY = Delivery(kind="address", recipient_name="小林", recipient_phone="13800000000", address="上海市徐汇区漕溪北路 1 号")

# The outsider columns of the matrix: e-mail of an account with that role and another scope.
OUTSIDERS = {
    "anonymous": None,
    "buyer": "buyer@demo.cn",
    "another buyer": "buyer2@demo.cn",
    "coop manager of another cooperative": "coop2@demo.cn",
    "town staff of another town": "taihe@demo.cn",
    "agent of another service point": "agent2@demo.cn",
    "supplier other than the owner": "supplier2@demo.cn",
}


def user_id(email):
    return db.session.scalar(select(User.id).where(User.email == email))


def _add_user(email, role, **scope):
    user = User(email=email, name=email.split("@")[0], role=role, **scope)
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.flush()
    return user


def _outsiders():
    _add_user("buyer2@demo.cn", "buyer")
    # 响泉村 is in Taihe: the demo supplier does not deliver there.
    point = db.session.scalar(select(ServicePoint).join(Village).where(Village.name_zh == "响泉村"))
    _add_user("agent2@demo.cn", "agent", service_point_id=point.id)
    supplier = Supplier(name_zh="另一家供应商", name_en="Another supplier")
    db.session.add(supplier)
    db.session.flush()
    _add_user("supplier2@demo.cn", "supplier", supplier_id=supplier.id)
    db.session.commit()


def _organisation_request():
    """The demo canteen buyer's request for pears, awaiting approval."""
    from marketplace.organisations.requisitions import submit_requisition

    buyer = user_id("org-buyer@demo.cn")
    cart.add_item(cart.open_cart(user_id=buyer).id,
                  db.session.scalar(select(Variant.id).where(Variant.sku == "PEAR-5J")), 2)
    return submit_requisition(buyer, "一中食堂 王师傅", "13800000001", "淄川区松龄东路1号 第一中学食堂").id


def _presale_objects(buyer):
    """The demo's minor-grains pre-sale (of coop@demo.cn's cooperative) and the buyer's pre-order of it."""
    from marketplace.presales.models import PreOrder, PreSale

    presale_id = db.session.scalar(select(PreSale.id).join(PreSale.variant).where(Variant.sku == "GRAIN-5J"))
    preorder_id = db.session.scalar(select(PreOrder.id).where(PreOrder.presale_id == presale_id,
                                                              PreOrder.buyer_id == buyer))
    return presale_id, preorder_id


def _owned_objects():
    """The objects of the owners, by the URL parameter name that names them."""
    from marketplace.orders.addresses import default_address

    buyer = user_id("buyer@demo.cn")
    buyer_cart = cart.open_cart(user_id=buyer)
    variant = db.session.scalar(select(Variant).where(Variant.sku == "PEAR-5J"))
    cart.add_item(buyer_cart.id, variant.id, 1)
    order = place_order(buyer_cart.id, buyer, DELIVERY)
    cart.add_item(buyer_cart.id, variant.id, 1)
    cart_item_id = cart.cart_lines(buyer_cart.id)[0].item.id

    agent = user_id("agent@demo.cn")
    supplier_user = user_id("supplier@demo.cn")
    supplier_id = db.session.scalar(select(User.supplier_id).where(User.id == supplier_user))
    oil = db.session.scalar(select(Variant.id).where(Variant.sku == "OIL-5L"))
    soap = db.session.scalar(select(Variant.id).where(Variant.sku == "SOAP-2KG"))
    households = [household for household, _available in ordering.point_households(agent)]
    ordering.place_order(agent, supplier_id, {oil: 1}, "cash", household_id=households[0].id)
    runs.consolidate_for_supplier(supplier_user)
    run_id = db.session.scalar(select(DeliveryRun.id).where(DeliveryRun.supplier_id == supplier_id))
    downlink_order = ordering.place_order(agent, supplier_id, {soap: 1}, "cash", household_id=households[1].id)
    area_id = db.session.scalar(select(DeliveryArea.id).where(DeliveryArea.supplier_id == supplier_id))
    claim = claimed_order()
    requisition_id = _organisation_request()
    presale_id, preorder_id = _presale_objects(buyer)
    from marketplace.subscriptions.models import Subscription

    subscription_id = db.session.scalar(select(Subscription.id).where(Subscription.buyer_id == buyer))  # the demo's box
    objects = SimpleNamespace(
        requisition_id=requisition_id, presale_id=presale_id, preorder_id=preorder_id, subscription_id=subscription_id,
        uplink_variant_id=variant.id,  # PEAR-5J: what a buyer may subscribe to
        claim_order_no=claim.order_no, claim_line_id=claim.line_id, claim_id=claim.claim_id,
        claim_photo_id=claim.photo_id, order_no=order.public_no, cart_item_id=cart_item_id, downlink_order_no=downlink_order.public_no,
        run_id=run_id, supplier_id=supplier_id, variant_id=soap, area_id=area_id,
        product_slug="jiao-snow-pears", town_slug="lingzi", buyer_id=buyer,
        saved_address_id=default_address(buyer).id,  # the demo buyer's address in 张店区
        lingzi_town_id=db.session.scalar(select(Town.id).where(Town.slug == "lingzi")),
        lingzi_household_id=db.session.scalar(select(Household.id).join(Village).join(Town)
                                              .where(Town.slug == "lingzi").order_by(Household.id)),
    )
    db.session.remove()
    return objects


@pytest.fixture
def world(app):
    """The demo district, outsiders, and the owners' objects; no app context left pushed."""
    with app.app_context():
        seed_demo()
        _outsiders()
        objects = _owned_objects()
    return objects


def table_counts():
    """Row count of every table, in one query: what a denied request must leave unchanged."""
    names = [table.name for table in db.metadata.sorted_tables]
    query = " UNION ALL ".join(f"SELECT '{name}', COUNT(*) FROM \"{name}\"" for name in names)
    return dict(db.session.execute(text(query)).all())


def snapshot(app):
    """Row counts plus a fingerprint of the rows that change in place (stock, statuses, sessions)."""
    from marketplace.orders.models import Order
    from marketplace.people.models import User as Person

    with app.app_context():
        counts = table_counts()
        counts["stock"] = db.session.scalar(select(func.sum(Variant.stock_available)))
        counts["active"] = db.session.scalar(select(func.sum(Variant.is_active.cast(db.Integer))))
        counts["prices"] = db.session.scalar(select(func.sum(Variant.price_fen)))
        counts["statuses"] = tuple(db.session.execute(select(Order.id, Order.status).order_by(Order.id)).all())
        counts["runs"] = tuple(db.session.execute(select(DeliveryRun.id, DeliveryRun.status).order_by(DeliveryRun.id)).all())
        counts["sessions"] = tuple(db.session.execute(select(Person.id, Person.session_version).order_by(Person.id)).all())
        counts["cart"] = tuple(db.session.execute(text("SELECT id, quantity FROM cart_items ORDER BY id")).all())
        db.session.remove()
    return counts
