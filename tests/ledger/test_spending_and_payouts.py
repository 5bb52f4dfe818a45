"""Rules 9, 10, 11: spending earnings on daily goods, paying households and suppliers out."""
import pytest

from marketplace.errors import Conflict, Forbidden
from marketplace.extensions import db
from marketplace.ledger.attribution import (
    attribute_payment, pay_order_from_earnings, post_payout_approved, post_payout_failed, post_payout_paid,
    post_stripe_payout,
)
from marketplace.ledger.balances import household_balance, supplier_payable_fen
from marketplace.ledger.errors import InsufficientBalance
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import account_id, balance_fen
from marketplace.orders.models import Order


@pytest.fixture
def earner(district):
    """A household with 100元 of floor-purchase earnings its cooperative has funded, a shop, and the village agent."""
    household = district.household()
    coop = district.cooperative(members=[(household, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    district.lot(grains, household, 20)
    district.fund(coop, 10_000)
    return household, district.supplier(commission_rate="0.05"), district.agent_for()


def test_a_household_pays_for_daily_goods_from_its_earnings(district, earner):
    household, shop, agent = earner
    soap = district.variant(shop, price_fen=2_000)
    order = district.order([(soap, 3)], household=household, status="pending_payment")
    pay_order_from_earnings(order.id, agent.id)
    assert household_balance(household.id).posted_fen == 10_000 - 6_000
    assert supplier_payable_fen(shop.id) == 6_000 - 300  # less its agreed 5 %
    assert db.session.get(Order, order.id).status == "paid"
    pay_order_from_earnings(order.id, agent.id)  # a double tap changes nothing
    assert household_balance(household.id).posted_fen == 4_000


def test_spending_more_than_is_available_is_refused_and_changes_nothing(district, earner):
    household, shop, agent = earner
    tractor = district.variant(shop, price_fen=10_001)
    order = district.order([(tractor, 1)], household=household, status="pending_payment")
    with pytest.raises(InsufficientBalance):
        pay_order_from_earnings(order.id, agent.id)
    db.session.rollback()
    assert household_balance(household.id).posted_fen == 10_000
    assert db.session.get(Order, order.id).status == "pending_payment"


def test_an_agent_of_another_village_cannot_spend_a_households_earnings(district, earner):
    household, shop, _agent = earner
    stranger = district.agent_for(district.village_in(district.town))
    soap = district.variant(shop, price_fen=100)
    order = district.order([(soap, 1)], household=household, status="pending_payment")
    with pytest.raises(Forbidden):
        pay_order_from_earnings(order.id, stranger.id)


def test_sales_not_yet_settled_are_pending_and_cannot_be_paid_out(district):
    seller = district.household()
    eggs = district.variant(seller, price_fen=5_000)
    order, payment = district.paid_order([(eggs, 1)])
    attribute_payment(payment.id)
    balance = household_balance(seller.id)
    assert (balance.posted_fen, balance.pending_fen, balance.available_fen) == (5_000, 5_000, 0)
    with pytest.raises(InsufficientBalance):
        post_payout_approved(district.payout_item(household=seller, amount_fen=1).id)
    db.session.rollback()
    db.session.get(Order, order.id).status = "delivered"  # the order's status alone makes nothing available
    db.session.commit()
    assert household_balance(seller.id).available_fen == 0
    district.settle(order)
    assert household_balance(seller.id).available_fen == 5_000


def test_a_payout_moves_money_through_transit_to_the_bank(district, earner):
    household, _shop, _agent = earner
    item = district.payout_item(household=household, amount_fen=6_000)
    post_payout_approved(item.id)
    post_payout_approved(item.id)
    db.session.commit()
    balance = household_balance(household.id)
    assert (balance.posted_fen, balance.paid_to_date_fen) == (4_000, 6_000)
    assert balance_fen(account_id("payouts_in_transit")) == -6_000
    post_payout_paid(item.id)
    db.session.commit()
    assert balance_fen(account_id("payouts_in_transit")) == 0
    assert balance_fen(account_id("bank")) == 10_000 - 6_000  # the cooperative's deposit less the payout
    with pytest.raises(Conflict):
        post_payout_failed(item.id)


def test_a_failed_payout_gives_the_money_back(district, earner):
    household, _shop, _agent = earner
    item = district.payout_item(household=household, amount_fen=6_000)
    post_payout_approved(item.id)
    post_payout_failed(item.id)
    post_payout_failed(item.id)
    db.session.commit()
    balance = household_balance(household.id)
    assert (balance.posted_fen, balance.paid_to_date_fen) == (10_000, 0)
    with pytest.raises(Conflict):
        post_payout_paid(item.id)


def test_a_supplier_is_paid_what_it_is_owed_and_no_more(district, earner):
    household, shop, agent = earner
    soap = district.variant(shop, price_fen=2_000)
    order = district.order([(soap, 1)], household=household, status="pending_payment")
    pay_order_from_earnings(order.id, agent.id)
    with pytest.raises(InsufficientBalance):  # not picked up yet: nothing is available to the supplier
        post_payout_approved(district.payout_item(supplier=shop, amount_fen=1).id)
    db.session.rollback()
    district.settle(order)
    with pytest.raises(InsufficientBalance):
        post_payout_approved(district.payout_item(supplier=shop, amount_fen=1_901).id)
    db.session.rollback()
    post_payout_approved(district.payout_item(supplier=shop, amount_fen=1_900).id)
    db.session.commit()
    assert supplier_payable_fen(shop.id) == 0


def test_a_stripe_payout_is_posted_once(app_ctx):
    post_stripe_payout("po_123", 50_000)
    post_stripe_payout("po_123", 50_000)
    db.session.commit()
    assert balance_fen(account_id("bank")) == 50_000
    assert db.session.query(JournalEntry).filter_by(rule="stripe_payout").count() == 1
