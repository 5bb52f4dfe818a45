"""Pre-sales end to end on the services: deposit, harvest, balance, fill; short harvest; deadlines."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.database import utcnow
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import account_id, balance_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.local_time import local_today
from marketplace.orders.models import Order
from marketplace.presales.harvest import close_short, expire_unpaid_balances
from marketplace.presales.models import PreOrder, PreOrderMessage, PreSale
from marketplace.presales.services import (
    committed_quantity, open_presale, pay_presale_with_test_card, place_preorder, preorder_for_buyer,
)


def preorder(harvest, buyer, presale, quantity):
    return place_preorder(buyer.id, presale.id, quantity, "王女士", "13800000000", "北京市朝阳区")


def held(presale_id):
    return -balance_fen(account_id("presale_deposits", "presale", presale_id))


def assert_ledger_clean():
    report = verify_ledger()
    assert report.ok, [v.message for v in report.violations]
    assert not any(key.startswith("not_rederived") for key in report.counts)


def test_bad_pre_sales_are_refused_and_nothing_is_made(harvest):
    close, start, end = utcnow() + timedelta(days=5), local_today() + timedelta(days=10), local_today() + timedelta(days=20)
    cases = [
        dict(unit_price_fen=800, deposit_per_unit_fen=900, orders_close_at=close, ships_from=start, ships_until=end),
        dict(unit_price_fen=800, deposit_per_unit_fen=200, orders_close_at=utcnow() - timedelta(hours=1),
             ships_from=start, ships_until=end),
        dict(unit_price_fen=800, deposit_per_unit_fen=200, orders_close_at=close, ships_from=end, ships_until=start),
        dict(unit_price_fen=800, deposit_per_unit_fen=0, orders_close_at=close, ships_from=start, ships_until=end),
    ]
    for case in cases:
        with pytest.raises(DomainError):
            open_presale(harvest.manager.id, harvest.variant.id, 10, **case)
        db.session.rollback()
    other = harvest.district.user("coop_manager", cooperative_id=harvest.district.cooperative().id)
    db.session.commit()
    with pytest.raises(DomainError):
        open_presale(other.id, harvest.variant.id, 10, 800, 200, close, start, end)
    db.session.rollback()
    assert db.session.scalar(select(PreSale.id)) is None


def test_ordering_more_than_the_harvest_left_is_refused(harvest):
    presale = harvest.presale(expected=10)
    preorder(harvest, harvest.buyer(), presale, 7)
    with pytest.raises(DomainError) as refused:
        preorder(harvest, harvest.buyer(), presale, 4)
    assert refused.value.params["left"] == 3
    assert committed_quantity(presale.id) == 7


def test_another_buyers_pre_order_is_not_found(harvest):
    presale = harvest.presale()
    mine = preorder(harvest, harvest.buyer(), presale, 2)
    with pytest.raises(DomainError):
        preorder_for_buyer(mine.id, harvest.buyer().id)


def test_deposit_is_held_then_filled_from_the_harvest_and_profit_returns_to_the_households(harvest, stripe_server):
    presale = harvest.presale(expected=10, deposit=200)
    first, second = harvest.buyer(), harvest.buyer()
    early = preorder(harvest, first, presale, 4)
    late = preorder(harvest, second, presale, 5)
    pay_presale_with_test_card(first.id, early.id, "deposit")
    pay_presale_with_test_card(second.id, late.id, "deposit")
    assert held(presale.id) == 200 * 9
    # The deposits are nobody's income: no household, no cooperative has a fen of them.
    for household in (harvest.h1, harvest.h2):
        assert household_balance(household.id).posted_fen == 0 or household_balance(household.id).available_fen == 0
    assert_ledger_clean()

    harvest.lot(harvest.h1, 3)  # not enough for the first order: nobody is allocated
    assert db.session.get(PreOrder, early.id).status == "committed"
    harvest.lot(harvest.h2, 3)  # 6 received: the first order (4) is allocated, the second (5) waits
    early, late = db.session.get(PreOrder, early.id), db.session.get(PreOrder, late.id)
    assert (early.status, late.status) == ("balance_due", "committed")
    assert early.balance_fen == 4 * 800 - 4 * 200

    pay_presale_with_test_card(first.id, early.id, "balance")
    early = db.session.get(PreOrder, early.id)
    assert early.status == "filled"
    order = db.session.get(Order, early.order_id)
    assert (order.status, order.total_fen, order.lines[0].quantity) == ("paid", 3200, 4)
    with pytest.raises(DomainError):
        pay_presale_with_test_card(first.id, early.id, "balance")  # paying the balance twice
    # Profit return reached the households whose lots were sold, FIFO: 3 units of h1's, 1 of h2's.
    sale = db.session.scalar(select(JournalEntry).where(JournalEntry.order_id == order.id,
                                                        JournalEntry.rule == "cooperative_sale"))
    returned = {a["household_id"]: a["lot_units"] for a in sale.rule_settings["allocations"]}
    assert returned == {harvest.h1.id: 3, harvest.h2.id: 1}
    assert held(presale.id) == 200 * 5  # only the waiting order's deposit is still held
    assert_ledger_clean()

    refunded = close_short(harvest.manager.id, presale.id)
    assert refunded == [late.id]
    late = db.session.get(PreOrder, late.id)
    assert late.status == "refunded" and late.payments[0].refunded_fen == 1000
    assert held(presale.id) == 0
    told = db.session.scalars(select(PreOrderMessage.kind).where(PreOrderMessage.buyer_id == second.id)).all()
    assert set(told) == {"deposit_paid", "refunded_short"}
    assert_ledger_clean()


def test_short_harvest_refunds_the_last_orders_first(harvest, stripe_server):
    presale = harvest.presale(expected=9, deposit=800)  # full prepayment: filled at allocation
    buyers = [harvest.buyer() for _ in range(3)]
    orders = [preorder(harvest, buyer, presale, 3) for buyer in buyers]
    for buyer, order in zip(buyers, orders):
        pay_presale_with_test_card(buyer.id, order.id, "deposit")
    harvest.lot(harvest.h1, 4)
    refunded = close_short(harvest.manager.id, presale.id)
    statuses = [db.session.get(PreOrder, o.id).status for o in orders]
    assert statuses == ["filled", "refunded", "refunded"]
    assert refunded == [orders[2].id, orders[1].id]  # the last order first
    assert held(presale.id) == 0
    assert_ledger_clean()


def test_short_harvest_pro_rata_cuts_every_order_and_gives_back_the_excess(harvest, stripe_server):
    presale = harvest.presale(expected=10, deposit=800, short_policy="pro_rata")
    buyers = [harvest.buyer() for _ in range(2)]
    orders = [preorder(harvest, buyers[0], presale, 6), preorder(harvest, buyers[1], presale, 4)]
    for buyer, order in zip(buyers, orders):
        pay_presale_with_test_card(buyer.id, order.id, "deposit")
    harvest.lot(harvest.h1, 5)  # 5 of 10: none fits whole at first (6 > 5), then cut 3 and 2
    close_short(harvest.manager.id, presale.id)
    cut = [db.session.get(PreOrder, o.id) for o in orders]
    assert [(p.status, p.allocated_quantity) for p in cut] == [("filled", 3), ("filled", 2)]
    assert [p.payments[0].refunded_fen for p in cut] == [3 * 800, 2 * 800]
    assert held(presale.id) == 0
    assert_ledger_clean()


@pytest.mark.parametrize("policy, outcome", [("forfeit", "forfeited"), ("refund", "refunded")])
def test_unpaid_balance_past_its_deadline_follows_the_terms(harvest, stripe_server, policy, outcome):
    presale = harvest.presale(expected=5, deposit=300, unpaid_policy=policy)
    buyer = harvest.buyer()
    order = preorder(harvest, buyer, presale, 2)
    pay_presale_with_test_card(buyer.id, order.id, "deposit")
    harvest.lot(harvest.h1, 2)
    due = db.session.get(PreOrder, order.id).balance_due_at
    assert expire_unpaid_balances(now=due - timedelta(days=2)) == {"reminded": 0, "forfeited": 0, "refunded": 0}
    assert expire_unpaid_balances(now=due - timedelta(hours=12))["reminded"] == 1
    assert expire_unpaid_balances(now=due - timedelta(hours=11))["reminded"] == 0  # reminded once
    done = expire_unpaid_balances(now=due + timedelta(minutes=1))
    assert done[policy + "ed" if policy == "refund" else "forfeited"] == 1
    assert expire_unpaid_balances(now=due + timedelta(hours=1)) == {"reminded": 0, "forfeited": 0, "refunded": 0}
    assert db.session.get(PreOrder, order.id).status == outcome
    assert held(presale.id) == 0
    coop_revenue = -balance_fen(account_id("cooperative_revenue", "cooperative", harvest.coop.id))
    assert coop_revenue == (600 if policy == "forfeit" else 0)
    assert_ledger_clean()
