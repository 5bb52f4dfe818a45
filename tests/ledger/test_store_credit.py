"""A claim refunded as store credit: the lines are reversed and the bearers charged exactly as for a
refund to the card, but the money goes to the buyer's store credit instead of back through Stripe
— nothing is sent to Stripe, the buyer's credit grows by the refund, and `ledger verify` knows the
new account (only store-credit rules move it, never below zero, equal to what was issued)."""
from types import SimpleNamespace

from sqlalchemy import func, select

from marketplace.aftersales import services as claims
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_refund
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.names import CLAIM, REFUND_PAID, STORE_CREDIT_ISSUED
from marketplace.ledger.rules.store_credit import store_credit_account, store_credit_fen
from marketplace.ledger.services import account_id, balance_fen, post_entry
from marketplace.ledger.verify import verify_ledger
from marketplace.outbox.models import OutboxMessage
from marketplace.payments.models import Refund
from marketplace.payments.refunds import apply_stripe_refund
from tests.ledger.builders import number
from tests.ledger.test_claims import (  # noqa: F401  (the world fixture and its helpers)
    assert_ledger_clean, coop_revenue, escalate, grower_owed, world,
)


def sent_to_stripe(refund_id):
    return [message for message in db.session.scalars(select(OutboxMessage)).all()
            if message.task_name == "payments.send_refund" and message.kwargs.get("refund_id") == refund_id]


def claim_legs(refund_id):
    """The claim entry's postings by account kind/owner, the part that says who gave back what."""
    entry = db.session.scalar(select(JournalEntry).where(JournalEntry.rule == CLAIM, JournalEntry.refund_id == refund_id))
    return sorted((p.account_id, p.amount_fen) for p in entry.postings)


def test_a_claim_accepted_as_store_credit_credits_the_buyer_and_reverses_as_a_card_refund_would(world):
    revenue, grower = coop_revenue(world), grower_owed(world)
    receivable = balance_fen(account_id("stripe_receivable"))
    claim = claims.open_claim(world.order.public_no, world.pears_line.id, world.buyer.id, "damaged", 2, "refund",
                              note="压坏了", refund_to="store_credit")
    claims.respond(claim.id, world.manager.id, "accept")
    refund = db.session.get(Refund, claim.refund_id)
    assert (refund.method, refund.status, refund.stripe_refund_id) == ("store_credit", "succeeded", None)
    assert not sent_to_stripe(refund.id)
    attribute_refund(refund.id)
    # The same legs as the card refund of test_claims: the cooperative gives back 1,760 and covers the
    # poor grower's 240 of profit return; the grower is untouched.
    assert revenue - coop_revenue(world) == 1_760 and grower_owed(world) == grower
    assert balance_fen(account_id("claims_receivable", "cooperative", world.coop.id)) == 240
    assert store_credit_fen(world.buyer.id) == 2_000
    assert balance_fen(account_id("stripe_receivable")) == receivable  # no money left through Stripe
    rules = set(db.session.scalars(select(JournalEntry.rule).where(JournalEntry.refund_id == refund.id)))
    assert STORE_CREDIT_ISSUED in rules and REFUND_PAID not in rules
    assert db.session.get(type(world.order), world.order.id).refunded_fen == 2_000
    attribute_refund(refund.id)  # the task running twice credits once
    assert store_credit_fen(world.buyer.id) == 2_000
    assert_ledger_clean()


def test_staff_may_decide_a_card_claim_as_store_credit_and_the_carrier_still_bears_it(world):
    claim = claims.open_claim(world.order.public_no, world.pears_line.id, world.buyer.id, "damaged", 3, "refund")
    escalate(claim)
    claims.decide(claim.id, world.staff.id, 2_500, {"seller": 0, "carrier": 100, "platform": 0}, "冷链断了",
                  refund_to="store_credit")
    db.session.refresh(claim)
    assert claim.refund_to == "store_credit"
    attribute_refund(claim.refund_id)
    assert balance_fen(account_id("claims_receivable")) == 2_500
    assert store_credit_fen(world.buyer.id) == 2_500
    assert_ledger_clean()


def test_a_store_credit_claim_entry_equals_the_card_claim_entry(world, district):
    """Two claims of the same size, split and bearers on two equal lines: one to the card, one to credit."""
    claim_card = claims.open_claim(world.order.public_no, world.pears_line.id, world.buyer.id, "damaged", 1, "refund")
    claim_credit = claims.open_claim(world.order.public_no, world.pears_line.id, world.buyer.id, "damaged", 1,
                                     "refund", refund_to="store_credit")
    for claim in (claim_card, claim_credit):
        escalate(claim)
        claims.decide(claim.id, world.staff.id, 999, {"seller": 50, "carrier": 30, "platform": 20}, "各有责任")
    card = db.session.get(Refund, claim_card.refund_id)
    apply_stripe_refund(SimpleNamespace(id=f"re_{number()}", status="succeeded", metadata={}), refund_id=card.id)
    attribute_refund(card.id)
    attribute_refund(claim_credit.refund_id)
    card_legs, credit_legs = claim_legs(card.id), claim_legs(claim_credit.refund_id)
    assert [fen for _account, fen in card_legs] and len(card_legs) == len(credit_legs)
    assert sum(fen for _a, fen in card_legs) == sum(fen for _a, fen in credit_legs) == 0
    assert {a for a, _fen in card_legs} == {a for a, _fen in credit_legs}
    assert store_credit_fen(world.buyer.id) == 999
    assert_ledger_clean()


def test_bad_destination_is_refused_with_nothing_changed(world):
    before = db.session.scalar(select(func.count()).select_from(type(world.order).__table__))
    for bad in ("cash", "", "STORE_CREDIT"):
        try:
            claims.open_claim(world.order.public_no, world.pears_line.id, world.buyer.id, "damaged", 1, "refund",
                              refund_to=bad)
        except DomainError as error:
            assert error.field == "refund_to"
        else:
            raise AssertionError(f"{bad!r} was accepted")
        db.session.rollback()
    assert claims.claims_of_order(world.order.id) == []
    assert db.session.scalar(select(func.count()).select_from(type(world.order).__table__)) == before


def test_verify_finds_store_credit_spent_below_zero_or_moved_by_another_rule(world):
    claim = claims.open_claim(world.order.public_no, world.pears_line.id, world.buyer.id, "damaged", 1, "refund",
                              refund_to="store_credit")
    claims.respond(claim.id, world.manager.id, "accept")
    attribute_refund(claim.refund_id)
    assert_ledger_clean()
    # A posting the rules would never make: 1,500 fen more than the buyer holds taken out as a "payout".
    post_entry(f"test:tamper:{number()}", "payout_paid",
               [(store_credit_account(world.buyer.id), 2_500), (account_id("bank"), -2_500)])
    db.session.commit()
    report = verify_ledger()
    found = [violation.message for violation in report.violations if violation.invariant == "store_credit"]
    assert any("moved by a payout_paid entry" in message for message in found), found
    assert any("left at -1500 fen" in message for message in found), found
    assert any("holds -1500 fen of store credit, issued − spent is 1000" in message for message in found), found
