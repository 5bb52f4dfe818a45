"""`python -m marketplace.payments.local_stripe_server`: localstripe, taught the refund lifecycle and late fees.

localstripe (PyPI) marks every refund `succeeded` the moment it is created, sends no refund
events and reports every fee as 0. Real Stripe does not: a refund may stay `pending` and succeed
later, or succeed and then fail (the card was closed), and a charge's fee may be known only once
its balance transaction exists. This stand-in runs localstripe with those behaviours added,
emulated with Stripe's own object shapes and event types (as the `stripe` library names them):

- A refund of a charge paid with Stripe's test card 4000000000007726 is created `pending`, with
  no balance transaction yet; one paid with 4000000000005126 is created `succeeded` and fails
  later. Every refund carries `failure_reason` and `failure_balance_transaction` (null until it
  fails), and its creation sends `refund.created` (and `charge.refunded` once succeeded).
- "Later" is when a test or a developer says so: `POST /_config/refunds/{id}/advance` moves a
  pending refund to `succeeded` (its `refund` balance transaction is created then), or a
  refund-fail card's refund to `failed` (`failure_reason` "expired_or_canceled_card", and a
  `refund_failure` balance transaction giving the amount back). Each move sends what Stripe
  sends: `charge.refund.updated` and `refund.updated`, plus `refund.failed` for a failure.
  A failed refund no longer counts in the charge's `amount_refunded`.
- `POST /_config/charges/{id}/fee` with field `fee` (in the charge's minor unit) reports the
  charge's fee after the fact: its balance transaction's `fee` and `fee_details` (so `net`)
  change and `charge.updated` is sent, as when Stripe learns a fee after the payment.

WeChat Pay and Alipay PaymentIntents are taught by `local_stripe_wallets.py`, saved cards charged off
session (subscriptions) by `local_stripe_saved_cards.py` (see there).

Everything else is localstripe's own: `make run` and the tests start this module instead of the
`localstripe` command, with the same arguments, plus `--in-memory` (the tests): keep nothing on
disk. localstripe pickles its whole store to /tmp/localstripe.pickle after every object it
stores, which makes a test of a few hundred orders quadratic (and every localstripe on the
machine share one file).
"""
import sys

from localstripe import resources, server
from localstripe.errors import UserError
from localstripe.resources import BalanceTransaction, Charge, Event, PaymentMethod, Refund
from localstripe.webhooks import schedule_webhook

from marketplace.payments import local_stripe_saved_cards, local_stripe_wallets

REFUND_PENDING_CARD = "4000000000007726"
REFUND_FAILS_CARD = "4000000000005126"
NOT_REFUNDED = ("failed", "canceled")

_localstripe_refund_init = Refund.__init__


def _card_number(charge_id):
    charge = Charge._api_retrieve(charge_id)
    method_id = getattr(charge, "payment_method", None)
    if not isinstance(method_id, str) or not method_id.startswith("pm_"):
        return None
    try:
        return getattr(PaymentMethod._api_retrieve(method_id), "_card_number", None)
    except UserError:
        return None


def _balance_transaction(refund, amount, kind):
    transaction = BalanceTransaction(amount=amount, currency=refund.currency, description="REFUND FOR CHARGE",
                                     exchange_rate=1.0, reporting_category="refund", source=refund.id, type="refund")
    if kind != "refund":  # localstripe only knows charges and refunds: Stripe's names for the rest
        transaction.type = transaction.reporting_category = kind
        transaction.description = "REFUND FAILURE"
    return transaction.id


def _refund_init(self, *args, **kwargs):
    _localstripe_refund_init(self, *args, **kwargs)
    self.failure_reason = None
    self.failure_balance_transaction = None
    self.reason = None
    card = _card_number(self.charge)
    self._fails_later = card == REFUND_FAILS_CARD
    if card == REFUND_PENDING_CARD:
        # No money has moved yet: Stripe creates the balance transaction when the refund succeeds.
        resources.store.pop("balance_transaction:" + self.balance_transaction, None)
        self.balance_transaction = None
        self.status = "pending"
    schedule_webhook(Event("refund.created", self))
    if self.status == "succeeded":
        schedule_webhook(Event("charge.refunded", Charge._api_retrieve(self.charge)))


def _amount_refunded(charge):
    return sum(refund.amount for refund in charge.refunds._list if refund.status not in NOT_REFUNDED)


def _refunded(charge):
    return charge.amount <= charge.amount_refunded


async def advance_refund(request):
    """The "some time later" of Stripe's test cards: pending → succeeded, or succeeded → failed."""
    refund = Refund._api_retrieve(request.match_info["id"])
    if refund.status == "pending":
        refund.status = "succeeded"
        refund.balance_transaction = _balance_transaction(refund, -refund.amount, "refund")
    elif refund.status == "succeeded" and getattr(refund, "_fails_later", False):
        refund.status = "failed"
        refund.failure_reason = "expired_or_canceled_card"
        refund.failure_balance_transaction = _balance_transaction(refund, refund.amount, "refund_failure")
    else:
        raise UserError(400, f"Refund {refund.id} is {refund.status} and has nothing left to do.")
    schedule_webhook(Event("charge.refund.updated", refund))
    schedule_webhook(Event("refund.updated", refund))
    if refund.status == "failed":
        schedule_webhook(Event("refund.failed", refund))
    return server.json_response(refund._export())


async def report_fee(request):
    """Stripe learned the charge's fee after the payment: set it on its balance transaction."""
    charge = Charge._api_retrieve(request.match_info["id"])
    data = await server.get_post_data(request) or {}
    try:
        fee = int(data.get("fee"))
        assert fee >= 0
    except (TypeError, ValueError, AssertionError):
        raise UserError(400, "Bad request")
    transaction = BalanceTransaction._api_retrieve(charge.balance_transaction)
    transaction.fee = fee
    transaction.fee_details = [{"amount": fee, "currency": transaction.currency, "type": "stripe_fee",
                                "description": "Stripe processing fees", "application": None}]
    schedule_webhook(Event("charge.updated", charge))
    return server.json_response(charge._export())


def install():
    """Teach the running localstripe what this module adds (idempotent)."""
    if Refund.__init__ is _refund_init:
        return
    Refund.__init__ = _refund_init
    Charge.amount_refunded = property(_amount_refunded)
    Charge.refunded = property(_refunded)
    server.app.router.add_post("/_config/refunds/{id}/advance", advance_refund)
    server.app.router.add_post("/_config/charges/{id}/fee", report_fee)


def _keep_nothing_on_disk(_store):
    pass


def _port_argument():
    """The --port localstripe will listen on (its own parser reads it again)."""
    for index, argument in enumerate(sys.argv):
        if argument == "--port" and index + 1 < len(sys.argv):
            return int(sys.argv[index + 1])
        if argument.startswith("--port="):
            return int(argument.split("=", 1)[1])
    return 8420


def main():
    install()
    local_stripe_wallets.install(_port_argument())
    local_stripe_saved_cards.install()
    if "--in-memory" in sys.argv:
        sys.argv.remove("--in-memory")
        resources.Store.dump_to_disk = _keep_nothing_on_disk
    server.start()


if __name__ == "__main__":
    main()
