"""Paying for daily goods from a household's earnings (rule 9), through the agent."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.downlink import ordering
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance, supplier_payable_fen
from marketplace.ledger.errors import InsufficientBalance
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.services import account_id, owed_to_fen
from marketplace.money import apply_rate
from marketplace.orders.models import Order
from marketplace.people.models import Supplier
from tests.downlink.conftest import credit_earnings


def counts():
    return (db.session.scalar(select(func.count()).select_from(JournalEntry)),
            db.session.scalar(select(func.count()).select_from(Posting)),
            db.session.scalar(select(func.count()).select_from(Order)))


def test_an_agent_orders_for_a_household_and_pays_from_its_earnings(app_ctx, dl, place):
    credit_earnings(dl.household_id, 500_00)
    rate = Decimal("0.03")  # agreed with the supplier
    db.session.get(Supplier, dl.supplier_id).commission_rate = rate
    db.session.commit()

    order = place({dl.fertiliser: 2, dl.oil: 1}, "earnings")

    total = 2 * 16500 + 9900
    assert (order.status, order.payment_method, order.total_fen) == ("paid", "earnings", total)
    assert household_balance(dl.household_id).available_fen == 500_00 - total
    commission = apply_rate(2 * 16500, rate) + apply_rate(9900, rate)
    assert supplier_payable_fen(dl.supplier_id) == total - commission
    assert owed_to_fen(account_id("platform_fees")) == commission
    # Exactly the order's total left the household; all of it went to the supplier and the platform.
    household_moved = -sum(db.session.scalars(
        select(Posting.amount_fen).join(JournalEntry).where(
            JournalEntry.order_id == order.id,
            Posting.account_id == account_id("household_payable", "household", dl.household_id))))
    assert household_moved == -total


def test_an_order_beyond_the_balance_is_refused_with_nothing_posted(app_ctx, dl, place):
    credit_earnings(dl.household_id, 100_00)
    before = counts()
    stock_before = db.session.scalar(select(Variant.stock_available).where(Variant.id == dl.fertiliser))

    with pytest.raises(InsufficientBalance) as refused:
        place({dl.fertiliser: 1}, "earnings")

    assert "¥100.00" in refused.value.message and "¥165.00" in refused.value.message
    assert counts() == before
    assert household_balance(dl.household_id).available_fen == 100_00
    assert db.session.scalar(select(Variant.stock_available).where(Variant.id == dl.fertiliser)) == stock_before


def test_an_agent_of_another_village_cannot_spend_a_households_earnings(app_ctx, dl, place):
    from marketplace.errors import NotFound
    from tests.downlink.conftest import make_agent

    credit_earnings(dl.household_id, 500_00)
    other_agent = make_agent("东东峪村", "agent2@demo.cn")
    with pytest.raises(NotFound):
        place({dl.oil: 1}, "earnings", agent_id=other_agent)
    assert household_balance(dl.household_id).available_fen == 500_00


@pytest.mark.postgres
def test_two_concurrent_earnings_orders_on_one_household_cannot_overdraw_it(app, dl):
    """Each order alone fits the balance, both together do not: exactly one is paid."""
    with app.app_context():
        credit_earnings(dl.household_id, 200_00)
        db.session.remove()
    barrier = threading.Barrier(2)
    outcomes = []

    def order(variant_id):
        with app.app_context():
            barrier.wait()
            try:
                placed = ordering.place_order(dl.agent_id, dl.supplier_id, {variant_id: 1}, "earnings",
                                              household_id=dl.household_id)
                outcomes.append(("paid", placed.total_fen))
            except InsufficientBalance:
                outcomes.append(("refused", 0))
            finally:
                db.session.remove()

    # Different goods, so the stock rows do not serialise them: only the household's account lock does.
    threads = [threading.Thread(target=order, args=(variant,)) for variant in (dl.fertiliser, dl.oil)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(kind for kind, _ in outcomes) == ["paid", "refused"]
    with app.app_context():
        balance = household_balance(dl.household_id)
        assert balance.available_fen == 200_00 - sum(fen for _, fen in outcomes)
        assert balance.available_fen >= 0
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
