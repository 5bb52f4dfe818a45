"""The beat task for unpaid balances, on the real worker: registered on the beat schedule, and a
balance past its deadline forfeited (or refunded) exactly once however often the beat fires."""
import time
from datetime import timedelta

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import account_id, balance_fen
from marketplace.presales.models import PreOrder
from marketplace.presales.services import pay_presale_with_test_card, place_preorder
from tests.presales.conftest import Harvest


def test_the_unpaid_balance_sweep_is_on_the_beat_schedule(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert any(entry["task"] == "presales.expire_unpaid_balances" for entry in schedule.values())


def test_the_worker_forfeits_a_lapsed_deposit_once(app, celery_worker, stripe_server):
    with app.app_context():
        harvest = Harvest()
        presale = harvest.presale(expected=5, deposit=300, unpaid_policy="forfeit")
        buyer = harvest.buyer()
        preorder = place_preorder(buyer.id, presale.id, 2, "王女士", "13800000000", "北京市朝阳区")
        pay_presale_with_test_card(buyer.id, preorder.id, "deposit")
        harvest.lot(harvest.h1, 2)
        lapsed = db.session.get(PreOrder, preorder.id)
        assert lapsed.status == "balance_due"
        lapsed.balance_due_at = lapsed.balance_due_at - timedelta(days=10)  # the deadline has passed
        db.session.commit()
        preorder_id, presale_id, coop_id = preorder.id, presale.id, harvest.coop.id
        db.session.remove()

    for _ in range(3):  # the beat fires again before, during and after: one forfeit
        celery_worker.celery.send_task("presales.expire_unpaid_balances")
    celery_worker.wait_for(lambda: db.session.get(PreOrder, preorder_id).status == "forfeited")
    celery_worker.wait_for(lambda: -balance_fen(account_id("cooperative_revenue", "cooperative", coop_id)) == 600)
    time.sleep(1)  # the other runs of the beat finish
    with app.app_context():
        assert balance_fen(account_id("presale_deposits", "presale", presale_id)) == 0
        assert db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.rule == "presale_forfeit")) == 1
