"""A seeded fault simulation of the marketplace, in the manner of TigerBeetle's simulator.

One `random.Random(seed)` drives everything: extra buyers and supply lots in the demo district,
orders through the real cart and checkout, Stripe payments (an in-process Stripe), webhook events
delivered through the real signed endpoint with drops, duplicates, delays and reordering, outbox
tasks run by the real task functions — some killed before they commit, some run twice —, refunds,
payouts (approved, paid or failed) and cooperative period closes. After every step `ledger verify`
must pass; a failure names the seed and step, and `SIM_SEED=<seed>` replays it exactly.
"""
import json
import random
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from marketplace.catalog.models import Product, Variant
from marketplace.coops.models import Cooperative, CooperativePeriod, Membership
from marketplace.coops.services import record_supply_lot
from tests.demo_copy import seed_demo
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger import attribution
from marketplace.ledger.errors import NotReady
from marketplace.ledger.verify import verify_ledger
from marketplace.orders import cart
from marketplace.orders.checkout import Delivery, place_order, start_payment
from marketplace.orders.models import Order
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import publish
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment
from marketplace.payments.refunds import refund_order, send_refund
from marketplace.payments.settlement import cancel_and_settle
from marketplace.payments.webhooks import apply_event
from marketplace.payouts.models import PayoutBatch, PayoutItem
from marketplace.people.models import Household, User
from marketplace.places.models import Town, Village

DELIVERY = Delivery(kind="address", recipient_name="模拟买家", recipient_phone="13800000000", address="模拟路 1 号")
# Rules the outbox tasks run, by task name.
RULES = {"ledger.attribute_payment": ("payment_id", attribution.attribute_payment),
         "ledger.attribute_refund": ("refund_id", attribution.attribute_refund),
         "ledger.post_late_fee": ("payment_id", attribution.post_late_fee),
         "payments.send_refund": ("refund_id", send_refund),
         "ledger.post_dividends": ("period_id", attribution.post_dividends),
         # The webhook only records an event; this task re-reads Stripe and applies it (it commits
         # its own effect, so a "killed" run here is a worker dying after commit, before the ack).
         "payments.apply_stripe_event": ("event_id", apply_event)}


class SimulationFailure(AssertionError):
    pass


@dataclass
class Tally:
    """What the simulation did and which faults it injected, for the README and the test output."""

    counts: dict = field(default_factory=dict)

    def add(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n


class Simulation:
    def __init__(self, app, seed, stripe, steps=60):
        self.app, self.seed, self.stripe, self.steps = app, seed, stripe, steps
        self.rng = random.Random(seed)
        self.client = app.test_client()
        self.events = []  # (event id, type, intent id) Stripe has yet to deliver successfully
        self.event_number = 0
        self.tally = Tally()

    # --- the world -------------------------------------------------------------------------------

    def build(self):
        with self.app.app_context():
            seed_demo()
            for n in range(self.rng.randint(2, 6)):
                buyer = User(email=f"sim{self.seed}-{n}@example.cn", name=f"买家{n}", role="buyer")
                buyer.set_password("sim-password-1")
                db.session.add(buyer)
            db.session.commit()
            for _lot in range(self.rng.randint(2, 8)):
                membership = self.rng.choice(db.session.scalars(select(Membership).order_by(Membership.id)).all())
                products = db.session.scalars(select(Product).where(Product.seller.has(
                    cooperative_id=membership.cooperative_id)).order_by(Product.id)).all()
                if products:
                    record_supply_lot(cooperative_id=membership.cooperative_id,
                                      product_id=self.rng.choice(products).id, household_id=membership.household_id,
                                      quantity=self.rng.randint(1, 200), received_on=date(2026, 10, 20),
                                      idempotency_token=f"sim:{self.seed}:{_lot}", grade="一级")
            db.session.commit()
            db.session.remove()
        self._check("build")

    # --- one step at a time -----------------------------------------------------------------------

    def run(self):
        self.build()
        actions = [(self.place_order, 6), (self.buyer_pays, 5), (self.deliver_event, 8), (self.run_tasks, 5),
                   (self.refund, 2), (self.cancel, 1), (self.payout, 2), (self.close_period, 1)]
        choices, weights = zip(*actions)
        for step in range(self.steps):
            action = self.rng.choices(choices, weights)[0]
            with self.app.app_context():
                try:
                    action()
                finally:
                    db.session.remove()
            self._check(f"step {step} ({action.__name__})")
        self.drain()
        return self.tally

    def drain(self):
        """Stripe retries until every event is acknowledged; the worker retries until the outbox is empty."""
        for _round in range(50):
            with self.app.app_context():
                while self.events:
                    self.deliver_event(faults=False)
                self.run_tasks(faults=False)
                pending = db.session.scalar(select(db.func.count(OutboxMessage.id))
                                            .where(OutboxMessage.processed_at.is_(None)))
                db.session.remove()
            self._check("drain")
            if not pending and not self.events:
                break
        self._check_nothing_lost()

    def _check(self, where):
        with self.app.app_context():
            report = verify_ledger()
            db.session.remove()
        if not report.ok:
            violations = "; ".join(f"[{v.invariant}] {v.message} {v.ids}" for v in report.violations)
            raise SimulationFailure(f"ledger verify failed at {where} — replay with SIM_SEED={self.seed}: {violations}")

    def _check_nothing_lost(self):
        """Every PaymentIntent Stripe took money for belongs to a paid (or refunded) order, attributed once."""
        with self.app.app_context():
            for intent in self.stripe.intents.values():
                if intent.status != "succeeded":
                    continue
                payment = db.session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == intent.id))
                order = db.session.get(Order, payment.order_id)
                if order.status in ("pending_payment",):
                    raise SimulationFailure(f"SIM_SEED={self.seed}: order {order.public_no} was paid at Stripe "
                                            f"but is still {order.status}")
            db.session.remove()

    # --- actions ----------------------------------------------------------------------------------

    def _buyers(self):
        return db.session.scalars(select(User.id).where(User.role == "buyer").order_by(User.id)).all()

    def place_order(self):
        buyer = self.rng.choice(self._buyers())
        variants = db.session.scalars(select(Variant.id).join(Product).where(
            Product.direction == "uplink", Variant.is_active.is_(True)).order_by(Variant.id)).all()
        basket = cart.open_cart(user_id=buyer)
        try:
            for variant_id in self.rng.sample(variants, self.rng.randint(1, 3)):
                cart.add_item(basket.id, variant_id, self.rng.randint(1, 3))
            order = place_order(basket.id, buyer, DELIVERY)
            start_payment(order.id)
            self.tally.add("orders placed")
        except DomainError:
            db.session.rollback()
            self.tally.add("orders refused (sold out)")

    def buyer_pays(self):
        waiting = [i for i in self.stripe.intents.values() if i.status == "requires_payment_method"]
        if not waiting:
            return
        intent = self.rng.choice(waiting)
        if self.rng.random() < 0.85:
            self.stripe.succeed(intent.id)
            kind = "payment_intent.succeeded"
            self.tally.add("payments succeeded")
        else:
            kind = "payment_intent.payment_failed"
            self.tally.add("payments failed")
        self._emit(kind, intent.id)

    def _emit(self, kind, intent_id):
        self.event_number += 1
        event = (f"evt_sim{self.seed}_{self.event_number}", kind, intent_id)
        if self.rng.random() < 0.15:
            self.tally.add("events duplicated at source")
            self.events.append(event)
        self.events.append(event)

    def deliver_event(self, faults=True):
        """Stripe sends one waiting event: any of them (reordering, delays); sometimes it is lost on
        the way (the endpoint never answers: Stripe sends it again later) or sent twice."""
        if not self.events:
            return
        index = self.rng.randrange(len(self.events)) if faults else 0
        event_id, kind, intent_id = self.events[index]
        if faults and self.rng.random() < 0.15:
            self.tally.add("events dropped (redelivered later)")
            return
        payload = json.dumps({"id": event_id, "object": "event", "type": kind,
                              "data": {"object": {"id": intent_id, "object": "payment_intent"}}})
        header = stripe_gateway.sign_payload_for_tests(payload, self.app.config["STRIPE_WEBHOOK_SECRET"],
                                                       int(time.time()))
        for _copy in range(2 if faults and self.rng.random() < 0.2 else 1):
            response = self.client.post("/stripe/webhook", data=payload, headers={"Stripe-Signature": header},
                                        content_type="application/json")
            if response.status_code != 200:
                raise SimulationFailure(f"SIM_SEED={self.seed}: webhook {event_id} answered {response.status_code}")
            self.tally.add(f"webhook {response.get_json()['outcome']}")
        self.events.pop(index)

    def run_tasks(self, faults=True):
        """The worker takes pending outbox messages in any order; with faults some die before
        committing (the broker redelivers) and some run a second time (a retry after success)."""
        pending = db.session.scalars(select(OutboxMessage).where(OutboxMessage.processed_at.is_(None))
                                     .order_by(OutboxMessage.id)).all()
        if faults:
            self.rng.shuffle(pending)
            pending = pending[:self.rng.randint(1, 4)]
        work = [(message.id, message.task_name, dict(message.kwargs)) for message in pending]
        db.session.rollback()
        for outbox_id, task_name, kwargs in work:
            if task_name not in RULES:
                self._mark_processed(outbox_id)
                continue
            name, rule = RULES[task_name]
            runs = 1
            if faults and self.rng.random() < 0.2:
                self._run_rule(rule, kwargs[name], commit=False)
                self.tally.add("tasks killed before commit")
                continue
            if faults and self.rng.random() < 0.2:
                runs = 2
                self.tally.add("tasks run twice")
            for _run in range(runs):
                if self._run_rule(rule, kwargs[name], commit=True):
                    self._mark_processed(outbox_id)

    def _run_rule(self, rule, identifier, commit):
        try:
            outcome = rule(identifier)
            if rule is apply_event:
                self.tally.add(f"event {outcome}")
        except NotReady:
            db.session.rollback()
            self.tally.add("tasks not ready (retried)")
            return False
        except DomainError:
            db.session.rollback()
            self.tally.add("tasks refused")
            return True
        if commit:
            db.session.commit()
            self.tally.add("tasks done")
        else:
            db.session.rollback()
        return True

    def _mark_processed(self, outbox_id):
        message = db.session.get(OutboxMessage, outbox_id)
        if message.processed_at is None:
            message.processed_at = db.func.now()
            db.session.commit()

    def refund(self):
        orders = db.session.scalars(select(Order).where(Order.status.in_(("paid", "partially_refunded")))
                                    .order_by(Order.id)).all()
        if not orders:
            return
        order = self.rng.choice(orders)
        open_lines = [line for line in order.lines if line.quantity > line.refunded_quantity]
        lines = {line.id: self.rng.randint(1, line.quantity - line.refunded_quantity)
                 for line in self.rng.sample(open_lines, self.rng.randint(1, len(open_lines)))}
        admin = db.session.scalar(select(User.id).where(User.role == "admin"))
        try:
            refund_order(order.id, lines, admin, restock=self.rng.random() < 0.5, reason="simulation")
            self.tally.add("refunds")
        except DomainError:
            db.session.rollback()
            self.tally.add("refunds refused")

    def cancel(self):
        order = db.session.scalar(select(Order).where(Order.status == "pending_payment").order_by(Order.id.desc()))
        if order is not None:
            self.tally.add("cancellations")
            cancel_and_settle(order.id, "simulation")

    def payout(self):
        """A town pays a household: approved (rule 10) then paid or failed; beyond the balance it is refused."""
        town = db.session.scalar(select(Town).where(Town.slug == "lingzi"))
        maker, checker = db.session.scalars(select(User.id).where(User.town_id == town.id).order_by(User.id)).all()[:2]
        household = self.rng.choice(db.session.scalars(select(Household.id).join(Village)
                                                       .where(Village.town_id == town.id).order_by(Household.id)).all())
        batch = PayoutBatch(town_id=town.id, method="bank", created_by_id=maker, approved_by_id=checker,
                            status="approved")
        db.session.add(batch)
        db.session.flush()
        item = PayoutItem(batch_id=batch.id, household_id=household, amount_fen=self.rng.randint(1, 40_000))
        db.session.add(item)
        db.session.commit()
        try:
            attribution.post_payout_approved(item.id)
            db.session.commit()
        except DomainError:
            db.session.rollback()
            self.tally.add("payouts refused (beyond the balance)")
            return
        settle = self.rng.choice((attribution.post_payout_paid, attribution.post_payout_failed))
        settle(item.id)
        db.session.commit()
        self.tally.add("payouts " + ("paid" if settle is attribution.post_payout_paid else "failed"))

    def close_period(self):
        """A cooperative closes its (first) period: dividends go out through the outbox (rule 5)."""
        open_coops = db.session.scalars(select(Cooperative.id).where(~Cooperative.id.in_(
            select(CooperativePeriod.cooperative_id))).order_by(Cooperative.id)).all()
        if not open_coops:
            return
        cooperative = self.rng.choice(open_coops)
        period = CooperativePeriod(cooperative_id=cooperative, period_start=date(2020, 1, 1),
                                   period_end=date(2030, 1, 1), dividend_rate=Decimal("0.3"))
        db.session.add(period)
        db.session.flush()
        publish("ledger.post_dividends", period_id=period.id)
        db.session.commit()
        self.tally.add("period closes")
