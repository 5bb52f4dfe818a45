import pytest
from sqlalchemy import func, select

from marketplace.audit.models import AuditLog
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.models import JournalEntry
from marketplace.payouts import services as payouts
from marketplace.payouts.models import PayoutBatch, PayoutItem


def entries(rule):
    return db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.rule == rule))


def test_a_batch_takes_each_households_whole_available_balance_above_the_minimum(lingzi):
    expected = {h.id: household_balance(h.id).available_fen for h in lingzi.earning("bank")}
    batch = payouts.create_batch(lingzi.maker_id, "bank", 100)
    assert {item.household_id: item.amount_fen for item in batch.items} == expected
    assert batch.status == "draft" and entries("payout_approved") == 0

    with pytest.raises(Conflict, match="No household"):
        payouts.create_batch(lingzi.maker_id, "bank", 0)  # everyone is already in the open batch


def test_the_minimum_leaves_out_smaller_balances(lingzi):
    balances = sorted(household_balance(h.id).available_fen for h in lingzi.earning("cash"))
    batch = payouts.create_batch(lingzi.maker_id, "cash", int(balances[-1]))
    assert [item.amount_fen for item in batch.items] == [balances[-1]]


def test_the_maker_cannot_approve_their_own_batch(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    with pytest.raises(Forbidden, match="another staff member"):
        payouts.approve_batch(lingzi.maker_id, batch.id)
    assert db.session.get(PayoutBatch, batch.id).status == "draft"
    assert entries("payout_approved") == 0


def test_the_database_refuses_a_batch_approved_by_its_maker(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    batch.approved_by_id = lingzi.maker_id
    with pytest.raises(Exception, match="maker_is_not_checker|CHECK"):
        db.session.commit()
    db.session.rollback()


def test_approval_posts_rule_10_and_freezes_the_amounts(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    households = {item.household_id: item.amount_fen for item in batch.items}
    payouts.approve_batch(lingzi.checker_id, batch.id)
    assert entries("payout_approved") == len(households)
    for household_id, amount in households.items():
        balance = household_balance(household_id)
        assert balance.available_fen == 0
        assert balance.paid_to_date_fen == amount
    with pytest.raises(Conflict, match="already been approved"):
        payouts.approve_batch(lingzi.checker_id, batch.id)
    assert db.session.scalar(select(AuditLog.actor_id).filter_by(action="payout_batch.approve")) == lingzi.checker_id


def test_a_payout_above_the_available_balance_is_refused_and_nothing_posted(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    item = batch.items[0]
    item.amount_fen = household_balance(item.household_id).available_fen + 1
    db.session.commit()
    with pytest.raises(payouts.PayoutExceedsBalance, match="available"):
        payouts.approve_batch(lingzi.checker_id, batch.id)
    assert db.session.get(PayoutBatch, batch.id).status == "draft"
    assert entries("payout_approved") == 0


def test_a_failed_payout_is_reversed_and_the_balance_restored(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    item = batch.items[0]
    household_id, amount = item.household_id, item.amount_fen
    payouts.approve_batch(lingzi.checker_id, batch.id)
    assert household_balance(household_id).available_fen == 0

    payouts.mark_item_failed(lingzi.maker_id, item.id, "账户已销户 account closed")
    balance = household_balance(household_id)
    assert (balance.available_fen, balance.paid_to_date_fen) == (amount, 0)
    assert entries("payout_failed") == 1
    with pytest.raises(Conflict):
        payouts.mark_item_paid(lingzi.maker_id, item.id, "BANK-1")
    # The household can be paid again in a new batch.
    again = payouts.create_batch(lingzi.maker_id, "bank", 0)
    assert household_id in {i.household_id for i in again.items}


def test_paid_items_record_their_reference_and_close_the_batch(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "cash", 0)
    payouts.approve_batch(lingzi.checker_id, batch.id)
    for number, item in enumerate(batch.items, start=1):
        payouts.mark_item_paid(lingzi.checker_id, item.id, f"收据-{number}")
    batch = db.session.get(PayoutBatch, batch.id)
    assert batch.status == "closed"
    assert {i.reference for i in batch.items} == {f"收据-{n}" for n in range(1, len(batch.items) + 1)}
    assert entries("payout_paid") == len(batch.items)
    with pytest.raises(Conflict, match="bank reference"):
        payouts.mark_item_paid(lingzi.checker_id, batch.items[0].id, "  ")


def test_staff_of_another_town_cannot_touch_the_batch(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    with pytest.raises(NotFound):
        payouts.approve_batch(lingzi.other_town_staff_id, batch.id)
    with pytest.raises(Forbidden):
        payouts.approve_batch(lingzi.buyer_id, batch.id)
    assert db.session.get(PayoutBatch, batch.id).status == "draft"


def test_a_cancelled_draft_frees_its_households(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    payouts.cancel_batch(lingzi.checker_id, batch.id)
    assert {i.status for i in db.session.get(PayoutBatch, batch.id).items} == {"failed"}
    assert payouts.create_batch(lingzi.maker_id, "bank", 0).items
    assert db.session.scalar(select(func.count()).select_from(PayoutItem).where(PayoutItem.status == "pending")) > 0
