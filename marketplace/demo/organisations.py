"""The demo's institutional buyer (消费帮扶): a school canteen in Zichuan with a 30 % share to buy
from poverty-relief areas, its buyer, approver and finance, one order approved and paid by
company transfer (matched from a bank statement line), and one request awaiting approval."""
from decimal import Decimal

from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.local_time import local_today
from marketplace.orders.cart import add_item, open_cart
from marketplace.orders.models import Order
from marketplace.organisations import requisitions, transfers
from marketplace.organisations.models import Organisation, OrganisationMember, OrganisationQuota, Requisition
from marketplace.people.models import User
from marketplace.places.models import Town

CANTEEN = {"name": "淄川区第一中学食堂", "credit_code": "12370302MB2840352P", "kind": "canteen", "district": "淄川区"}
# Declared food purchasing for the year and the share it must place with poverty-relief areas.
DECLARED_TOTAL_FEN, REQUIRED_SHARE = 80_000_00, Decimal("0.30")
MEMBERS = {"org-buyer@demo.cn": "buyer", "org-approver@demo.cn": "approver", "org-finance@demo.cn": "finance"}
DELIVERY = ("一中食堂 王师傅", "13800000001", "淄川区松龄东路1号 第一中学食堂")


def seed_demo_organisation():
    """The canteen, its quota for this year and its staff's memberships (the users come from USERS)."""
    organisation = db.session.scalar(select(Organisation).filter_by(credit_code=CANTEEN["credit_code"]))
    if organisation is None:
        town = db.session.scalar(select(Town).filter_by(slug="devzone"))
        organisation = Organisation(town_id=town.id if town else None, **CANTEEN)
        db.session.add(organisation)
        db.session.flush()
    year = local_today().year
    if db.session.scalar(select(OrganisationQuota.id).filter_by(organisation_id=organisation.id, year=year)) is None:
        db.session.add(OrganisationQuota(organisation_id=organisation.id, year=year,
                                         declared_total_fen=DECLARED_TOTAL_FEN, required_share=REQUIRED_SHARE))
    for email, role in MEMBERS.items():
        user = db.session.scalar(select(User).filter_by(email=email))
        if user is not None and db.session.scalar(select(OrganisationMember.id).filter_by(user_id=user.id)) is None:
            db.session.add(OrganisationMember(organisation_id=organisation.id, user_id=user.id, role=role))
    db.session.flush()
    return organisation


def _request(buyer_id, items, note=""):
    cart = open_cart(user_id=buyer_id)
    for sku, quantity in items:
        add_item(cart.id, db.session.scalar(select(Variant.id).filter_by(sku=sku)), quantity)
    return requisitions.submit_requisition(buyer_id, *DELIVERY, note=note)


def seed_demo_organisation_orders():
    """Once: minor grains and millet approved and paid by a bank-statement transfer; pears awaiting approval."""
    organisation = db.session.scalar(select(Organisation).filter_by(credit_code=CANTEEN["credit_code"]))
    if organisation is None or db.session.scalar(select(Requisition.id).filter_by(organisation_id=organisation.id)):
        return
    ids = {email: db.session.scalar(select(User.id).filter_by(email=email)) for email in MEMBERS}
    admin_id = db.session.scalar(select(User.id).filter_by(email="admin@demo.cn"))
    paid = _request(ids["org-buyer@demo.cn"], [("GRAIN-5J", 12), ("MILLET-5KG", 6)], "下月食堂杂粮")
    paid = requisitions.approve_requisition(ids["org-approver@demo.cn"], paid.id)
    order = db.session.get(Order, paid.order_id)
    transfers.record_transfer(admin_id, local_today(), order.total_fen, CANTEEN["name"],
                              f"消费帮扶货款 {paid.transfer_reference}", "DEMO-BANK-0001")
    _request(ids["org-buyer@demo.cn"], [("PEAR-10J", 10)], "教师节慰问水果")
