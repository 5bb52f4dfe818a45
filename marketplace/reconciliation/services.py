"""Stripe reconciliation: every balance transaction and payout matched to the ledger.

The beat task pulls what Stripe recorded since the last pull (incrementally, by `created`),
keeps each transaction with its settlement currency and amount, and matches it by
`reporting_category`: a charge to its Payment and the ledger's receipt (rule 1) and fee
(rule 7), a refund to its Refund and the ledger's reversal (rule 8), a payout to rule 11.
What does not match becomes a discrepancy staff resolve with a note; a month whose
discrepancies are all resolved can be locked.
"""
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from marketplace.audit.services import record as audit
from marketplace.database import utcnow
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, Refund
from marketplace.places.scope import staff_town_id
from marketplace.reconciliation import ledger_view
from marketplace.reconciliation.models import Discrepancy, ReconciliationPeriod, StripeBalanceRecord, StripeSyncCursor

AUTO_NOTE = "Matched on a later pull."


def _moment(unix_seconds):
    return datetime.fromtimestamp(unix_seconds, UTC).replace(tzinfo=None)


def _cursor(name):
    # Locked, so a scheduled pull and a "pull now" never insert the same transactions twice.
    cursor = db.session.scalar(select(StripeSyncCursor).where(StripeSyncCursor.name == name).with_for_update())
    if cursor is None:
        cursor = StripeSyncCursor(name=name, created_up_to=0)
        db.session.add(cursor)
    return cursor


def sync_with_stripe():
    """Pull new balance transactions and payouts, match them, flag what is missing; safe to rerun."""
    pulled = 0
    lists = (("balance_transactions", stripe_gateway.balance_transactions_since, "balance_transaction"),
             ("payouts", stripe_gateway.payouts_since, "payout"))
    for name, fetch, kind in lists:
        cursor = _cursor(name)
        newest = cursor.created_up_to
        for obj in fetch(cursor.created_up_to):
            newest = max(newest, obj.created)
            if db.session.get(StripeBalanceRecord, obj.id) is None:
                db.session.add(_record_from(obj, kind))
                pulled += 1
        cursor.created_up_to = newest
        cursor.synced_at = utcnow()
    db.session.flush()
    for unmatched in db.session.scalars(select(StripeBalanceRecord).where(StripeBalanceRecord.matched.is_(False))):
        match_record(unmatched)
    _flag_missing_in_stripe()
    db.session.commit()
    return pulled


def _record_from(obj, kind):
    if kind == "payout":
        return StripeBalanceRecord(id=obj.id, object_type="payout", reporting_category="payout", source_id=obj.id,
                                   amount=-obj.amount, fee=0, currency=obj.currency,
                                   stripe_created_at=_moment(obj.created))
    return StripeBalanceRecord(id=obj.id, object_type="balance_transaction",
                               reporting_category=obj.reporting_category or obj.type, source_id=obj.source or "",
                               amount=obj.amount, fee=obj.fee or 0, currency=obj.currency,
                               stripe_created_at=_moment(obj.created))


def match_record(record):
    """Match one Stripe record; on success close any discrepancy it had, else open one."""
    matcher = {"charge": _match_charge, "refund": _match_refund, "payout": _match_payout}.get(record.reporting_category)
    found = matcher(record) if matcher else [("missing_in_ledger", record.id, record.amount, None,
                                              f"unexpected category {record.reporting_category}")]
    if isinstance(found, str):
        record.matched, record.matched_to = True, found
        for open_one in db.session.scalars(select(Discrepancy).where(
                Discrepancy.reference.in_((record.id, f"{record.id}:fee")), Discrepancy.resolved_at.is_(None))):
            open_one.resolved_at, open_one.resolution_note = utcnow(), AUTO_NOTE
        return
    for kind, reference, stripe_amount, ledger_amount, detail in found:
        _open_discrepancy(kind, reference, record.reporting_category, stripe_amount, ledger_amount,
                          record.currency, detail, record.stripe_created_at)


def _match_charge(record):
    payment = db.session.scalar(select(Payment).where(
        (Payment.balance_transaction_id == record.id) | (Payment.stripe_charge_id == record.source_id)))
    if payment is None:
        return [("missing_in_ledger", record.id, record.amount, None, f"charge {record.source_id} has no payment")]
    if payment.settlement_currency is None:
        payment.settlement_currency, payment.settlement_amount = record.currency, record.amount
    payment.balance_transaction_id = payment.balance_transaction_id or record.id
    same_currency = record.currency == payment.currency
    receipt_fen = ledger_view.receipt_fen(payment.order_id)
    if receipt_fen == 0:
        return [("missing_in_ledger", record.id, record.amount, None, f"order {payment.order_id} not posted")]
    problems = []
    if same_currency and record.amount != receipt_fen:
        problems.append(("amount_differs", record.id, record.amount, receipt_fen, f"order {payment.order_id} receipt"))
    elif not same_currency and record.amount != payment.settlement_amount:
        problems.append(("amount_differs", record.id, record.amount, payment.settlement_amount, "settlement amount"))
    if record.fee != payment.fee_fen or ledger_view.fee_fen(payment.order_id) != payment.fee_fen:
        problems.append(("amount_differs", f"{record.id}:fee", record.fee, ledger_view.fee_fen(payment.order_id),
                         f"order {payment.order_id} fee"))
    return problems or f"payment:{payment.id}"


def _match_refund(record):
    refund = db.session.scalar(select(Refund).where(Refund.stripe_refund_id == record.source_id))
    if refund is None:
        return [("missing_in_ledger", record.id, -record.amount, None, f"refund {record.source_id} not recorded")]
    reversed_fen = ledger_view.refund_fen(refund.id)
    if reversed_fen == 0:
        return [("missing_in_ledger", record.id, -record.amount, None, f"refund {refund.id} not posted")]
    if record.currency == "cny" and -record.amount != reversed_fen:
        return [("amount_differs", record.id, -record.amount, reversed_fen, f"refund {refund.id}")]
    return f"refund:{refund.id}"


def _match_payout(record):
    entry = ledger_view.stripe_payout_entry(record.id, record.currency, -record.amount)
    if entry is None:
        return [("missing_in_ledger", record.id, -record.amount, None, f"payout in {record.currency.upper()}")]
    return f"entry:{entry.id}"


def _open_discrepancy(kind, reference, category, stripe_amount, ledger_amount, currency, detail, occurred_at):
    existing = db.session.scalar(select(Discrepancy).filter_by(kind=kind, reference=reference))
    if existing is not None:
        if existing.resolved_at is None:
            existing.stripe_amount, existing.ledger_amount = stripe_amount, ledger_amount
        return existing
    found = Discrepancy(kind=kind, reference=reference, reporting_category=category, stripe_amount=stripe_amount,
                        ledger_amount=ledger_amount, currency=currency, detail=detail[:300], occurred_at=occurred_at)
    db.session.add(found)
    db.session.flush()
    return found


def _flag_missing_in_stripe():
    """Succeeded payments and refunds older than the newest pulled transaction that Stripe never showed."""
    newest = db.session.scalar(select(func.max(StripeBalanceRecord.stripe_created_at)).where(
        StripeBalanceRecord.object_type == "balance_transaction"))
    if newest is None:
        return
    seen_sources = select(StripeBalanceRecord.source_id)
    seen_ids = select(StripeBalanceRecord.id)
    payments = db.session.scalars(select(Payment).where(
        Payment.status == "succeeded", Payment.succeeded_at <= newest,
        Payment.stripe_charge_id.is_(None) | Payment.stripe_charge_id.not_in(seen_sources),
        Payment.balance_transaction_id.is_(None) | Payment.balance_transaction_id.not_in(seen_ids)))
    for payment in payments:
        _open_discrepancy("missing_in_stripe", f"payment:{payment.id}", "charge", None, payment.amount_fen,
                          payment.currency, f"order {payment.order_id}", payment.succeeded_at)
    refunds = db.session.scalars(select(Refund).where(
        Refund.status == "succeeded", Refund.created_at <= newest, Refund.stripe_refund_id.is_not(None),
        Refund.stripe_refund_id.not_in(seen_sources)))
    for refund in refunds:
        _open_discrepancy("missing_in_stripe", f"refund:{refund.id}", "refund", None, refund.amount_fen,
                          "cny", f"order {refund.order_id}", refund.created_at)


def summary():
    """Matched totals by category and currency, open discrepancies and locked months."""
    totals = db.session.execute(
        select(StripeBalanceRecord.reporting_category, StripeBalanceRecord.currency, func.count(),
               func.sum(StripeBalanceRecord.amount), func.sum(StripeBalanceRecord.fee))
        .where(StripeBalanceRecord.matched.is_(True))
        .group_by(StripeBalanceRecord.reporting_category, StripeBalanceRecord.currency)
        .order_by(StripeBalanceRecord.reporting_category, StripeBalanceRecord.currency)).all()
    return {
        "totals": [dict(category=c, currency=cur, count=n, amount=a or 0, fee=f or 0) for c, cur, n, a, f in totals],
        "open": db.session.scalars(select(Discrepancy).where(Discrepancy.resolved_at.is_(None))
                                   .order_by(Discrepancy.occurred_at, Discrepancy.id)).all(),
        "resolved": db.session.scalars(select(Discrepancy).where(Discrepancy.resolved_at.is_not(None))
                                       .order_by(Discrepancy.resolved_at.desc()).limit(20)).all(),
        "locked": db.session.scalars(select(ReconciliationPeriod).order_by(ReconciliationPeriod.month.desc())).all(),
        "cursor": db.session.get(StripeSyncCursor, "balance_transactions"),
    }


def _month_bounds(month):
    try:
        start = datetime.strptime(month, "%Y-%m")
    except (TypeError, ValueError) as error:
        raise Conflict("Give the month as YYYY-MM.", field="month") from error
    end = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def resolve_discrepancy(actor_id, discrepancy_id, note):
    """Staff close a discrepancy with a note saying what was done about it."""
    town_id = staff_town_id(actor_id)
    note = (note or "").strip()
    if not note or len(note) > 500:
        raise Conflict("Write a note of at most 500 characters saying how it was resolved.", field="note")
    found = db.session.scalar(select(Discrepancy).where(Discrepancy.id == discrepancy_id).with_for_update())
    if found is None:
        raise NotFound("No such discrepancy.")
    if found.resolved_at is not None:
        raise Conflict("This discrepancy is already resolved.")
    found.resolved_at, found.resolved_by_id, found.resolution_note = utcnow(), actor_id, note
    audit("reconciliation.resolve", actor_id, found, town_id=town_id, kind=found.kind, reference=found.reference,
          note=note)
    db.session.commit()
    return found


def lock_month(actor_id, month, today=None):
    """Lock a past month once every discrepancy in it is resolved and Stripe was pulled past its end."""
    town_id = staff_town_id(actor_id)
    start, end = _month_bounds(month)
    if end.date() > (today or date.today()):
        raise Conflict("A month can be locked only after it ends.")
    if db.session.scalar(select(ReconciliationPeriod.id).filter_by(month=month)) is not None:
        raise Conflict("That month is already locked.")
    cursor = db.session.get(StripeSyncCursor, "balance_transactions")
    if cursor is None or cursor.synced_at < end:
        raise Conflict("Pull from Stripe after the month ends before locking it.")
    still_open = db.session.scalar(select(func.count()).select_from(Discrepancy).where(
        Discrepancy.resolved_at.is_(None), Discrepancy.occurred_at >= start, Discrepancy.occurred_at < end))
    if still_open:
        raise Conflict(f"{still_open} discrepancies in {month} are still open.")
    period = ReconciliationPeriod(month=month, locked_by_id=actor_id)
    db.session.add(period)
    db.session.flush()
    audit("reconciliation.lock", actor_id, period, town_id=town_id, month=month)
    db.session.commit()
    return period
