"""Settlement (DESIGN §3): shipments per seller, delivery, the after-sales window, funded floor
money, and refunds that never push a payee below zero."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.coops.services import confirm_lot
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund, post_payout_approved
from marketplace.ledger.balances import household_balance, love_fund_summary
from marketplace.ledger.errors import InsufficientBalance
from marketplace.ledger.services import account_id, balance_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders import fulfilment
from marketplace.orders.history import order_timeline
from marketplace.orders.models import Order, OrderEvent, Shipment
from marketplace.orders.settlement import auto_confirm_due, settle_due
from marketplace.payouts import funding
from marketplace.payouts import services as payouts
from marketplace.payouts.models import PayoutItem


def shipments(order):
    return db.session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)).all()


def managers(district, *coops):
    return [district.user("coop_manager", cooperative_id=coop.id).id for coop in coops]


def ship(shipment, manager):
    fulfilment.mark_packed(shipment.id, manager)
    fulfilment.mark_shipped(shipment.id, manager, "顺丰速运", f"SF{shipment.id:08d}")


def later(days):
    return utcnow() + timedelta(days=days, minutes=1)


@pytest.fixture
def two_cooperatives(district):
    """An order of two cooperatives' goods, paid and attributed; each sold from a household's lot."""
    pear_grower, grain_grower = district.household(), district.household()
    pears_coop = district.cooperative(profit_return_rate="0.30", members=[(pear_grower, 1)])
    grain_coop = district.cooperative(profit_return_rate="0.30", members=[(grain_grower, 1)])
    pears = district.variant(pears_coop, price_fen=1_000, floor_price_fen=600)
    grains = district.variant(grain_coop, price_fen=800, floor_price_fen=500)
    district.lot(pears, pear_grower, 10)
    district.lot(grains, grain_grower, 10)
    order, payment = district.paid_order([(pears, 5), (grains, 5)], shipping_fen=1_000)
    attribute_payment(payment.id)
    return order, managers(district, pears_coop, grain_coop), (pear_grower, grain_grower)


def test_each_cooperative_moves_only_its_own_shipment(district, two_cooperatives):
    order, (pears_manager, grain_manager), _growers = two_cooperatives
    pears_parcel, grain_parcel = shipments(order)
    with pytest.raises(NotFound):
        fulfilment.mark_packed(grain_parcel.id, pears_manager)
    ship(pears_parcel, pears_manager)
    db.session.expire_all()
    assert (pears_parcel.status, grain_parcel.status) == ("shipped", "open")
    assert db.session.get(Order, order.id).status == "paid"  # the order follows its least advanced parcel
    ship(grain_parcel, grain_manager)
    assert db.session.get(Order, order.id).status == "shipped"


def test_the_buyers_confirmation_delivers_and_the_window_settles_each_shipment(district, two_cooperatives):
    order, (pears_manager, grain_manager), (pear_grower, grain_grower) = two_cooperatives
    buyer = district.user("buyer")
    order.buyer_id = buyer.id
    db.session.commit()
    pears_parcel, grain_parcel = shipments(order)
    ship(pears_parcel, pears_manager)
    ship(grain_parcel, grain_manager)
    fulfilment.confirm_receipt(order.public_no, pears_parcel.id, buyer.id)
    with pytest.raises(Conflict):
        fulfilment.confirm_receipt(order.public_no, pears_parcel.id, buyer.id)  # a second tap changes nothing
    pending = household_balance(pear_grower.id).pending_fen
    assert pending == 600  # profit return 0.30 × 5 × (1000 − 600): still pending after delivery

    assert settle_due(now=later(6)) == 0  # inside the after-sales window
    assert settle_due(now=later(7)) == 1  # the pears settle; the grains were never delivered
    assert household_balance(pear_grower.id).pending_fen == 0
    assert household_balance(grain_grower.id).pending_fen == 450
    assert settle_due(now=later(7)) == 0  # a settled shipment settles once

    assert auto_confirm_due(now=later(10)) == 1  # nobody confirmed the grains: delivered by the clock
    assert settle_due(now=later(10 + 7)) == 1
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "completed"
    assert db.session.get(Order, order.id).settled_at is not None
    assert household_balance(grain_grower.id).pending_fen == 0
    # The buyer's timeline shows each parcel's settlement once, after its delivery, read from the
    # shipment: the sweep writes no timeline row for it.
    steps = [(step.shipment_id, step.status) for step in order_timeline(order.id)]
    assert steps.count((pears_parcel.id, "settled")) == steps.count((grain_parcel.id, "settled")) == 1
    assert steps.index((grain_parcel.id, "settled")) > steps.index((grain_parcel.id, "delivered"))
    assert db.session.scalar(select(func.count()).select_from(OrderEvent).where(OrderEvent.status == "settled")) == 0


def test_an_open_claim_holds_the_shipment_out_of_settlement(district, two_cooperatives):
    order, (pears_manager, _grain_manager), (pear_grower, _grain_grower) = two_cooperatives
    pears_parcel, _grain_parcel = shipments(order)
    ship(pears_parcel, pears_manager)
    fulfilment.record_carrier_delivery(pears_parcel.id, pears_manager)
    pears_parcel.claim_opened_at = utcnow()
    db.session.commit()
    assert settle_due(now=later(30)) == 0
    assert household_balance(pear_grower.id).pending_fen == 600


def test_a_partial_refund_never_releases_the_rest_of_an_unsettled_order(district):
    seller = district.household()
    eggs, honey = district.variant(seller, price_fen=1_000), district.variant(seller, price_fen=3_000)
    order, payment = district.paid_order([(eggs, 2), (honey, 1)])
    attribute_payment(payment.id)
    attribute_refund(district.refund(order, {order.lines[0]: 1}).id)
    balance = household_balance(seller.id)
    assert (balance.posted_fen, balance.pending_fen, balance.available_fen) == (4_000, 4_000, 0)
    with pytest.raises(InsufficientBalance):
        post_payout_approved(district.payout_item(household=seller, amount_fen=1).id)


def test_the_article_profit_return_becomes_available_on_settlement_and_is_paid_in_a_batch(district):
    """Lili: floor 5元/斤 guaranteed; 100 斤 sold at 8元, 30 % of the 3元 above the floor goes back: 90元."""
    grower = district.household()
    lili = district.cooperative(profit_return_rate="0.30", members=[(grower, 1)])
    grains = district.variant(lili, price_fen=800, floor_price_fen=500)
    district.lot(grains, grower, 100)
    order, payment = district.paid_order([(grains, 100)])
    attribute_payment(payment.id)
    balance = household_balance(grower.id)
    # 500元 of floor money is owed but not yet covered; the 90元 profit return waits for settlement.
    assert (balance.posted_fen, balance.pending_fen, balance.awaiting_funding_fen, balance.available_fen) == (
        50_000 + 9_000, 9_000, 50_000, 0)
    manager, = managers(district, lili)
    (parcel,) = shipments(order)
    ship(parcel, manager)
    fulfilment.record_carrier_delivery(parcel.id, manager)
    settle_due(now=later(7))
    balance = household_balance(grower.id)
    # Settled: the 90元 return is available, and Lili's settled revenue (710元) covers the 500元 floor.
    assert (balance.pending_fen, balance.awaiting_funding_fen, balance.available_fen) == (0, 0, 59_000)

    maker, checker = (district.user("town_staff", town_id=district.town.id).id for _ in range(2))
    batch = payouts.create_batch(maker, "cash", 0)
    (item,) = batch.items
    assert (item.household_id, item.amount_fen) == (grower.id, 59_000)
    payouts.approve_batch(checker, batch.id)
    assert household_balance(grower.id).available_fen == 0
    assert verify_ledger().ok


def test_floor_money_waits_for_the_cooperatives_funding(district):
    grower = district.household()
    coop = district.cooperative(members=[(grower, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    lot = district.lot(grains, grower, 100)
    maker, checker = (district.user("town_staff", town_id=district.town.id).id for _ in range(2))
    with pytest.raises(Conflict):
        payouts.create_batch(maker, "cash", 0)  # ¥500 owed, nothing funded: nobody to pay
    assert funding.households_awaiting_funding(district.town.id)[0][1] == 50_000

    deposit = funding.record_deposit(maker, coop.id, 30_000, "ICBC-0001")
    with pytest.raises(Exception):
        funding.approve_deposit(maker, deposit.id)  # the maker never approves
    db.session.rollback()
    assert household_balance(grower.id).available_fen == 0
    funding.approve_deposit(checker, deposit.id)
    assert household_balance(grower.id).available_fen == 30_000
    assert balance_fen(account_id("bank")) == 30_000

    funding.record_paid_by_cooperative(maker, lot.id, 20_000, "现金收据-7")
    balance = household_balance(grower.id)
    assert (balance.posted_fen, balance.awaiting_funding_fen, balance.available_fen) == (30_000, 0, 30_000)
    with pytest.raises(Conflict):
        funding.record_paid_by_cooperative(maker, lot.id, 1, "现金收据-8")  # nothing left awaiting funding
    batch = payouts.create_batch(maker, "cash", 0)
    assert [item.amount_fen for item in batch.items] == [30_000]
    assert verify_ledger().ok


def test_a_lot_above_the_ceiling_owes_nothing_until_town_staff_confirm_it(district, app):
    grower = district.household()
    coop = district.cooperative(members=[(grower, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    huge = district.lot(grains, grower, 10_000_000 // 100)  # 100,000 斤: above one lot's ceiling
    assert huge.confirmed_at is None
    assert household_balance(grower.id).posted_fen == 0
    staff = district.user("town_staff", town_id=district.town.id).id
    confirm_lot(staff, huge.id)
    assert household_balance(grower.id).posted_fen == 100_000 * 500
    with pytest.raises(Conflict):
        confirm_lot(staff, huge.id)


def test_a_round_up_is_granted_only_once_its_order_settles(district):
    seller = district.household()
    eggs = district.variant(seller, price_fen=1_000)
    order, payment = district.paid_order([(eggs, 1)], donation_fen=867)
    attribute_payment(payment.id)
    fund = love_fund_summary(district.town.id)
    assert (fund["balance_fen"], fund["available_fen"]) == (867, 0)
    district.settle(order)
    assert love_fund_summary(district.town.id)["available_fen"] == 867


def test_a_refund_after_settlement_never_takes_a_paid_household_below_zero(district):
    seller = district.household()
    eggs = district.variant(seller, price_fen=5_000)
    order, payment = district.paid_order([(eggs, 1)])
    attribute_payment(payment.id)
    district.settle(order)
    post_payout_approved(district.payout_item(household=seller, amount_fen=4_000).id)
    db.session.commit()
    refund = district.refund(order, {order.lines[0]: 1})
    refund.borne_by = "platform"
    db.session.commit()
    attribute_refund(refund.id)
    balance = household_balance(seller.id)
    assert (balance.posted_fen, balance.available_fen) == (0, 0)  # gave back the 1,000 it still had
    assert balance_fen(account_id("refund_losses")) == 4_000      # the platform bears what was paid out
    assert verify_ledger().ok


def test_a_supplier_is_owed_nothing_payable_until_the_goods_are_picked_up(district):
    household, shop = district.household(), district.supplier()
    soap = district.variant(shop, price_fen=2_000)
    order, payment = district.paid_order([(soap, 1)], household=household)
    attribute_payment(payment.id)
    with pytest.raises(InsufficientBalance):
        post_payout_approved(district.payout_item(supplier=shop, amount_fen=1).id)
    db.session.rollback()
    district.settle(order)
    post_payout_approved(district.payout_item(supplier=shop, amount_fen=1_900).id)
    db.session.commit()
    assert db.session.scalar(select(PayoutItem.amount_fen).order_by(PayoutItem.id.desc())) == 1_900


def test_the_village_agent_packs_and_ships_a_households_direct_sale(district):
    seller, stranger_village = district.household(), district.village_in(district.town)
    eggs = district.variant(seller, price_fen=1_500)
    order, payment = district.paid_order([(eggs, 2)])
    attribute_payment(payment.id)
    agent, other_agent = district.agent_for(), district.agent_for(stranger_village)
    (parcel,) = shipments(order)
    assert [shipment.id for shipment in fulfilment.fulfilment_queue(agent.id)] == [parcel.id]
    with pytest.raises(NotFound):
        fulfilment.mark_packed(parcel.id, other_agent.id)
    ship(parcel, agent.id)
    fulfilment.record_carrier_delivery(parcel.id, agent.id)
    assert settle_due(now=later(7)) == 1
    assert household_balance(seller.id).available_fen == 3_000


def test_the_buyer_confirms_receipt_through_the_api(district, two_cooperatives, client):
    from marketplace.api.tokens import create_token

    order, (pears_manager, _grain_manager), _growers = two_cooperatives
    buyer, stranger = district.user("buyer"), district.user("buyer")
    order.buyer_id = buyer.id
    db.session.commit()
    pears_parcel, grain_parcel = shipments(order)
    ship(pears_parcel, pears_manager)
    # Plain values: each request ends the session the objects belong to.
    pears_id, grain_id, public_no = pears_parcel.id, grain_parcel.id, order.public_no
    token = {"Authorization": f"Bearer {create_token(buyer.id, 'tests')[1]}"}
    stranger_token = {"Authorization": f"Bearer {create_token(stranger.id, 'tests')[1]}"}
    path = f"/api/v1/orders/{public_no}/shipments"

    shown = client.get(f"/api/v1/orders/{public_no}", headers=token).get_json()
    assert [(parcel["id"], parcel["status"]) for parcel in shown["shipments"]] == [
        (pears_id, "shipped"), (grain_id, "open")]
    not_sent = client.post(f"{path}/{grain_id}/receipt", headers=token)
    assert not_sent.status_code == 409  # not on its way yet: nothing changes
    assert client.post(f"{path}/{pears_id}/receipt", headers=stranger_token).status_code == 404

    confirmed = client.post(f"{path}/{pears_id}/receipt", headers=token)
    assert confirmed.status_code == 200, confirmed.get_json()
    parcels = {parcel["id"]: parcel for parcel in confirmed.get_json()["shipments"]}
    assert parcels[pears_id]["status"] == "delivered" and parcels[pears_id]["delivered_at"]
    assert parcels[grain_id]["status"] == "open"
    assert db.session.get(Shipment, pears_id).delivery_confirmed_by == "buyer"


def test_town_staff_record_a_carriers_delivery_for_their_own_towns_sellers_only(district, two_cooperatives, client, auth):
    from flask import g

    from marketplace.places.models import Town

    order, (pears_manager, _grain_manager), _growers = two_cooperatives
    pears_parcel, _grain_parcel = shipments(order)
    ship(pears_parcel, pears_manager)
    staff = district.user("town_staff", town_id=district.town.id)
    elsewhere = district.add(Town(slug="elsewhere", name_zh="别镇", name_en="Elsewhere"))
    outsider = district.user("town_staff", town_id=elsewhere.id)
    db.session.commit()
    pears_id, public_no, staff_email, outsider_email = pears_parcel.id, order.public_no, staff.email, outsider.email
    db.session.rollback()  # end this read before the requests write (SQLite locks the whole file)

    auth.login_as(outsider_email)
    assert public_no not in client.get("/town/deliveries", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert client.post(f"/town/deliveries/{pears_id}").status_code == 404
    assert db.session.get(Shipment, pears_id).status == "shipped"  # another town's parcel: nothing changes
    db.session.rollback()

    auth.login_as(staff_email)
    g.pop("_login_user", None)  # the requests share this test's app context, and Flask-Login caches the user on g
    page = client.get("/town/deliveries", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert public_no in page and "在途包裹" in page and "快递已送达" in page
    client.post(f"/town/deliveries/{pears_id}")
    db.session.expire_all()
    parcel = db.session.get(Shipment, pears_id)
    assert (parcel.status, parcel.delivery_confirmed_by) == ("delivered", "carrier")
    assert public_no not in client.get("/town/deliveries").get_data(as_text=True)


def test_parcels_picked_up_at_a_service_point_are_delivered_by_the_buyers_code(district, two_cooperatives, client, auth):
    from flask import g

    from marketplace.orders import pickup

    order, (pears_manager, _grain_manager), _growers = two_cooperatives
    agent, other_agent, buyer = district.agent_for(), district.agent_for(), district.user("buyer")
    order.delivery_kind, order.service_point_id, order.pickup_code = "pickup", agent.service_point_id, "424242"
    order.buyer_id = buyer.id
    db.session.commit()
    pears_parcel, grain_parcel = shipments(order)
    with pytest.raises(Conflict):  # nothing has arrived yet
        pickup.hand_over_parcels(agent.id, order.public_no, "424242")
    ship(pears_parcel, pears_manager)
    assert [waiting.id for waiting in pickup.parcels_waiting(agent.id)] == [order.id]
    assert pickup.parcels_waiting(other_agent.id) == []
    with pytest.raises(NotFound):  # another service point's order
        pickup.hand_over_parcels(other_agent.id, order.public_no, "424242")
    with pytest.raises(DomainError):  # a wrong code changes nothing
        pickup.hand_over_parcels(agent.id, order.public_no, "000000")
    assert db.session.get(Shipment, pears_parcel.id).status == "shipped"

    public_no, agent_email, pears_id, grain_id = order.public_no, agent.email, pears_parcel.id, grain_parcel.id
    buyer_email = buyer.email
    db.session.rollback()
    auth.login_as(buyer_email)
    g.pop("_login_user", None)
    buyers_page = client.get(f"/orders/{public_no}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "取货码" in buyers_page and "424242" in buyers_page and "服务站" in buyers_page
    db.session.remove()  # the request ran in this test's app context: end its transaction (SQLite locks the file)
    auth.login_as(agent_email)
    g.pop("_login_user", None)
    home = client.get("/agent/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "买家在本站自提的农产品" in home and public_no in home
    assert client.post(f"/agent/parcels/{public_no}", data={"code": "424242"}).status_code == 303
    db.session.expire_all()
    delivered = db.session.get(Shipment, pears_id)
    assert (delivered.status, delivered.delivery_confirmed_by) == ("delivered", "pickup")
    assert db.session.get(Shipment, grain_id).status == "open"  # not sent yet: stays with its seller
    assert settle_due(now=later(7)) == 1  # the after-sales window runs from the hand-over
