"""Pre-sale money over random histories (hypothesis), to the fen.

Random pre-sales (price, deposit or full prepayment, short and unpaid policies), buyers who
commit or never pay, lots that cover all, some or none of the expected harvest, balances paid or
left to lapse, the pre-sale closed short or not. Payments go through the webhook path
(`settle_presale_intent`), some settled twice, on an in-process Stripe (tests/sim/fake_stripe.py).
After every history:
- deposits + balances paid = fills + refunds + forfeits, and the hold is empty once all is closed;
- every pre-order's credits = what it paid − what was refunded;
- before a pre-order is filled, its money reached no household, cooperative or platform account;
- `ledger verify` re-derives every entry.
"""
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace.database import utcnow
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import FLOOR_PURCHASE, PRESALE_FILL, PRESALE_FORFEIT, PRESALE_PAYMENT, PRESALE_REFUND
from marketplace.ledger.services import account_id, balance_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import Order
from marketplace.presales.harvest import close_short, expire_unpaid_balances, harvested_quantity
from marketplace.presales.models import PreOrder, PreSalePayment
from marketplace.presales.services import place_preorder, settle_presale_intent, start_presale_payment
from tests.conftest import TEST_DATABASE_URL, _clean_tables
from tests.presales.conftest import Harvest
from tests.sim.fake_stripe import FakeStripe

RECIPIENTS = ("income", "revenue")
CLOSED = ("filled", "refunded", "forfeited", "cancelled")


def rule_total(rule, account_kind="presale_deposits"):
    """Σ of the postings of `rule` entries on `account_kind` accounts (signed: debits positive)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Posting.amount_fen), 0))
                                 .join(JournalEntry).join(Account, Posting.account_id == Account.id)
                                 .where(JournalEntry.rule == rule, Account.kind == account_kind)))


def credited_to_anyone():
    """Σ credited to households, cooperatives and the platform by anything but floor purchases (rule 3)."""
    return -int(db.session.scalar(select(func.coalesce(func.sum(Posting.amount_fen), 0))
                                  .join(JournalEntry).join(Account, Posting.account_id == Account.id)
                                  .where(JournalEntry.rule != FLOOR_PURCHASE,
                                         Account.kind.in_(("household_payable", "cooperative_revenue", "platform_fees",
                                                           "sales_pending")))))


def pay(stripe, preorder_id, kind, twice):
    payment, intent = start_presale_payment(preorder_id, kind)
    stripe.succeed(intent.id)
    settle_presale_intent(intent.id, event_id=f"evt_{intent.id}", event_type="payment_intent.succeeded")
    if twice:  # Stripe delivers the event again, and the return page re-reads the intent
        settle_presale_intent(intent.id, event_id=f"evt_{intent.id}", event_type="payment_intent.succeeded")
        settle_presale_intent(intent.id)


def due(status):
    return db.session.scalars(select(PreOrder.id).where(PreOrder.status == status).order_by(PreOrder.id)).all()


@settings(max_examples=8 if TEST_DATABASE_URL else 20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_pre_sale_histories_add_up_to_the_fen(app_ctx, monkeypatch, data):
    _clean_tables()
    stripe = FakeStripe().install(monkeypatch)
    harvest = Harvest()
    price = data.draw(st.integers(1, 9_999), label="price")
    deposit = data.draw(st.one_of(st.just(price), st.integers(1, price)), label="deposit")
    expected = data.draw(st.integers(2, 12), label="expected")
    presale = harvest.presale(expected=expected, deposit=deposit, price=price,
                              short_policy=data.draw(st.sampled_from(("last_first", "pro_rata")), label="short"),
                              unpaid_policy=data.draw(st.sampled_from(("refund", "forfeit")), label="unpaid"))
    for _ in range(data.draw(st.integers(1, 5), label="buyers")):
        buyer = harvest.buyer()
        try:
            preorder = place_preorder(buyer.id, presale.id, data.draw(st.integers(1, 5)), "王女士", "13800000000", "北京")
        except DomainError:
            db.session.rollback()  # more than the expected harvest left: refused, nothing made
            continue
        if data.draw(st.booleans(), label="pays deposit"):
            pay(stripe, preorder.id, "deposit", data.draw(st.booleans(), label="twice"))

    deposits = rule_total(PRESALE_PAYMENT)
    assert -balance_fen(account_id("presale_deposits", "presale", presale.id)) == -deposits
    assert credited_to_anyone() == 0  # held: nobody's income before any goods exist

    for _ in range(data.draw(st.integers(0, 3), label="lots")):
        harvest.lot(data.draw(st.sampled_from((harvest.h1, harvest.h2))), data.draw(st.integers(1, expected)))
        for preorder_id in due("balance_due"):
            if data.draw(st.booleans(), label="pays balance"):
                pay(stripe, preorder_id, "balance", data.draw(st.booleans(), label="twice"))
    filled_before_close = rule_total(PRESALE_FILL)
    assert credited_to_anyone() == filled_before_close  # only filled pre-orders reached anyone

    if data.draw(st.booleans(), label="closes short"):
        close_short(harvest.manager.id, presale.id)
        for preorder_id in due("balance_due"):  # cut pro rata, asked for the rest
            if data.draw(st.booleans(), label="pays cut balance"):
                pay(stripe, preorder_id, "balance", False)
    expire_unpaid_balances(now=utcnow() + timedelta(days=60))
    if db.session.get(type(presale), presale.id).status == "open":
        close_short(harvest.manager.id, presale.id)  # the season ends: whatever is left is refunded
    expire_unpaid_balances(now=utcnow() + timedelta(days=120))

    # Every pre-order is closed, and the hold is empty.
    statuses = db.session.scalars(select(PreOrder.status)).all()
    assert set(statuses) <= set(CLOSED), statuses
    assert balance_fen(account_id("presale_deposits", "presale", presale.id)) == 0
    # Deposits + balances = fills + refunds + forfeits, to the fen.
    paid = -rule_total(PRESALE_PAYMENT)
    assert paid == rule_total(PRESALE_FILL) + rule_total(PRESALE_REFUND) + rule_total(PRESALE_FORFEIT)
    assert paid == sum(db.session.scalars(select(PreSalePayment.amount_fen).where(PreSalePayment.status == "succeeded")))
    # Each pre-order: credits = paid − refunded; a filled one paid exactly its allocated units.
    for preorder in db.session.scalars(select(PreOrder)):
        kept = sum(p.amount_fen - p.refunded_fen for p in preorder.payments if p.status == "succeeded")
        if preorder.status == "filled":
            order = db.session.get(Order, preorder.order_id)
            assert kept == order.total_fen == preorder.unit_price_fen * preorder.allocated_quantity
        elif preorder.status == "forfeited":
            assert kept == preorder.deposit_fen
        else:
            assert kept == 0
    filled_units = sum(db.session.scalars(select(PreOrder.allocated_quantity).where(PreOrder.status == "filled")))
    assert filled_units <= harvested_quantity(db.session.get(type(presale), presale.id))
    report = verify_ledger()
    assert report.ok, [v.message for v in report.violations]
    assert not any(key.startswith("not_rederived") for key in report.counts)
