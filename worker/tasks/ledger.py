"""Ledger tasks: each takes ids, runs one attribution rule, and marks its outbox message processed.

Safe to run twice (every rule is idempotent), acknowledged late and requeued if the worker
dies mid-task, retried with backoff and jitter on database trouble and on causes not ready
yet (a refund before its payment). A cause that can never be posted is logged and dropped.
"""
import json
import logging
from datetime import date

from celery import shared_task
from sqlalchemy.exc import DBAPIError

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger import attribution
from marketplace.ledger.chain import seal_pending
from marketplace.ledger.figures import fold_sealed_entries
from marketplace.ledger.chain import write_checkpoint as write_chain_checkpoint
from marketplace.ledger.errors import NotReady
from marketplace.ledger.rules.fixed_returns_schedule import run_fixed_returns as run_fixed_returns_service
from marketplace.outbox.services import mark_all_processed, mark_processed, send_in_batches

log = logging.getLogger(__name__)

PAYMENTS_PER_BATCH = 250

TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (NotReady, DBAPIError),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 12,
}


def _run(rule, *args, outbox_id=None):
    """Run `rule(*args)`; roll back on any failure so the retry starts clean."""
    try:
        rule(*args)
        db.session.commit()
    except (NotReady, DBAPIError):
        db.session.rollback()
        raise
    except DomainError as error:
        db.session.rollback()
        log.error("ledger: %s%s refused: %s", rule.__name__, args, error.message)
    finally:
        db.session.remove()
    mark_processed(outbox_id)


@shared_task(name="ledger.attribute_payment", **TASK_OPTIONS)
def attribute_payment(payment_id, outbox_id=None):
    """payment_succeeded: rules 1, 2, 4, 6, 7 for one payment."""
    _run(attribution.attribute_payment, payment_id, outbox_id=outbox_id)


@shared_task(name="ledger.attribute_payments_batch", **TASK_OPTIONS)
def attribute_payments_batch(payment_ids, outbox_ids=()):
    """payment_succeeded, many at once: rules 1, 2, 4, 6, 7 for each payment, in one transaction.

    `outbox_ids[i]` is the message of `payment_ids[i]`. A payment not ready yet keeps its message
    unprocessed, for the sweep to send again; one refused for good is logged and dropped.
    """
    try:
        outcome = attribution.attribute_payments(payment_ids)
    finally:
        db.session.remove()  # rolls back whatever failed, so the retry starts clean
    for payment_id, error in outcome.refused.items():
        log.log(logging.INFO if isinstance(error, NotReady) else logging.ERROR,
                "ledger: attribute_payments(%s) refused: %s", payment_id, error.message)
    finished = set(outcome.finished())
    mark_all_processed([message for message, payment in zip(outbox_ids, payment_ids) if payment in finished])


@shared_task(name="ledger.attribute_pending_payments")
def attribute_pending_payments():
    """Beat, every second: send the payments waiting for attribution as batch tasks (see OUTBOX_BATCHED_TASKS)."""
    try:
        return send_in_batches("ledger.attribute_payment", "ledger.attribute_payments_batch", "payment_id",
                               size=PAYMENTS_PER_BATCH)
    finally:
        db.session.remove()


@shared_task(name="ledger.attribute_refund", **TASK_OPTIONS)
def attribute_refund(refund_id, outbox_id=None):
    """refund_succeeded or refund_failed: rule 8 for one refund, as its status says (reversed, or unreversed)."""
    _run(attribution.attribute_refund, refund_id, outbox_id=outbox_id)


@shared_task(name="ledger.post_late_fee", **TASK_OPTIONS)
def post_late_fee(payment_id, outbox_id=None):
    """fee_reported_late: rule 7 for what a fee Stripe reported after attribution adds, once."""
    _run(attribution.post_late_fee, payment_id, outbox_id=outbox_id)


@shared_task(name="ledger.post_floor_purchase", **TASK_OPTIONS)
def post_floor_purchase(lot_id, outbox_id=None):
    """lot_received: rule 3 for one supply lot (a no-op when intake already posted it)."""
    from marketplace.catalog.models import SupplyLot

    def floor_purchase(identifier):
        lot = db.session.get(SupplyLot, identifier)
        if lot is None:
            raise NotReady(f"Lot {identifier} is not committed yet.")
        attribution.post_floor_purchase(lot)

    _run(floor_purchase, lot_id, outbox_id=outbox_id)


@shared_task(name="ledger.post_dividends", **TASK_OPTIONS)
def post_dividends(period_id, outbox_id=None):
    """period_closed: rule 5 for one cooperative period."""
    _run(attribution.post_dividends, period_id, outbox_id=outbox_id)


@shared_task(name="ledger.post_payout_paid", **TASK_OPTIONS)
def post_payout_paid(payout_item_id, outbox_id=None):
    """payout_confirmed: rule 10, the money left the bank."""
    _run(attribution.post_payout_paid, payout_item_id, outbox_id=outbox_id)


@shared_task(name="ledger.run_fixed_returns", **TASK_OPTIONS)
def run_fixed_returns(today=None):
    """Beat, daily: pay every investment's fixed return for the last quarter that has ended."""
    day = date.fromisoformat(today) if today else None
    try:
        return run_fixed_returns_service(day)
    finally:
        db.session.remove()


@shared_task(name="ledger.seal_entries", **TASK_OPTIONS)
def seal_entries():
    """Beat, every few seconds: chain the entries posted since the last run (chain.py), then fold
    them into the towns' public figures (figures.py); returns how many were chained."""
    try:
        sealed = seal_pending()
        fold_sealed_entries()
        return sealed
    finally:
        db.session.remove()


@shared_task(name="ledger.write_checkpoint", **TASK_OPTIONS)
def write_checkpoint():
    """Beat, daily: the signed checkpoint of the chain's head, in the audit log and the worker's log."""
    try:
        checkpoint = write_chain_checkpoint()
        log.info("ledger checkpoint %s", json.dumps(checkpoint, sort_keys=True))
        return checkpoint
    finally:
        db.session.remove()
