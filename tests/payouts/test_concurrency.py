"""Two staff approving at the same moment (PostgreSQL: real row locks, real parallel sessions)."""
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.models import JournalEntry
from marketplace.payouts import services as payouts
from marketplace.payouts.models import PayoutBatch, PayoutItem
from marketplace.people.models import User

pytestmark = pytest.mark.postgres


def third_staff_member(town_id):
    user = User(email="town3@demo.cn", name="岭子镇电商专员 丙", role="town_staff", town_id=town_id)
    user.set_password("demo1234")
    db.session.add(user)
    db.session.commit()
    return user.id


def approve_at_once(app, approvals):
    """Run approve_batch(actor, batch) for each pair in its own thread and session, released together."""
    barrier = threading.Barrier(len(approvals))
    outcomes = [None] * len(approvals)

    def run(index, actor_id, batch_id):
        with app.app_context():
            barrier.wait()
            try:
                payouts.approve_batch(actor_id, batch_id)
                outcomes[index] = "approved"
            except DomainError as error:
                outcomes[index] = type(error).__name__
            except OperationalError as error:  # PostgreSQL aborted one of them (a deadlock): nothing of it commits
                outcomes[index] = type(error.orig).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, *pair)) for i, pair in enumerate(approvals)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def approvals_posted():
    return db.session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.rule == "payout_approved"))


def test_two_staff_approving_one_batch_at_once_pay_it_once(app, lingzi):
    other_checker = third_staff_member(lingzi.town_id)
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    batch_id, items = batch.id, len(batch.items)
    db.session.remove()

    outcomes = approve_at_once(app, [(lingzi.checker_id, batch_id), (other_checker, batch_id)])

    assert sorted(outcomes) == ["Conflict", "approved"]
    assert approvals_posted() == items
    assert db.session.get(PayoutBatch, batch_id).approved_by_id in (lingzi.checker_id, other_checker)


def test_two_batches_for_one_household_approved_at_once_never_overpay(app, lingzi):
    other_checker = third_staff_member(lingzi.town_id)
    first = payouts.create_batch(lingzi.maker_id, "bank", 0)
    household_id, amount = first.items[0].household_id, first.items[0].amount_fen
    # A second draft for the same money (as if drafted before the first existed).
    second = PayoutBatch(town_id=lingzi.town_id, method="bank", created_by_id=lingzi.maker_id)
    second.items = [PayoutItem(household_id=household_id, amount_fen=amount)]
    db.session.add(second)
    db.session.commit()
    first_id, second_id = first.id, second.id
    db.session.remove()

    outcomes = approve_at_once(app, [(lingzi.checker_id, first_id), (other_checker, second_id)])

    # Payee accounts are locked in one id-ordered statement: the second approval waits, then sees
    # the money gone and refuses clearly (never a deadlock abort).
    assert sorted(outcomes) == ["PayoutExceedsBalance", "approved"]
    balance = household_balance(household_id)
    assert (balance.available_fen, balance.paid_to_date_fen) == (0, amount)
