"""The ledger's Celery tasks run from outbox messages on a real worker, and only once."""
from datetime import date
from decimal import Decimal

from marketplace.coops.models import CooperativePeriod
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import household_account, owed_to_fen
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import publish
from tests.ledger.builders import District


def test_a_published_payment_is_attributed_by_the_worker_and_its_message_processed(app, celery_worker):
    with app.app_context():
        district = District()
        seller = district.household()
        eggs = district.variant(seller, price_fen=1_000)
        order, payment = district.paid_order([(eggs, 3)])
        message = publish("ledger.attribute_payment", payment_id=payment.id)
        db.session.commit()
        seller_id, message_id, order_id = seller.id, message.id, order.id

    celery_worker.wait_for(lambda: db.session.get(OutboxMessage, message_id).processed_at is not None)
    with app.app_context():
        assert owed_to_fen(household_account(seller_id)) == 3_000
        assert db.session.query(JournalEntry).filter_by(order_id=order_id).count() == 2


def test_a_refund_delivered_before_its_payment_is_retried_until_it_posts(app, celery_worker):
    with app.app_context():
        district = District()
        seller = district.household()
        eggs = district.variant(seller, price_fen=1_000)
        order, payment = district.paid_order([(eggs, 3)])
        refund = district.refund(order, {order.lines[0]: 1})
        first = publish("ledger.attribute_refund", refund_id=refund.id)
        db.session.commit()
        publish("ledger.attribute_payment", payment_id=payment.id)
        db.session.commit()
        seller_id, refund_message = seller.id, first.id

    celery_worker.wait_for(lambda: db.session.get(OutboxMessage, refund_message).processed_at is not None, timeout=30)
    with app.app_context():
        assert owed_to_fen(household_account(seller_id)) == 2_000


def test_period_close_posts_dividends_through_the_worker(app, celery_worker):
    with app.app_context():
        district = District()
        member = district.household()
        coop = district.cooperative(profit_return_rate="0", dividend_rate="1", members=[(member, 1)])
        period = district.add(CooperativePeriod(cooperative_id=coop.id, period_start=date(2026, 1, 1),
                                                period_end=date(2026, 3, 31), dividend_rate=Decimal("1"),
                                                distributable_profit_fen=12_345))
        publish("ledger.post_dividends", period_id=period.id)
        db.session.commit()
        member_id, period_id = member.id, period.id

    celery_worker.wait_for(lambda: db.session.get(CooperativePeriod, period_id).status == "closed")
    with app.app_context():
        assert owed_to_fen(household_account(member_id)) == 12_345


def test_a_confirmed_payout_is_posted_by_the_worker(app, celery_worker):
    from marketplace.ledger.attribution import post_payout_approved
    from marketplace.ledger.services import account_id, balance_fen

    with app.app_context():
        district = District()
        household = district.household()
        coop = district.cooperative(members=[(household, 1)])
        district.lot(district.variant(coop, price_fen=800, floor_price_fen=500), household, 10)
        district.fund(coop, 5_000)  # the cooperative's deposit funds the floor money
        item = district.payout_item(household, amount_fen=5_000)
        post_payout_approved(item.id)
        message = publish("ledger.post_payout_paid", payout_item_id=item.id)
        db.session.commit()
        message_id = message.id

    celery_worker.wait_for(lambda: db.session.get(OutboxMessage, message_id).processed_at is not None)
    with app.app_context():
        assert balance_fen(account_id("bank")) == 5_000 - 5_000  # the deposit in, the payout out
        assert balance_fen(account_id("payouts_in_transit")) == 0


def test_the_fixed_return_run_is_on_the_beat_schedule(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert any(entry["task"] == "ledger.run_fixed_returns" for entry in schedule.values())


def test_waiting_payments_are_attributed_in_batches_by_the_beat_sweep(app, celery_worker):
    from marketplace.ledger.attribution import attribute_payment

    app.config["OUTBOX_BATCHED_TASKS"] = frozenset({"ledger.attribute_payment"})
    try:
        with app.app_context():
            district = District()
            seller = district.household()
            eggs = district.variant(seller, price_fen=1_000)
            payments = [district.paid_order([(eggs, n)])[1] for n in (1, 2, 3, 4)]
            payments[1].status = "processing"  # Stripe has not said yet
            attribute_payment(payments[2].id)  # the webhook's own task got there first
            messages = [publish("ledger.attribute_payment", payment_id=payment.id) for payment in payments]
            db.session.commit()  # batched: nothing is sent now
            seller_id, message_ids = seller.id, [message.id for message in messages]

        celery_worker.celery.send_task("ledger.attribute_pending_payments")
        celery_worker.wait_for(lambda: db.session.get(OutboxMessage, message_ids[3]).processed_at is not None)
        with app.app_context():
            processed = [db.session.get(OutboxMessage, mid).processed_at is not None for mid in message_ids]
            assert processed == [True, False, True, True]  # the waiting one is sent again later
            assert db.session.get(OutboxMessage, message_ids[1]).send_attempts == 1
            assert owed_to_fen(household_account(seller_id)) == (1 + 3 + 4) * 1_000
            assert db.session.query(JournalEntry).filter(JournalEntry.idempotency_key.like("pay:%")).count() == 3
    finally:
        app.config["OUTBOX_BATCHED_TASKS"] = frozenset()


def test_a_payment_delivered_alone_and_in_a_batch_posts_once(app, celery_worker):
    with app.app_context():
        district = District()
        seller = district.household()
        eggs = district.variant(seller, price_fen=1_000)
        order, payment = district.paid_order([(eggs, 3)])
        message = publish("ledger.attribute_payment", payment_id=payment.id)  # sent after commit
        db.session.commit()
        seller_id, payment_id, message_id, order_id = seller.id, payment.id, message.id, order.id
    celery_worker.celery.send_task("ledger.attribute_payments_batch",
                                   kwargs={"payment_ids": [payment_id], "outbox_ids": [message_id]})
    celery_worker.celery.send_task("ledger.attribute_payments_batch", kwargs={"payment_ids": [payment_id]})

    celery_worker.wait_for(lambda: db.session.get(OutboxMessage, message_id).processed_at is not None)
    with app.app_context():
        assert owed_to_fen(household_account(seller_id)) == 3_000
        assert db.session.query(JournalEntry).filter_by(order_id=order_id).count() == 2
