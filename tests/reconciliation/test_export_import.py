"""Importing a Stripe export (JSON lines or Stripe's list): exact results, on SQLite and PostgreSQL alike."""
import io
import json
import time

import pytest
from sqlalchemy import select

from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.ledger.models import JournalEntry
from marketplace.payments.models import Payment
from marketplace.reconciliation import services as reconciliation
from marketplace.reconciliation.models import Discrepancy, StripeBalanceRecord
from tests.ledger.builders import District

def created():
    """A minute from now: after every payment made so far, so Stripe "has seen" them all."""
    return int(time.time()) + 60


def transaction(txn_id, category, amount, fee=0, source="", currency="cny"):
    """A BalanceTransaction as Stripe's API and dashboard export write it."""
    return {"id": txn_id, "object": "balance_transaction", "amount": amount, "available_on": created() + 86400 * 7,
            "created": created(), "currency": currency, "description": None, "exchange_rate": None, "fee": fee,
            "fee_details": [{"amount": fee, "currency": currency, "description": "Stripe processing fees",
                             "type": "stripe_fee"}] if fee else [],
            "net": amount - fee, "reporting_category": category, "source": source, "status": "available",
            "type": category}


class Shop:
    """Paid orders with their Stripe ids, attributed, and the export Stripe would give for them."""

    def __init__(self):
        self.district = District()
        self.variant = self.district.variant(self.district.household(), price_fen=2350)
        self.export = []

    def paid(self, quantity, fee_fen=70, on_stripe=True, stripe_amount=None, stripe_fee=None):
        order, payment = self.district.paid_order([(self.variant, quantity)], fee_fen=fee_fen)
        payment.stripe_charge_id, payment.balance_transaction_id = f"ch_{payment.id}x", f"txn_{payment.id}x"
        db.session.commit()
        attribute_payment(payment.id)
        if on_stripe:
            self.export.append(transaction(payment.balance_transaction_id, "charge",
                                           order.total_fen if stripe_amount is None else stripe_amount,
                                           fee_fen if stripe_fee is None else stripe_fee, payment.stripe_charge_id))
        return order, payment

    def refunded(self, order, quantity, on_stripe=True):
        refund = self.district.refund(order, {order.lines[0]: quantity})
        attribute_refund(refund.id)
        if on_stripe:
            self.export.append(transaction(f"txn_{refund.stripe_refund_id}", "refund", -refund.amount_fen,
                                           source=refund.stripe_refund_id))
        return refund

    def json_lines(self):
        return io.StringIO("".join(json.dumps(item) + "\n" for item in self.export))

    def stripe_list(self):
        return io.StringIO(json.dumps({"object": "list", "data": self.export, "has_more": False,
                                       "url": "/v1/balance_transactions"}, indent=2))


def discrepancies():
    return {(d.kind, d.reference, d.stripe_amount, d.ledger_amount)
            for d in db.session.scalars(select(Discrepancy).where(Discrepancy.resolved_at.is_(None)))}


def totals():
    return {(row["category"], row["currency"]): (row["count"], row["amount"], row["fee"])
            for row in reconciliation.summary()["totals"]}


@pytest.fixture
def shop_with_every_mismatch(app_ctx):
    shop = Shop()
    good, _ = shop.paid(2)
    refunded, _ = shop.paid(3)
    shop.refunded(refunded, 1)
    _, short = shop.paid(1, stripe_amount=2340)  # Stripe charged 10 fen less than the ledger received
    _, dear = shop.paid(1, stripe_fee=90)  # Stripe took 90 fen where the ledger booked 70
    _, ghost = shop.paid(4, on_stripe=False)  # in the ledger, never at Stripe
    unrecorded = shop.refunded(good, 1, on_stripe=False)  # refunded here, Stripe never saw it
    shop.export += [
        transaction("txn_stray", "charge", 990, 30, "ch_stray"),  # at Stripe, not in the ledger
        transaction("txn_re_stray", "refund", -500, source="re_stray"),
        {"id": "po_cny", "object": "payout", "amount": 50_000, "created": created(), "currency": "cny",
         "status": "paid", "type": "bank_account"},
        {"id": "po_usd", "object": "payout", "amount": 700, "created": created(), "currency": "usd",
         "status": "paid", "type": "bank_account"},
        transaction("txn_adj", "adjustment", -120, source="du_1"),
    ]
    shop.expected = {
        ("amount_differs", short.balance_transaction_id, 2340, 2350),
        ("amount_differs", f"{dear.balance_transaction_id}:fee", 90, 70),
        ("missing_in_stripe", f"payment:{ghost.id}", None, 4 * 2350),
        ("missing_in_stripe", f"refund:{unrecorded.id}", None, 2350),
        ("missing_in_ledger", "txn_stray", 990, None),
        ("missing_in_ledger", "txn_re_stray", 500, None),
        ("missing_in_ledger", "po_usd", 700, None),
        ("missing_in_ledger", "txn_adj", -120, None),
    }
    shop.charged = 2 * 2350 + 3 * 2350  # the two charges that match exactly
    return shop


def test_an_export_in_json_lines_finds_exactly_each_kind_of_mismatch(shop_with_every_mismatch):
    shop = shop_with_every_mismatch

    assert reconciliation.import_export(shop.json_lines()) == (10, 10)

    assert discrepancies() == shop.expected
    assert totals() == {("charge", "cny"): (2, shop.charged, 140), ("refund", "cny"): (1, -2350, 0),
                        ("payout", "cny"): (1, -50_000, 0)}
    # The CNY payout is posted once (rule 11) and is what its record matched.
    assert db.session.scalar(select(JournalEntry.id).filter_by(idempotency_key="stripe_payout:po_cny"))
    assert db.session.get(StripeBalanceRecord, "po_cny").matched_to == "stripe_payout:po_cny"


def test_stripes_list_shape_gives_the_same_result_and_a_second_import_changes_nothing(shop_with_every_mismatch):
    shop = shop_with_every_mismatch

    assert reconciliation.import_export(shop.stripe_list()) == (10, 10)
    assert discrepancies() == shop.expected
    first_totals = totals()

    assert reconciliation.import_export(shop.json_lines()) == (10, 0)
    assert discrepancies() == shop.expected
    assert totals() == first_totals
    assert db.session.query(Discrepancy).count() == len(shop.expected)


def test_a_transaction_listed_twice_counts_once(shop_with_every_mismatch):
    shop = shop_with_every_mismatch
    shop.export += shop.export[:4]  # an export downloaded in overlapping parts

    assert reconciliation.import_export(shop.json_lines()) == (14, 10)
    assert discrepancies() == shop.expected
    assert totals()[("charge", "cny")] == (2, shop.charged, 140)


def test_a_mismatch_put_right_in_the_ledger_closes_on_the_next_import(app_ctx):
    shop = Shop()
    _, payment = shop.paid(1, fee_fen=70)
    unseen = transaction("txn_later", "charge", 2350, 70, "ch_later")
    shop.export.append(unseen)
    reconciliation.import_export(shop.json_lines())
    assert {d[:2] for d in discrepancies()} == {("missing_in_ledger", "txn_later")}

    _, later = shop.paid(1, fee_fen=70, on_stripe=False)
    later.stripe_charge_id, later.balance_transaction_id = "ch_later", None  # the webhook arrived late
    db.session.commit()
    reconciliation.import_export(shop.json_lines())

    assert discrepancies() == set()
    resolved = db.session.scalar(select(Discrepancy))
    assert resolved.resolution_note == reconciliation.matching.AUTO_NOTE
    settled = db.session.get(Payment, later.id)
    assert (settled.balance_transaction_id, settled.settlement_currency, settled.settlement_amount) == \
        ("txn_later", "cny", 2350)


@pytest.mark.parametrize("content, message", [
    ('{"id": "txn_1", "object": "balance_transaction"}\n', "Line 1"),
    ('{"id": "txn_1", "type": "charge", "amount": 1, "created": 1, "currency": "cny"}\nnot json\n', "Line 2 is not JSON"),
    ('{"object": "list", "data": [{"id": "txn_1", "type": "charge", "amount": 1, "created": 1, "currency": "cny"}, {"id"',
     "ends inside item 2"),
    ("hello", "neither JSON lines nor a Stripe list"),
])
def test_a_file_that_is_not_an_export_is_refused_and_nothing_is_kept(app_ctx, content, message):
    with pytest.raises(Conflict, match=message):
        reconciliation.import_export(io.StringIO(content))
    db.session.rollback()
    assert db.session.query(StripeBalanceRecord).count() == 0


def test_town_staff_upload_an_export_on_the_reconciliation_page(app, client, auth):
    with app.app_context():
        shop = Shop()
        shop.paid(2)
        shop.export.append(transaction("txn_stray", "charge", 990, 30, "ch_stray"))
        staff = shop.district.user("town_staff", town_id=shop.district.town.id)
        db.session.commit()
        email, export = staff.email, shop.json_lines().getvalue().encode()
    auth.login_as(email)

    response = client.post("/town/reconciliation/import", data={"export": (io.BytesIO(export), "export.jsonl")},
                           content_type="multipart/form-data", follow_redirects=True)

    page = response.get_data(as_text=True)
    assert "已读取 2 条记录，其中新记录 2 条。" in page
    assert "txn_stray" in page and "¥47.00" in page
    refused = client.post("/town/reconciliation/import", data={"export": (io.BytesIO(b"\xff\xfe"), "x.jsonl")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "不是 UTF-8" in refused.get_data(as_text=True)
