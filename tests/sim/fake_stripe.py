"""An in-process Stripe for the simulation: PaymentIntents, charges with fees, refunds.

It replaces the functions of `marketplace.payments.stripe_gateway` (the only importer of
`stripe`), so everything above it — settlement, webhooks, refunds — runs unchanged, without
a network and deterministically. The simulation decides when a payment succeeds and which events
Stripe delivers, and in what order.
"""
from types import SimpleNamespace

from marketplace.payments import stripe_gateway

FEE_RATE_PER_10000 = 60  # 0.6 %, as Stripe charges for cards in CNY


class FakeStripe:
    def __init__(self):
        self.intents = {}
        self.refunds = {}
        self._keys = {}
        self._next = 0

    def _id(self, prefix):
        self._next += 1
        return f"{prefix}_sim{self._next:06d}"

    def install(self, monkeypatch):
        for name in ("create_payment_intent", "retrieve_payment_intent", "retrieve_payment_intent_with_charge",
                     "cancel_payment_intent", "confirm_payment_intent", "create_refund", "find_refund",
                     "retrieve_refund"):
            monkeypatch.setattr(stripe_gateway, name, getattr(self, name))
        return self

    def create_payment_intent(self, amount_fen, idempotency_key, metadata, payment_method=None, customer=None):
        if idempotency_key in self._keys:
            return self.intents[self._keys[idempotency_key]]
        intent = SimpleNamespace(id=self._id("pi"), amount=amount_fen, status="requires_payment_method",
                                 client_secret="secret", latest_charge=None, metadata=metadata)
        self.intents[intent.id] = intent
        self._keys[idempotency_key] = intent.id
        return intent

    def retrieve_payment_intent(self, intent_id):
        return self.intents[intent_id]

    retrieve_payment_intent_with_charge = retrieve_payment_intent

    def succeed(self, intent_id):
        """The buyer pays: the intent succeeds with a charge and its fee."""
        intent = self.intents[intent_id]
        if intent.status == "succeeded":
            return
        fee = max(1, intent.amount * FEE_RATE_PER_10000 // 10000)
        transaction = SimpleNamespace(id=self._id("txn"), currency="cny", fee=fee, amount=intent.amount,
                                      exchange_rate=None)
        intent.latest_charge = SimpleNamespace(id=self._id("ch"), balance_transaction=transaction)
        intent.status = "succeeded"

    def fail(self, intent_id):
        intent = self.intents[intent_id]
        if intent.status != "succeeded":
            intent.status = "requires_payment_method"

    def confirm_payment_intent(self, intent_id):
        self.succeed(intent_id)
        return self.intents[intent_id]

    def cancel_payment_intent(self, intent_id):
        intent = self.intents[intent_id]
        if intent.status == "succeeded":
            raise stripe_gateway.StripeError("You cannot cancel this PaymentIntent because it has a status of succeeded.")
        intent.status = "canceled"
        return intent

    def create_refund(self, intent_id, amount_fen, idempotency_key, metadata=None):
        if idempotency_key in self._keys:
            return self.refunds[self._keys[idempotency_key]]
        refunded = sum(r.amount for r in self.refunds.values() if r.payment_intent == intent_id)
        intent = self.intents[intent_id]
        if intent.status != "succeeded" or refunded + amount_fen > intent.amount:
            raise stripe_gateway.StripeError("Refund is more than the charge.")
        refund = SimpleNamespace(id=self._id("re"), amount=amount_fen, status="succeeded", payment_intent=intent_id,
                                 metadata=dict(metadata or {}), failure_reason=None)
        self.refunds[refund.id] = refund
        self._keys[idempotency_key] = refund.id
        return refund

    def find_refund(self, intent_id, metadata_key, metadata_value):
        return next((refund for refund in self.refunds.values()
                     if refund.payment_intent == intent_id and refund.metadata.get(metadata_key) == metadata_value),
                    None)

    def retrieve_refund(self, refund_id):
        return self.refunds[refund_id]
