import pytest
from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.catalog.models import Variant
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.orders.models import Order
from tests.downlink.conftest import user_id, village_households


def stock(variant_id):
    return db.session.scalar(select(Variant.stock_available).where(Variant.id == variant_id))


def test_an_agent_orders_for_a_household_delivered_to_the_service_point(app_ctx, dl, place):
    before = stock(dl.oil)
    order = place({dl.oil: 2, dl.soap: 1}, "cash")

    assert (order.direction, order.delivery_kind, order.household_id, order.placed_by_id) == (
        "downlink", "pickup", dl.household_id, dl.agent_id)
    assert order.total_fen == 2 * 9900 + 2590
    assert len(order.pickup_code) == 6 and order.pickup_code.isdigit()
    assert stock(dl.oil) == before - 2
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "downlink.order_placed"))
    assert (audit.actor_id, audit.on_behalf_of_household_id, audit.object_id) == (
        dl.agent_id, dl.household_id, order.id)


def test_an_agent_cannot_order_for_a_household_of_another_village(app_ctx, dl, place):
    elsewhere = village_households("李里村")[0].id
    with pytest.raises(NotFound):
        place({dl.oil: 1}, "cash", household_id=elsewhere)
    assert db.session.query(Order).count() == 0


def test_only_agents_place_service_point_orders(app_ctx, dl, place):
    with pytest.raises(Forbidden):
        place({dl.oil: 1}, "cash", agent_id=user_id("buyer@demo.cn"))


def test_a_walk_in_pays_cash_or_card_but_not_from_earnings(app_ctx, dl, place):
    with pytest.raises(DomainError):
        place({dl.oil: 1}, "earnings", household_id=None, walk_in_name="过路客")
    with pytest.raises(DomainError):
        place({dl.oil: 1}, "cash", household_id=None, walk_in_name="")
    order = place({dl.oil: 1}, "cash", household_id=None, walk_in_name="过路客", walk_in_phone="13800000000")
    assert order.household_id is None and order.recipient_name == "过路客"


@pytest.mark.parametrize("quantity", [-1, 1000, 0, "2"])
def test_bad_quantities_are_refused_and_no_stock_moves(app_ctx, dl, place, quantity):
    before = stock(dl.oil)
    with pytest.raises(DomainError):
        place({dl.oil: quantity}, "cash")
    assert stock(dl.oil) == before
    assert db.session.query(Order).count() == 0


def test_more_than_is_in_stock_is_refused_and_no_stock_moves(app_ctx, dl, place):
    soap_before, oil_before = stock(dl.soap), stock(dl.oil)
    with pytest.raises(Conflict):
        place({dl.soap: 1, dl.oil: oil_before + 1}, "cash")
    assert (stock(dl.soap), stock(dl.oil)) == (soap_before, oil_before)
    assert db.session.query(Order).count() == 0


def test_goods_of_another_supplier_cannot_be_slipped_into_the_order(app_ctx, dl, place):
    pears = db.session.scalar(select(Variant.id).where(Variant.sku == "PEAR-5J"))
    with pytest.raises(NotFound):
        place({pears: 1}, "cash")


def test_cancelling_an_unpaid_order_puts_its_stock_back(app_ctx, dl, place):
    from marketplace.downlink.ordering import cancel_unpaid_order

    before = stock(dl.oil)
    order = place({dl.oil: 3}, "stripe")
    cancel_unpaid_order(dl.agent_id, order.public_no)
    assert stock(dl.oil) == before
    assert db.session.get(Order, order.id).status == "cancelled"
