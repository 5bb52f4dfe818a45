"""Reconciliation against a real Stripe history made on localstripe with the real `stripe` library."""
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select, update

from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, Refund, RefundLine
from marketplace.reconciliation import services as reconciliation
from marketplace.reconciliation.models import Discrepancy, StripeBalanceRecord, StripeSyncCursor
from tests.ledger.builders import District


PAYMENT_METHODS = ("card", "wechat_pay", "alipay")


def stripe_charge(amount_fen, key, method="card"):
    """A charge Stripe really made: by card, or by WeChat Pay / Alipay (the stand-in's simulated scan)."""
    if method == "card":
        card = stripe_gateway.create_test_card_payment_method()
        intent = stripe_gateway.create_payment_intent(amount_fen, key, {"test": key}, payment_method=card.id)
        confirmed = stripe_gateway.confirm_payment_intent(intent.id).to_dict()
    else:
        intent = stripe_gateway.create_payment_intent(amount_fen, key, {"test": key})
        stripe_gateway.confirm_wallet_payment(intent.id, method, "http://127.0.0.1:9/back")
        confirmed = stripe_gateway.simulate_wallet(intent.id, "succeed")
    return intent.id, confirmed["charges"]["data"][0]


class History:
    """Paid orders whose Payment rows and ledger entries come from what Stripe really did."""

    def __init__(self, method="card"):
        self.method = method
        self.district = District()
        household = self.district.household()
        self.variant = self.district.variant(household, price_fen=2350)

    def paid_order(self, quantity, stripe_amount_fen=None):
        order = self.district.order([(self.variant, quantity)])
        intent_id, charge = stripe_charge(stripe_amount_fen or order.total_fen, f"order:{order.id}", self.method)
        transaction = stripe_gateway.retrieve_balance_transaction(charge["balance_transaction"])
        payment = self.district.add(Payment(
            order_id=order.id, stripe_payment_intent_id=intent_id, amount_fen=order.total_fen, status="succeeded",
            stripe_charge_id=charge["id"], balance_transaction_id=transaction.id, fee_fen=transaction.fee,
            payment_method_type=charge["payment_method_details"]["type"], succeeded_at=order.paid_at))
        db.session.commit()
        attribute_payment(payment.id)
        return order, payment

    def partial_refund(self, order, payment, quantity):
        line = order.lines[0]
        amount = line.unit_price_fen * quantity
        stripe_refund = stripe_gateway.create_refund(payment.stripe_payment_intent_id, amount, f"refund:{order.id}")
        refund = self.district.add(Refund(order_id=order.id, payment_id=payment.id, stripe_refund_id=stripe_refund.id,
                                          amount_fen=amount, status="succeeded"))
        self.district.add(RefundLine(refund_id=refund.id, order_line_id=line.id, quantity=quantity, amount_fen=amount))
        line.refunded_quantity += quantity
        line.refunded_fen += amount
        order.refunded_fen += amount
        order.status = "partially_refunded"
        db.session.commit()
        attribute_refund(refund.id)
        return refund


def totals():
    return {(row["category"], row["currency"]): (row["count"], row["amount"], row["fee"])
            for row in reconciliation.summary()["totals"]}


def open_discrepancies():
    return {(d.kind, d.reporting_category) for d in reconciliation.summary()["open"]}


@pytest.mark.parametrize("method", PAYMENT_METHODS)
def test_charges_partial_refunds_and_fees_match_the_ledger_exactly(app_ctx, stripe_server, method):
    history = History(method)
    first, first_payment = history.paid_order(3)
    second, _ = history.paid_order(1)
    third, third_payment = history.paid_order(4)
    history.partial_refund(first, first_payment, 1)
    history.partial_refund(third, third_payment, 2)

    assert reconciliation.sync_with_stripe() == 5

    assert open_discrepancies() == set()
    charged = first.total_fen + second.total_fen + third.total_fen
    assert totals() == {("charge", "cny"): (3, charged, 0), ("refund", "cny"): (2, -3 * 2350, 0)}
    assert [(row["method"], row["category"], row["count"], row["amount"])
            for row in reconciliation.summary()["by_method"]] == [
        (method, "charge", 3, charged), (method, "refund", 2, -3 * 2350)]
    payment = db.session.get(Payment, first_payment.id)
    assert (payment.settlement_currency, payment.settlement_amount) == ("cny", first.total_fen)


def test_a_second_pull_is_incremental_and_flags_each_kind_of_mismatch(app_ctx, stripe_server):
    history = History()
    history.paid_order(2)
    assert reconciliation.sync_with_stripe() == 1

    # Stripe charged 10 fen less than the ledger recorded for this order.
    short_order, _ = history.paid_order(1, stripe_amount_fen=2340)
    # Stripe has a charge nobody recorded.
    stray_intent, _stray_charge = stripe_charge(990, "stray")
    # The ledger has a payment Stripe never saw.
    ghost_order = history.district.order([(history.variant, 1)])
    ghost = history.district.add(Payment(order_id=ghost_order.id, stripe_payment_intent_id="pi_ghost",
                                         stripe_charge_id="ch_ghost", amount_fen=ghost_order.total_fen,
                                         status="succeeded", succeeded_at=ghost_order.paid_at - timedelta(minutes=1)))
    db.session.commit()
    attribute_payment(ghost.id)

    assert reconciliation.sync_with_stripe() == 2  # only what is new
    found = {d.kind: d for d in reconciliation.summary()["open"]}
    assert set(found) == {"amount_differs", "missing_in_ledger", "missing_in_stripe"}
    differs = found["amount_differs"]
    assert (differs.stripe_amount, differs.ledger_amount) == (2340, short_order.total_fen)
    assert found["missing_in_ledger"].stripe_amount == 990
    assert found["missing_in_stripe"].reference == f"payment:{ghost.id}"
    assert totals()[("charge", "cny")][0] == 1  # the mismatched ones are not counted as matched

    # Pulling again changes nothing: each discrepancy is recorded once.
    assert reconciliation.sync_with_stripe() == 0
    assert db.session.query(Discrepancy).count() == 3


def test_staff_resolve_discrepancies_with_a_note_before_a_month_can_be_locked(app_ctx, stripe_server):
    history = History()
    stripe_charge(990, "stray")
    history.paid_order(1)
    reconciliation.sync_with_stripe()
    staff = history.district.user("town_staff", town_id=history.district.town.id)
    db.session.commit()
    stray = db.session.scalar(select(Discrepancy))
    last_month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    db.session.execute(update(Discrepancy).values(occurred_at=date.today().replace(day=1) - timedelta(days=2)))
    db.session.commit()

    with pytest.raises(Conflict, match="still open"):
        reconciliation.lock_month(staff.id, last_month)
    with pytest.raises(Conflict, match="note"):
        reconciliation.resolve_discrepancy(staff.id, stray.id, "   ")
    reconciliation.resolve_discrepancy(staff.id, stray.id, "测试卡支付，非真实订单 — test charge, not an order")
    assert reconciliation.lock_month(staff.id, last_month).month == last_month
    with pytest.raises(Conflict, match="after it ends"):
        reconciliation.lock_month(staff.id, date.today().strftime("%Y-%m"))
    assert db.session.get(StripeBalanceRecord, stray.reference) is not None


def test_pull_now_runs_the_sync_in_the_worker(app, client, auth, stripe_server, celery_worker):
    with app.app_context():
        history = History()
        history.paid_order(1)
        staff = history.district.user("town_staff", town_id=history.district.town.id)
        db.session.commit()
        email = staff.email
    auth.login_as(email)
    assert client.post("/town/reconciliation/pull").status_code == 302
    celery_worker.wait_for(lambda: db.session.scalar(select(StripeBalanceRecord.matched)), timeout=60)
    assert "¥23.50" in client.get("/town/reconciliation").get_data(as_text=True)


def test_an_export_of_the_same_history_gives_what_the_pull_gave(app_ctx, stripe_server):
    history = History()
    first, first_payment = history.paid_order(3)
    history.paid_order(1, stripe_amount_fen=2340)
    stripe_charge(990, "stray")
    history.partial_refund(first, first_payment, 1)

    def outcome():
        found = {(d.kind, d.reference, d.reporting_category, d.stripe_amount, d.ledger_amount, d.detail)
                 for d in db.session.scalars(select(Discrepancy))}
        records = {(r.id, r.matched, r.matched_to) for r in db.session.scalars(select(StripeBalanceRecord))}
        return found, records, totals()

    assert reconciliation.sync_with_stripe() == 4
    pulled = outcome()
    assert len(pulled[0]) == 2
    export = "".join(json.dumps(t.to_dict()) + "\n" for t in stripe_gateway.balance_transactions_since(0))
    db.session.execute(delete(Discrepancy))
    db.session.execute(delete(StripeBalanceRecord))
    db.session.execute(delete(StripeSyncCursor))
    db.session.commit()

    assert reconciliation.import_export(io.StringIO(export)) == (4, 4)
    assert outcome() == pulled
