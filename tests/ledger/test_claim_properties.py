"""Random histories of after-sales claims mixed with the settlement histories: random districts
(poor and other households, cooperatives at random rates, a supplier), orders delivered and then
claimed, answered, offered, rejected, escalated and decided with random bearers and splits,
ordinary refunds of the same lines, Stripe's verdicts on every refund in any order (some fail),
settlement sweeps past the window and payouts — each step through the real services. A claim's
refund goes to the card or, as the buyer chose or staff decided, to the buyer's store credit.

After every step `ledger verify` passes (entries re-derived, the claim rule included; nobody
below zero available), every order's receipt adds up to paid − refunded, and a shipment holding
an open claim, or a claim refund Stripe has not settled, has not settled; the buyer's store credit
is exactly what the store-credit refunds posted, and no Stripe refund was asked for any of them.
"""
from datetime import timedelta
from types import SimpleNamespace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from marketplace.aftersales import services as claims
from marketplace.aftersales.models import OPEN_CLAIM_STATUSES, Claim
from marketplace.database import utcnow
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger import impact_receipt
from marketplace.ledger.attribution import attribute_payment, attribute_refund, post_payout_approved
from marketplace.ledger.chain import seal_pending
from marketplace.ledger.errors import InsufficientBalance, NotReady
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.store_credit import store_credit_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import Order, OrderLine, Shipment
from marketplace.orders.settlement import settle_due
from marketplace.payments.models import Refund
from marketplace.payments.refunds import apply_stripe_refund, refund_order
from tests.conftest import TEST_DATABASE_URL, _clean_tables
from tests.ledger.test_properties import build_district

SHARES = ({"seller": 100, "carrier": 0, "platform": 0}, {"seller": 0, "carrier": 100, "platform": 0},
          {"seller": 0, "carrier": 0, "platform": 100}, {"seller": 50, "carrier": 30, "platform": 20},
          {"seller": 34, "carrier": 33, "platform": 33}, {"seller": 1, "carrier": 0, "platform": 99})
STEPS = ("claim", "claim", "answer", "answer", "offer_answer", "escalate", "decide", "decide", "stripe", "stripe",
         "attribute", "attribute", "settle", "refund", "payout")


def deliver(order_id):
    """The carrier delivered every shipment of the order just now."""
    db.session.execute(update(Shipment).where(Shipment.order_id == order_id)
                       .values(status="delivered", delivered_at=utcnow(), delivery_confirmed_by="carrier"))
    db.session.execute(update(Order).where(Order.id == order_id).values(status="delivered"))
    db.session.commit()


def build_delivered_orders(data, district, variants):
    buyer = district.user("buyer")
    orders = []
    for _ in range(data.draw(st.integers(1, 3), label="orders")):
        chosen = data.draw(st.lists(st.sampled_from(variants), min_size=1, max_size=3, unique_by=lambda v: v.id))
        order, payment = district.paid_order([(variant, data.draw(st.integers(1, 8))) for variant in chosen],
                                             shipping_fen=data.draw(st.integers(0, 500)))
        order.buyer_id = buyer.id
        db.session.commit()
        attribute_payment(payment.id)
        deliver(order.id)
        orders.append((order, payment))
    return buyer, orders


def actor_for(district, claim, cache):
    """Who answers for the claim's seller: the cooperative's manager, the household's agent, the supplier."""
    from marketplace.catalog.models import Seller
    seller = db.session.get(Seller, claim.seller_id)
    if seller.id not in cache:
        if seller.cooperative_id:
            cache[seller.id] = district.user("coop_manager", cooperative_id=seller.cooperative_id).id
        elif seller.household_id:
            from marketplace.people.models import Household
            village = db.session.get(Household, seller.household_id).village
            cache[seller.id] = district.agent_for(village).id
        else:
            cache[seller.id] = district.user("supplier", supplier_id=seller.supplier_id).id
        db.session.commit()
    return cache[seller.id]


def step(data, kind, district, buyer, orders, staff, actors, clock):
    """One random move of the history, through the services; a refusal must change nothing."""
    all_claims = db.session.scalars(select(Claim).order_by(Claim.id)).all()

    def pick(status):
        """Mostly a claim waiting for this move; sometimes any claim (whose move must then be refused)."""
        waiting = [claim for claim in all_claims if claim.status == status]
        return data.draw(st.sampled_from(waiting if waiting and data.draw(st.integers(0, 4)) else all_claims),
                         label="claim")
    if kind == "claim":
        order, _payment = data.draw(st.sampled_from(orders), label="order")
        line = data.draw(st.sampled_from(order.lines), label="line")
        claims.open_claim(order.public_no, line.id, buyer.id, data.draw(st.sampled_from(("damaged", "spoiled"))),
                          data.draw(st.integers(1, line.quantity), label="units"), "refund",
                          refund_to=data.draw(st.sampled_from(("original", "store_credit")), label="refund to"))
    elif kind == "answer" and all_claims:
        claim = pick("awaiting_seller")
        action = data.draw(st.sampled_from(("accept", "offer", "reject")), label="action")
        full = claim.quantity * db.session.get(OrderLine, claim.order_line_id).unit_price_fen
        offer = data.draw(st.integers(1, max(full - 1, 1)), label="offer")
        claims.respond(claim.id, actor_for(district, claim, actors), action, offer_fen=offer, reason="不同意")
    elif kind == "offer_answer" and all_claims:
        claim = pick("offered")
        claims.answer_offer(db.session.get(Order, claim.order_id).public_no, claim.id, buyer.id,
                            data.draw(st.booleans(), label="accept"))
    elif kind == "escalate":
        claims.escalate_overdue(now=clock + timedelta(hours=49))
    elif kind == "decide" and all_claims:
        claim = pick("escalated")
        full = claim.quantity * db.session.get(OrderLine, claim.order_line_id).unit_price_fen
        claims.decide(claim.id, staff.id, data.draw(st.integers(0, full), label="refund"),
                      data.draw(st.sampled_from(SHARES), label="shares"), "冷链",
                      refund_to=data.draw(st.sampled_from((None, "original", "store_credit")), label="decided to"))
    elif kind in ("stripe", "attribute"):
        every = db.session.scalars(select(Refund).order_by(Refund.id)).all()
        waiting = [refund for refund in every if refund.status == ("requested" if kind == "stripe" else "succeeded")]
        if every:
            refund = data.draw(st.sampled_from(waiting if waiting and data.draw(st.integers(0, 4)) else every),
                               label="refund")
            if kind == "stripe" and refund.status == "requested":
                status = data.draw(st.sampled_from(("succeeded", "succeeded", "failed")), label="stripe says")
                apply_stripe_refund(SimpleNamespace(id=f"re_{refund.id}", status=status, metadata={},
                                                    failure_reason=None), refund_id=refund.id)
            else:
                try:
                    attribute_refund(refund.id)
                except NotReady:
                    db.session.rollback()
    elif kind == "settle":
        settle_due(now=clock + timedelta(days=8))
    elif kind == "refund":
        order, _payment = data.draw(st.sampled_from(orders), label="order")
        line = data.draw(st.sampled_from(order.lines), label="line")
        refund_order(order.id, {line.id: data.draw(st.integers(1, line.quantity), label="units")}, staff.id,
                     restock=False, borne_by=data.draw(st.sampled_from(("", "platform", "carrier"))))
    elif kind == "payout":
        household = data.draw(st.sampled_from(district.households_drawn), label="household")
        try:
            post_payout_approved(district.payout_item(household, amount_fen=data.draw(st.integers(1, 5_000))).id)
            db.session.commit()
        except InsufficientBalance:
            db.session.rollback()


def assert_holds(orders, buyer):
    seal_pending()
    report = verify_ledger()
    assert report.ok, report.violations
    assert not any(name.startswith("not_rederived") for name in report.counts)
    credited = [refund for refund in db.session.scalars(select(Refund).where(Refund.method == "store_credit"))]
    assert store_credit_fen(buyer.id) == sum(
        refund.amount_fen for refund in credited
        if db.session.scalar(select(JournalEntry.id).where(JournalEntry.idempotency_key == f"refund:{refund.id}")))
    assert all(refund.stripe_refund_id is None and refund.status == "succeeded" for refund in credited)
    for order, payment in orders:
        db.session.refresh(order)
        posted = [r for r in db.session.scalars(select(Refund).where(Refund.order_id == order.id))
                  if db.session.scalar(select(JournalEntry.id).where(JournalEntry.idempotency_key == f"refund:{r.id}"))
                  and not db.session.scalar(select(JournalEntry.id).where(
                      JournalEntry.idempotency_key == f"refund:{r.id}:failed"))]
        assert impact_receipt(order.id).total_fen == payment.amount_fen - sum(r.amount_fen for r in posted)
    for claim in db.session.scalars(select(Claim)):
        shipment = db.session.get(Shipment, claim.shipment_id)
        if claim.status in OPEN_CLAIM_STATUSES:
            assert shipment.status != "settled" and shipment.claim_opened_at is not None
        refund = db.session.get(Refund, claim.refund_id) if claim.refund_id else None
        if refund is not None and shipment.status == "settled" and refund.status == "succeeded":
            # A claim refund that succeeded was posted before its sale settled.
            assert db.session.scalar(select(JournalEntry.id).where(JournalEntry.idempotency_key == f"refund:{refund.id}"))


@settings(max_examples=10 if TEST_DATABASE_URL else 25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_claim_histories_keep_every_invariant(app_ctx, data):
    _clean_tables()
    district, households, _coops, variants = build_district(data)
    district.households_drawn = households
    buyer, orders = build_delivered_orders(data, district, variants)
    staff = district.user("town_staff", town_id=district.town.id)
    db.session.commit()
    actors, clock = {}, utcnow()
    # Every history opens a claim first; the rest is drawn.
    for kind in ["claim"] + data.draw(st.lists(st.sampled_from(STEPS), min_size=6, max_size=24), label="history"):
        try:
            step(data, kind, district, buyer, orders, staff, actors, clock)
        except DomainError:
            db.session.rollback()  # refused: a claim beyond what is claimable, a claim already answered…
        assert_holds(orders, buyer)
    # Whatever is left open is decided; every refund Stripe settles; then everything settles.
    for claim in db.session.scalars(select(Claim).where(Claim.status.in_(OPEN_CLAIM_STATUSES))).all():
        claims.escalate_overdue(now=clock + timedelta(hours=49))
        try:
            full = claim.quantity * db.session.get(OrderLine, claim.order_line_id).unit_price_fen
            claims.decide(claim.id, staff.id, data.draw(st.integers(1, full), label="last refund"),
                          data.draw(st.sampled_from(SHARES), label="last shares"), "收尾")
        except DomainError:  # its units were refunded meanwhile: nothing left to refund
            db.session.rollback()
            claims.decide(claim.id, staff.id, 0, {"seller": 100, "carrier": 0, "platform": 0}, "已退款")
    for refund in db.session.scalars(select(Refund).where(Refund.status == "requested")).all():
        apply_stripe_refund(SimpleNamespace(id=f"re_{refund.id}", status="succeeded", metadata={}, failure_reason=None),
                            refund_id=refund.id)
    for refund in db.session.scalars(select(Refund)).all():
        attribute_refund(refund.id)
    settle_due(now=clock + timedelta(days=8))
    assert_holds(orders, buyer)
    posted = db.session.scalars(select(JournalEntry.rule_settings).where(JournalEntry.rule == "after_sales_claim")).all()
    event(f"claim entries posted: {min(len(posted), 4)}{'+' if len(posted) >= 4 else ''}")
    all_claims = db.session.scalars(select(Claim)).all()
    event(f"claims opened: {min(len(all_claims), 3)}{'+' if len(all_claims) >= 3 else ''}")
    for claim in all_claims:
        event(f"a claim ended {claim.status}{' with a refund' if claim.refund_id else ''}"
              f"{' as store credit' if claim.refund_id and claim.refund_to == 'store_credit' else ''}")
    for settings_ in posted:
        event(f"bearers {sorted(b for b, p in settings_['percent_by_bearer'].items() if p)}")
        if settings_.get("protected_household_ids"):
            event("a poor household's return covered by its cooperative")
        if settings_.get("capped_by_account"):
            event("an at-fault seller capped at zero")
    assert db.session.scalar(select(Shipment.id).where(Shipment.status == "delivered",
                                                       Shipment.replaces_claim_id.is_(None))) is None
