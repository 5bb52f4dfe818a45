"""Every coop route, walked as another cooperative's manager, as a buyer and anonymously."""
import re

import pytest
from sqlalchemy import func, select

from marketplace.audit.models import AuditLog
from marketplace.catalog.models import Product, ProductPhoto, SupplyLot, Variant
from marketplace.coops.models import CooperativePeriod, FloorPriceChange, Membership, ShareChange, SharingRule
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, Shipment
from marketplace.organisations import invoices
from marketplace.organisations.models import InvoiceRequest, IssuedInvoice, Organisation
from marketplace.presales.models import PreOrder, PreSale
from tests.aftersales.builders import claimed_order
from tests.coops.conftest import lili, paid_order  # noqa: F401
from tests.organisations.test_acceptance_and_invoices import a_pdf

WATCHED = (Product, Variant, ProductPhoto, SupplyLot, Membership, ShareChange, SharingRule, FloorPriceChange,
           CooperativePeriod, Order, OrderEvent, AuditLog, PreSale, PreOrder, IssuedInvoice)


def snapshot():
    counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in WATCHED}
    counts["stock"] = db.session.scalar(select(func.sum(Variant.stock_available)))
    counts["statuses"] = tuple(db.session.scalars(select(Product.status).order_by(Product.id)))
    counts["orders"] = tuple(db.session.scalars(select(Order.status).order_by(Order.id)))
    counts["presales"] = tuple(db.session.scalars(select(PreSale.status).order_by(PreSale.id)))
    counts["preorders"] = tuple(db.session.scalars(select(PreOrder.status).order_by(PreOrder.id)))
    counts["shipments"] = tuple(db.session.scalars(select(Shipment.status).order_by(Shipment.id)))
    return counts


def coop_routes(app):
    return [(rule, sorted(rule.methods - {"HEAD", "OPTIONS"})) for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("coop.")]


def url_for_rule(rule, ids):
    """Fill every <converter:name> of the rule with an id that belongs to cooperative A."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(ids[m.group(1)]), rule.rule)


@pytest.fixture
def cooperative_a_ids(app, lili, paid_order):
    with app.app_context():
        membership_id = db.session.scalar(select(Membership.id).filter_by(cooperative_id=lili.cooperative_id))
        xihe_household = db.session.scalar(select(Membership.household_id).join(Membership.household)
                                           .where(Membership.cooperative_id != lili.cooperative_id))
        shipment_id = db.session.scalar(select(Shipment.id).where(Shipment.order_id == paid_order))
        claim_id = claimed_order().claim_id
        presale_id = db.session.scalar(select(PreSale.id).where(PreSale.cooperative_id == lili.cooperative_id))
        invoice_id = an_invoice_of(paid_order, shipment_id, lili.manager_id)
        db.session.remove()
    return {"claim_id": claim_id, "product_id": lili.product_id, "variant_id": lili.variant_id, "order_id": paid_order,
            "membership_id": membership_id, "household_id": lili.household_id, "day": "2026-11-28",
            "other_household": xihe_household, "shipment_id": shipment_id,
            "presale_id": presale_id, "invoice_id": invoice_id}


def an_invoice_of(order_id, shipment_id, manager_id):
    """The e-invoice cooperative A uploaded for its shipment, after a demo organisation asked for one."""
    organisation = db.session.scalar(select(Organisation).order_by(Organisation.id))
    db.session.add(InvoiceRequest(order_id=order_id, organisation_id=organisation.id, requested_by_id=manager_id,
                                  title=organisation.name, tax_number=organisation.credit_code, email="cw@example.cn"))
    db.session.commit()
    return invoices.upload_seller_invoice(manager_id, shipment_id, "12345678", 100, "发票.pdf", a_pdf()).id


BODY = {"title_zh": "偷改", "title_en": "Hijacked", "category_id": 1, "status": "archived", "name_zh": "x",
        "name_en": "x", "unit": "jin", "price": "0.01", "stock_available": 0, "weight_grams": 1, "lot_units": 1,
        "stock_seen": 500, "token": "intruder", "household_id": 1, "product_id": 1, "quantity": 5, "grade": "一级",
        "kind": "land", "profit_return_percent": "99", "dividend_percent": "99", "period": "month",
        "weight_land": "9", "weight_house": "9", "weight_fund": "9", "weight_cash": "9", "floor_price": "0.01",
        "period_start": "2026-01-01", "previewed_total_fen": 0, "carrier": "顺丰速运", "tracking_no": "X1",
        "variant_name_zh": "x", "variant_name_en": "x"}


@pytest.mark.parametrize("who", ["coop2@demo.cn", "buyer@demo.cn", None])
def test_no_coop_route_lets_an_outsider_see_or_change_cooperative_a(app, client, auth, cooperative_a_ids, who):
    if who:
        auth.login_as(who)
    with app.app_context():
        BODY["product_id"], BODY["household_id"] = cooperative_a_ids["product_id"], cooperative_a_ids["household_id"]
        before = snapshot()
    routes = coop_routes(app)
    assert len(routes) >= 25
    for rule, methods in routes:
        url = url_for_rule(rule, cooperative_a_ids)
        for method in methods:
            response = client.open(url, method=method, data=BODY if method == "POST" else None)
            if who is None:
                assert response.status_code == 302 and "/login" in response.location, (method, url)
            elif who == "buyer@demo.cn" or "on-behalf" in url:
                assert response.status_code == 403, (who, method, url, response.status_code)
            else:
                # Another cooperative's manager: pages of their own cooperative are fine, A's ids are not.
                ids_of_a = rule.arguments - {"day"}  # a date is nobody's: that day's list of B's own orders
                assert response.status_code in (403, 404) or not ids_of_a, (who, method, url, response.status_code)
                if response.status_code == 200 and response.mimetype == "text/html":
                    body = response.get_data(as_text=True)
                    assert "李里小杂粮" not in body, (method, url)
    with app.app_context():
        after = snapshot()
    if who == "coop2@demo.cn":
        # Their own pages may act on their own cooperative (B), never on A: A's rows are untouched.
        with app.app_context():
            product = db.session.get(Product, cooperative_a_ids["product_id"])
            variant = db.session.get(Variant, cooperative_a_ids["variant_id"])
            assert (product.title_zh, product.status, product.floor_price_fen) == ("李里小杂粮", "active", 500)
            assert (variant.price_fen, variant.stock_available) == (800, 500)
            assert db.session.get(Order, cooperative_a_ids["order_id"]).status == "paid"
            assert db.session.scalar(select(func.count(SupplyLot.id)).filter_by(idempotency_token="intruder")) == 0
            assert db.session.scalar(select(func.count(SharingRule.id)).filter_by(cooperative_id=1)) <= 1
    else:
        assert after == before
