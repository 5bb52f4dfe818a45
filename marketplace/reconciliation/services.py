"""Stripe reconciliation: every balance transaction and payout matched to the ledger.

Two ways in, one matching: the beat task pulls what Stripe recorded since the last pull
(incrementally, by `created`), and staff import an export file of any size; both stage the
records and match them in a few set-based statements (see `matching`). What does not match
becomes a discrepancy staff resolve with a note; a month whose discrepancies are all resolved
can be locked.
"""
from datetime import UTC, datetime
from itertools import chain

from sqlalchemy import func, select

from marketplace.audit.services import record as audit
from marketplace.database import utcnow
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, Refund
from marketplace.places.scope import staff_town_id
from marketplace.reconciliation import matching
from marketplace.reconciliation.export import read_export, staging_row
from marketplace.reconciliation.models import Discrepancy, ReconciliationPeriod, StripeBalanceRecord, StripeSyncCursor
from marketplace.local_time import local_today

PULL_CURSORS = ("balance_transactions", "payouts")
IMPORT_CURSOR = "export_import"


def _cursor(name):
    # Locked, so a scheduled pull and a "pull now" (or two imports) never stage the same records twice.
    cursor = db.session.scalar(select(StripeSyncCursor).where(StripeSyncCursor.name == name).with_for_update())
    if cursor is None:
        cursor = StripeSyncCursor(name=name, created_up_to=0)
        db.session.add(cursor)
    return cursor


def _advancing(cursor, objects):
    """Pass the objects through, moving the cursor to the newest `created` seen."""
    for obj in objects:
        cursor.created_up_to = max(cursor.created_up_to, obj.created)
        yield obj


def sync_with_stripe():
    """Pull new balance transactions and payouts, match them, flag what is missing; safe to rerun.
    Returns how many records were new."""
    transactions, payouts = (_cursor(name) for name in PULL_CURSORS)
    pulled = chain(_advancing(transactions, stripe_gateway.balance_transactions_since(transactions.created_up_to)),
                   _advancing(payouts, stripe_gateway.payouts_since(payouts.created_up_to)))
    matching.stage(staging_row(obj.to_dict()) for obj in pulled)
    transactions.synced_at = payouts.synced_at = utcnow()
    new = matching.match_staged()
    db.session.commit()
    return new


def import_export(stream, actor_id=None):
    """Match a Stripe export (JSON lines or a JSON list of balance transactions and payouts, a text
    stream read incrementally) like a pull; safe to import the same file again. `actor_id` is the
    town staff member who uploaded it (None from the command line).
    Returns (records read, records new). Raises Conflict for a file that is not such an export."""
    town_id = staff_town_id(actor_id) if actor_id is not None else None
    cursor = _cursor(IMPORT_CURSOR)
    read = matching.stage(read_export(stream))
    new = matching.match_staged()
    newest = db.session.scalar(select(func.max(StripeBalanceRecord.stripe_created_at)))
    cursor.created_up_to = int(newest.replace(tzinfo=UTC).timestamp()) if newest else 0  # stored naive UTC
    cursor.synced_at = utcnow()
    if actor_id is not None:
        audit("reconciliation.import", actor_id, town_id=town_id, read=read, new=new)
    db.session.commit()
    return read, new


OPEN_SHOWN = 200


def summary():
    """Matched totals by category and currency, the oldest open discrepancies (and how many are
    open), the latest resolved ones and locked months."""
    totals = db.session.execute(
        select(StripeBalanceRecord.reporting_category, StripeBalanceRecord.currency, func.count(),
               func.sum(StripeBalanceRecord.amount), func.sum(StripeBalanceRecord.fee))
        .where(StripeBalanceRecord.matched.is_(True))
        .group_by(StripeBalanceRecord.reporting_category, StripeBalanceRecord.currency)
        .order_by(StripeBalanceRecord.reporting_category, StripeBalanceRecord.currency)).all()
    return {
        "totals": [dict(category=c, currency=cur, count=n, amount=a or 0, fee=f or 0) for c, cur, n, a, f in totals],
        "by_method": totals_by_method(),
        "open": db.session.scalars(select(Discrepancy).where(Discrepancy.resolved_at.is_(None))
                                   .order_by(Discrepancy.occurred_at, Discrepancy.id).limit(OPEN_SHOWN)).all(),
        "open_count": db.session.scalar(select(func.count()).select_from(Discrepancy)
                                        .where(Discrepancy.resolved_at.is_(None))),
        "resolved": db.session.scalars(select(Discrepancy).where(Discrepancy.resolved_at.is_not(None))
                                       .order_by(Discrepancy.resolved_at.desc()).limit(20)).all(),
        "locked": db.session.scalars(select(ReconciliationPeriod).order_by(ReconciliationPeriod.month.desc())).all(),
        "cursor": db.session.get(StripeSyncCursor, "balance_transactions"),
        "imported": db.session.get(StripeSyncCursor, IMPORT_CURSOR),
    }


def totals_by_method():
    """Matched charges and refunds by the payment method that paid (card, WeChat Pay, Alipay):
    count, amount and Stripe's fee in each settlement currency, since each method has its own fee."""
    record = StripeBalanceRecord
    charges = (select(Payment.payment_method_type, record.reporting_category, record.currency, func.count(),
                      func.sum(record.amount), func.sum(record.fee))
               .join(Payment, Payment.balance_transaction_id == record.id)
               .where(record.matched.is_(True), record.reporting_category == "charge")
               .group_by(Payment.payment_method_type, record.reporting_category, record.currency))
    refunds = (select(Payment.payment_method_type, record.reporting_category, record.currency, func.count(),
                      func.sum(record.amount), func.sum(record.fee))
               .join(Refund, Refund.stripe_refund_id == record.source_id)
               .join(Payment, Payment.id == Refund.payment_id)
               .where(record.matched.is_(True), record.reporting_category == "refund")
               .group_by(Payment.payment_method_type, record.reporting_category, record.currency))
    from marketplace.presales.models import PreSalePayment  # pre-orders' deposits and balances, charged as any

    presale_charges = (select(PreSalePayment.payment_method_type, record.reporting_category, record.currency,
                              func.count(), func.sum(record.amount), func.sum(record.fee))
                       .join(PreSalePayment, PreSalePayment.balance_transaction_id == record.id)
                       .where(record.matched.is_(True), record.reporting_category == "charge")
                       .group_by(PreSalePayment.payment_method_type, record.reporting_category, record.currency))
    merged = {}
    for m, c, cur, n, a, f in [*db.session.execute(charges), *db.session.execute(refunds),
                               *db.session.execute(presale_charges)]:
        key = (m or "card", c, cur)
        was = merged.get(key, (0, 0, 0))
        merged[key] = (was[0] + n, was[1] + (a or 0), was[2] + (f or 0))
    return [dict(method=m, category=c, currency=cur, count=n, amount=a, fee=f)
            for (m, c, cur), (n, a, f) in sorted(merged.items())]


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
    if end.date() > (today or local_today()):
        raise Conflict("A month can be locked only after it ends.")
    if db.session.scalar(select(ReconciliationPeriod.id).filter_by(month=month)) is not None:
        raise Conflict("That month is already locked.")
    synced = [cursor.synced_at for cursor in db.session.scalars(select(StripeSyncCursor).where(
        StripeSyncCursor.name.in_(("balance_transactions", IMPORT_CURSOR))))]
    if not synced or max(synced) < end:
        raise Conflict("Pull from Stripe (or import its export) after the month ends before locking it.")
    still_open = db.session.scalar(select(func.count()).select_from(Discrepancy).where(
        Discrepancy.resolved_at.is_(None), Discrepancy.occurred_at >= start, Discrepancy.occurred_at < end))
    if still_open:
        raise Conflict("%(count)s discrepancies in %(month)s are still open.", count=still_open, month=month)
    period = ReconciliationPeriod(month=month, locked_by_id=actor_id)
    db.session.add(period)
    db.session.flush()
    audit("reconciliation.lock", actor_id, period, town_id=town_id, month=month)
    db.session.commit()
    return period
