"""PostgreSQL: postings cannot be changed, and a household cannot be spent below zero by a race."""
import threading

import pytest
from sqlalchemy import text

from marketplace.extensions import db
from marketplace.ledger.attribution import pay_order_from_earnings, post_payout_approved
from marketplace.ledger.balances import household_balance
from marketplace.ledger.errors import InsufficientBalance
from marketplace.ledger.models import JournalEntry

pytestmark = pytest.mark.postgres


def test_postings_and_entries_cannot_be_updated_or_deleted(district):
    grower = district.household()
    coop = district.cooperative(members=[(grower, 1)])
    district.lot(district.variant(coop, price_fen=800, floor_price_fen=500), grower, 10)
    for statement in ("UPDATE postings SET amount_fen = amount_fen * 2", "DELETE FROM postings",
                      "UPDATE journal_entries SET memo = 'changed'", "DELETE FROM journal_entries"):
        with pytest.raises(Exception, match="immutable"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert household_balance(grower.id).posted_fen == 5_000


def test_an_entry_that_does_not_balance_cannot_be_committed(district):
    entry = district.add(JournalEntry(idempotency_key="lopsided", rule="direct_sale", rule_settings={}))
    db.session.execute(text("INSERT INTO ledger_accounts (kind, owner_type, owner_id) VALUES ('bank', '', 0)"))
    db.session.execute(text("INSERT INTO postings (entry_id, account_id, amount_fen) "
                            "SELECT :entry, id, 100 FROM ledger_accounts WHERE kind = 'bank'"), {"entry": entry.id})
    with pytest.raises(Exception, match="does not balance"):
        db.session.commit()


def _in_thread(app, work, outcomes):
    def target():
        with app.app_context():
            try:
                work()
                db.session.commit()
                outcomes.append("ok")
            except InsufficientBalance:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def _waiting_on_locks():
    with db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalar()


def test_a_payout_and_a_purchase_racing_on_one_household_never_take_it_below_zero(app, district, waiter):
    household = district.household()
    coop = district.cooperative(members=[(household, 1)])
    district.lot(district.variant(coop, price_fen=800, floor_price_fen=500), household, 20)
    district.fund(coop, 10_000)  # 100元 available: the cooperative funded the floor money
    shop = district.supplier()
    order = district.order([(district.variant(shop, price_fen=6_000), 1)], household=household,
                           status="pending_payment")
    agent = district.agent_for()
    item = district.payout_item(household, amount_fen=6_000)
    order_id, item_id, agent_id, household_id = order.id, item.id, agent.id, household.id

    # Hold the household's account so both contenders are inside their transactions at once.
    holder = db.engine.connect()
    blocker = holder.begin()
    holder.execute(text("SELECT id FROM ledger_accounts WHERE kind = 'household_payable' AND owner_id = :h FOR UPDATE"),
                   {"h": household_id})
    outcomes = []
    threads = [_in_thread(app, lambda: pay_order_from_earnings(order_id, agent_id), outcomes),
               _in_thread(app, lambda: post_payout_approved(item_id), outcomes)]
    waiter.wait_for(lambda: _waiting_on_locks() == 2)
    blocker.rollback()
    holder.close()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["ok", "refused"]
    db.session.remove()
    balance = household_balance(household_id)
    assert balance.posted_fen == 4_000 and balance.available_fen >= 0
