"""The after-sales claim rule: a claim's refund reverses the line pro rata and charges its bearers —
the seller (its own credits; a poor household's profit return only when the household is at
fault), the carrier (a receivable), the platform (a loss), or a split — and every order still
credits exactly paid − refunded, nobody is left below zero, and `ledger verify` re-derives it."""
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from marketplace.aftersales import services as claims
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.ledger.balances import household_balance
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.names import CLAIM
from marketplace.ledger.services import account_id, balance_fen, owed_to_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders import fulfilment
from marketplace.orders.models import Order, OrderLine, Shipment
from marketplace.orders.settlement import settle_due
from marketplace.payments.models import Refund
from marketplace.payments.refunds import apply_stripe_refund
from tests.ledger.builders import number


def deliver(order, actor_id):
    """Pack, ship and record the delivery of every shipment of `order` (the seller's own steps)."""
    for shipment in db.session.scalars(select(Shipment).where(Shipment.order_id == order.id)).all():
        fulfilment.mark_packed(shipment.id, actor_id)
        fulfilment.mark_shipped(shipment.id, actor_id, "顺丰速运", f"SF{number():08d}")
        fulfilment.record_carrier_delivery(shipment.id, actor_id)


def stripe_refunds_succeed(claim):
    """What Stripe would report for the claim's refund (its status applied by the real service), then rule 8's task."""
    refund = db.session.get(Refund, claim.refund_id)
    assert apply_stripe_refund(SimpleNamespace(id=f"re_{number()}", status="succeeded", metadata={}),
                               refund_id=refund.id) == "succeeded"
    attribute_refund(refund.id)


def assert_ledger_clean():
    report = verify_ledger()
    assert report.ok, report.failures
    assert not [name for name in report.counts if name.startswith("not_rederived")], report.counts


class World(SimpleNamespace):
    pass


@pytest.fixture
def world(district):
    """A poor household's pears sold by its cooperative (30 % profit return) and a poor household's
    eggs sold directly through its agent, in one paid, attributed and delivered order."""
    grower, egg_family = district.household(verified_poor=True), district.household(verified_poor=True)
    coop = district.cooperative(profit_return_rate="0.30", members=[(grower, 1)])
    pears = district.variant(coop, price_fen=1_000, floor_price_fen=600)
    eggs = district.variant(egg_family, price_fen=500)
    district.lot(pears, grower, 10)
    buyer = district.user("buyer")
    manager = district.user("coop_manager", cooperative_id=coop.id)
    agent = district.agent_for()
    staff = district.user("town_staff", town_id=district.town.id)
    order, payment = district.paid_order([(pears, 5), (eggs, 4)])
    order.buyer_id = buyer.id
    db.session.commit()
    attribute_payment(payment.id)
    deliver_coop = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id,
                                                            Shipment.seller_id == order.lines[0].seller_id))
    deliver_eggs = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id,
                                                            Shipment.seller_id == order.lines[1].seller_id))
    for shipment, actor in ((deliver_coop, manager.id), (deliver_eggs, agent.id)):
        fulfilment.mark_packed(shipment.id, actor)
        fulfilment.mark_shipped(shipment.id, actor, "顺丰速运", f"SF{number():08d}")
        fulfilment.record_carrier_delivery(shipment.id, actor)
    return World(order=order, pears_line=order.lines[0], eggs_line=order.lines[1], grower=grower,
                 egg_family=egg_family, coop=coop, buyer=buyer, manager=manager, agent=agent, staff=staff,
                 pears_shipment=deliver_coop, eggs_shipment=deliver_eggs)


def open_pears_claim(world, quantity=2, remedy="refund"):
    return claims.open_claim(world.order.public_no, world.pears_line.id, world.buyer.id, "damaged", quantity, remedy,
                             note="压坏了")


def escalate(claim):
    claims.escalate_overdue(now=utcnow() + timedelta(hours=49))
    db.session.refresh(claim)
    assert claim.status == "escalated"


def coop_revenue(world):
    return owed_to_fen(account_id("cooperative_revenue", "cooperative", world.coop.id))


def grower_owed(world):
    return owed_to_fen(account_id("household_payable", "household", world.grower.id))


def test_seller_at_fault_reverses_the_cooperatives_credit_and_covers_the_poor_households_return(world):
    revenue, grower = coop_revenue(world), grower_owed(world)
    claim = open_pears_claim(world)
    claims.respond(claim.id, world.manager.id, "accept")
    stripe_refunds_succeed(claim)
    # 2 of 5 pears: 2,000 fen. The line credited the grower 0.3 × 5 × (1,000 − 600) = 600, the cooperative 4,400.
    assert revenue - coop_revenue(world) == 1_760          # its own share: 4,400 × 2/5
    assert grower_owed(world) == grower                      # the poor household's return is not touched
    assert owed_to_fen(account_id("claims_receivable", "cooperative", world.coop.id)) == -240  # 600 × 2/5, owed by the coop
    assert world.order.refunded_fen == 2_000
    assert_ledger_clean()


def test_carrier_at_fault_is_a_receivable_from_the_carrier_and_no_recipient_gives_back(world):
    revenue, grower = coop_revenue(world), grower_owed(world)
    claim = open_pears_claim(world, quantity=3)
    escalate(claim)
    claims.decide(claim.id, world.staff.id, 3_000, {"seller": 0, "carrier": 100, "platform": 0}, "冷链断了")
    stripe_refunds_succeed(claim)
    assert (coop_revenue(world), grower_owed(world)) == (revenue, grower)
    assert balance_fen(account_id("claims_receivable")) == 3_000
    assert_ledger_clean()


def test_platform_at_fault_is_a_platform_expense(world):
    revenue = coop_revenue(world)
    claim = open_pears_claim(world, quantity=1)
    escalate(claim)
    claims.decide(claim.id, world.staff.id, 700, {"seller": 0, "carrier": 0, "platform": 100}, "平台描述有误")
    stripe_refunds_succeed(claim)
    assert coop_revenue(world) == revenue
    assert balance_fen(account_id("refund_losses")) == 700
    assert_ledger_clean()


def test_a_shared_split_charges_each_bearer_its_percentage(world):
    revenue = coop_revenue(world)
    claim = open_pears_claim(world, quantity=5)
    escalate(claim)
    claims.decide(claim.id, world.staff.id, 4_999, {"seller": 50, "carrier": 30, "platform": 20}, "各有责任")
    stripe_refunds_succeed(claim)
    entry = db.session.scalar(select(JournalEntry).where(JournalEntry.rule == CLAIM))
    assert entry.rule_settings["percent_by_bearer"] == {"seller": 50, "carrier": 30, "platform": 20}
    assert balance_fen(account_id("claims_receivable")) == 1_500   # 30 % of 4,999, largest remainder
    assert balance_fen(account_id("refund_losses")) == 1_000
    seller_part = 4_999 - 1_500 - 1_000
    covered_for_grower = owed_to_fen(account_id("claims_receivable", "cooperative", world.coop.id))
    assert (revenue - coop_revenue(world)) - covered_for_grower == seller_part
    assert_ledger_clean()


def test_a_household_selling_directly_gives_back_when_at_fault_never_below_zero(world):
    before = household_balance(world.egg_family.id)
    claim = claims.open_claim(world.order.public_no, world.eggs_line.id, world.buyer.id, "spoiled", 4, "refund")
    claims.respond(claim.id, world.agent.id, "accept")
    stripe_refunds_succeed(claim)
    after = household_balance(world.egg_family.id)
    assert before.posted_fen - after.posted_fen == 2_000   # its own sale, fully taken back (no commission: poor)
    assert after.posted_fen >= 0 and after.available_fen >= 0
    assert_ledger_clean()


def test_settlement_waits_for_the_claim_and_its_refund_then_proceeds(world, app):
    claim = open_pears_claim(world)
    past_window = utcnow() + timedelta(days=app.config["AFTER_SALES_DAYS"], minutes=5)
    assert settle_due(now=past_window) == 1                  # the eggs settle; the pears wait for the claim
    db.session.refresh(world.pears_shipment)
    assert world.pears_shipment.status == "delivered"
    claims.respond(claim.id, world.manager.id, "offer", offer_fen=900)
    claims.answer_offer(world.order.public_no, claim.id, world.buyer.id, accept=True)
    assert settle_due(now=past_window) == 0                  # the refund is still on its way to the buyer
    stripe_refunds_succeed(claim)
    assert settle_due(now=past_window) == 1
    db.session.refresh(world.pears_shipment)
    assert world.pears_shipment.status == "settled"
    assert db.session.get(Order, world.order.id).status == "completed"
    assert_ledger_clean()


def test_a_later_ordinary_refund_of_the_same_line_adds_up_with_the_claim(world):
    from marketplace.payments.refunds import refund_order
    claim = open_pears_claim(world, quantity=2)
    escalate(claim)
    claims.decide(claim.id, world.staff.id, 1_500, {"seller": 40, "carrier": 60, "platform": 0}, "部分责任")
    stripe_refunds_succeed(claim)
    refund = refund_order(world.order.id, {world.pears_line.id: 3}, world.staff.id, restock=False)
    apply_stripe_refund(SimpleNamespace(id=f"re_{number()}", status="succeeded", metadata={}), refund_id=refund.id)
    attribute_refund(refund.id)
    line = db.session.get(OrderLine, world.pears_line.id)
    assert (line.refunded_quantity, line.refunded_fen) == (5, 4_500)
    assert_ledger_clean()


def test_a_failed_refund_after_a_claim_gives_the_order_back_a_real_status(world):
    from marketplace.payments.refunds import refund_order
    claim = open_pears_claim(world)
    claims.respond(claim.id, world.manager.id, "reject", reason="照片里的梨是好的")
    refund = refund_order(world.order.id, {world.eggs_line.id: 1}, world.staff.id, restock=False)
    apply_stripe_refund(SimpleNamespace(id=f"re_{number()}", status="failed", metadata={}), refund_id=refund.id)
    assert db.session.get(Order, world.order.id).status == "delivered"  # not a claim step of its timeline
