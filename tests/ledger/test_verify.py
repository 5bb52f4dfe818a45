"""`flask ledger verify` passes on a healthy ledger and names what breaks; `explain` traces a household."""
import pytest
from sqlalchemy import text, update

from marketplace.catalog.models import SupplyLot
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.services import account_id, post_entry


@pytest.fixture
def history(district):
    grower, seller = district.household(), district.household(verified_poor=False)
    coop = district.cooperative(profit_return_rate="0.30", members=[(grower, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    eggs = district.variant(seller, price_fen=1_111)
    lot = district.lot(grains, grower, 100)
    order, payment = district.paid_order([(grains, 60), (eggs, 3)], shipping_fen=700, donation_fen=50, fee_fen=99)
    attribute_payment(payment.id)
    attribute_refund(district.refund(order, {order.lines[0]: 7, order.lines[1]: 1}, extra_fen=100).id)
    return grower, lot, order


def test_verify_passes_on_a_real_history_and_prints_counts(history, runner):
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "ledger OK" in result.output
    assert "orders_attributed: 1" in result.output


def test_verify_names_an_entry_that_does_not_balance(history, runner):
    if db.engine.dialect.name == "postgresql":
        # PostgreSQL's own trigger refuses this; tamper as a restore without triggers would.
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    entry = JournalEntry(idempotency_key="tampered", rule="direct_sale", rule_settings={"x": 1})
    entry.postings = [Posting(account_id=account_id("bank"), amount_fen=5),
                      Posting(account_id=account_id("shipping"), amount_fen=-4)]
    db.session.add(entry)
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"VIOLATION [entry_balances] entry has 2 postings summing to 1 fen (entry_id={entry.id})" in result.output
    assert "VIOLATION [ledger_sums_to_zero]" in result.output


def test_verify_catches_an_order_credited_more_than_was_paid(history, runner):
    _grower, _lot, order = history
    post_entry("extra-credit", "shipping", [(account_id("sales_pending"), 10), (account_id("shipping"), -10)],
               rule_settings={"shipping_fen": 10}, order_id=order.id)
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"(order_id={order.id})" in result.output and "[order_credits]" in result.output


def test_verify_catches_lot_units_that_went_missing(history, runner):
    _grower, lot, _order = history
    db.session.execute(update(SupplyLot).where(SupplyLot.id == lot.id).values(quantity_remaining=50))
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"[lots] lot has 50 units left, allocations say 40 (lot_id={lot.id})" in result.output


def test_explain_traces_each_fen_of_a_household_in_plain_sentences(history, runner):
    grower, lot, order = history
    result = runner.invoke(args=["ledger", "explain", "--household", str(grower.id)])
    assert result.exit_code == 0, result.output
    product, day = lot.product.title_zh, f"{lot.received_on.month}月{lot.received_on.day}日"
    assert f"{day}交售{product} 100 斤，按保底价每斤 5.00 元收购：500.00 元" in result.output
    assert f"您交售的{product} 60 斤在" in result.output
    assert "售价每斤 8.00 元，高出保底价 3.00 元，合作社按 30% 返还：54.00 元" in result.output
    assert f"退款 56.00 元，相应的利润返还扣回：6.30 元" in result.output
    for developer_word in ("lot ", "fen", "rate=", "_id", "0.3000", "floor_purchase"):
        assert developer_word not in result.output.split("posted ")[0]
    # 500元 floor + 0.3 × 60 × 3元 − 0.3 × 7 × 3元 returned
    assert "posted ¥547.70" in result.output
    english = runner.invoke(args=["ledger", "explain", "--household", str(grower.id), "--lang", "en"])
    assert "you delivered 100 jin of" in english.output and "bought at the guaranteed floor price of ¥5.00 per jin: ¥500.00" in english.output


def test_explain_an_unknown_household_says_so(app_ctx, runner):
    result = runner.invoke(args=["ledger", "explain", "--household", "999"])
    assert result.exit_code != 0 and "没有这户农户" in result.output
    english = runner.invoke(args=["ledger", "explain", "--household", "999", "--lang", "en"])
    assert english.exit_code != 0 and "No such household" in english.output
