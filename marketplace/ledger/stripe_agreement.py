"""The ledger compared with what Stripe recorded, as of the last reconciliation pull (or import).

Independent of the `matched` flags the reconciliation wrote when it pulled: every pulled record
is compared again with the ledger as it is now (a charge with its `pay:` receipt and the fees
posted for its payment, a refund with its `refund:` entry, a payout with its `stripe_payout:`
entry), and every receipt, refund and Stripe payout the ledger holds from before the newest
record is looked for in what Stripe showed. A difference staff resolved with a note (see
reconciliation) is accepted; any other is reported, and so is every discrepancy still open from
before the pull.
"""
from dataclasses import dataclass, field

from sqlalchemy import func, select, text

from marketplace.extensions import db
from marketplace.ledger.rules.names import PAYMENT_FEE, PAYMENT_RECEIVED, REFUND_PAID, STRIPE_PAYOUT
from marketplace.ledger.models import Account
from marketplace.local_time import format_local
from marketplace.reconciliation.models import Discrepancy, StripeBalanceRecord, StripeSyncCursor

PULL_CURSORS = ("balance_transactions", "payouts", "export_import")


@dataclass
class Difference:
    message: str
    ids: dict


@dataclass
class Agreement:
    pulled_at: object = None
    compared: int = 0
    differences: list = field(default_factory=list)


STRIPE_AGAINST_LEDGER = """
SELECT r.id, r.reporting_category, r.source_id, r.amount, r.fee, r.currency, pay.id AS payment_id,
       pay.currency AS payment_currency, refund.id AS refund_id,
       (SELECT SUM(p.amount_fen) FROM journal_entries e JOIN postings p ON p.entry_id = e.id
        WHERE e.idempotency_key = 'pay:' || CAST(pay.id AS VARCHAR) AND e.rule = :payment_rule
          AND p.account_id = :receivable) AS receipt_fen,
       (SELECT SUM(p.amount_fen) FROM journal_entries e JOIN postings p ON p.entry_id = e.id
        WHERE e.order_id = pay.order_id AND e.rule = :fee_rule AND p.account_id = :payment_fees) AS fee_fen,
       (SELECT -SUM(p.amount_fen) FROM journal_entries e JOIN postings p ON p.entry_id = e.id
        WHERE e.idempotency_key = 'refund:' || CAST(refund.id AS VARCHAR) AND e.rule = :refund_rule
          AND p.account_id = :receivable) AS refunded_fen,
       (SELECT SUM(p.amount_fen) FROM journal_entries e JOIN postings p ON p.entry_id = e.id
        WHERE e.idempotency_key = 'stripe_payout:' || r.source_id AND p.account_id = :bank) AS paid_out_fen
FROM stripe_balance_records r
LEFT JOIN payments pay ON r.reporting_category = 'charge'
     AND pay.id = (SELECT MIN(p2.id) FROM payments p2
                   WHERE p2.balance_transaction_id = r.id OR p2.stripe_charge_id = r.source_id)
LEFT JOIN refunds refund ON r.reporting_category = 'refund' AND refund.stripe_refund_id = r.source_id
ORDER BY r.stripe_created_at, r.id
"""

LEDGER_NOT_IN_STRIPE = """
SELECT 'payment', pay.id, e.id FROM journal_entries e JOIN payments pay ON e.idempotency_key = 'pay:' || CAST(pay.id AS VARCHAR)
WHERE e.rule = :payment_rule AND pay.succeeded_at <= :newest
  AND NOT EXISTS (SELECT 1 FROM stripe_balance_records r
                  WHERE r.id = pay.balance_transaction_id OR r.source_id = pay.stripe_charge_id)
UNION ALL
SELECT 'refund', f.id, e.id FROM journal_entries e JOIN refunds f ON e.idempotency_key = 'refund:' || CAST(f.id AS VARCHAR)
WHERE e.rule = :refund_rule AND f.created_at <= :newest AND f.stripe_refund_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM stripe_balance_records r WHERE r.source_id = f.stripe_refund_id)
UNION ALL
SELECT 'payout', 0, e.id FROM journal_entries e
WHERE e.rule = :payout_rule AND e.created_at <= :newest
  AND NOT EXISTS (SELECT 1 FROM stripe_balance_records r
                  WHERE e.idempotency_key = 'stripe_payout:' || r.source_id)
"""


def _record_problem(row):
    """What is wrong between one pulled record and the ledger, or None."""
    category = row.reporting_category
    if category == "charge":
        if row.payment_id is None or not row.receipt_fen:
            return f"Stripe charge {row.source_id} of {row.amount} is not in the ledger"
        if row.currency == row.payment_currency and row.amount != int(row.receipt_fen):
            return f"Stripe charged {row.amount}, the ledger received {int(row.receipt_fen)}"
        if row.currency == row.payment_currency and row.fee != int(row.fee_fen or 0):
            return f"Stripe's fee is {row.fee}, the ledger's {int(row.fee_fen or 0)}"
    elif category == "refund":
        if row.refund_id is None or not row.refunded_fen:
            return f"Stripe refund {row.source_id} of {-row.amount} is not in the ledger"
        if row.currency == "cny" and -row.amount != int(row.refunded_fen):
            return f"Stripe refunded {-row.amount}, the ledger {int(row.refunded_fen)}"
    elif category == "payout":
        if row.currency == "cny" and -row.amount != int(row.paid_out_fen or 0):
            return f"Stripe paid out {-row.amount}, the ledger's bank received {int(row.paid_out_fen or 0)}"
    return None


def _account(kind):
    """The id of a platform account, or 0 if it was never used (verify creates nothing)."""
    return db.session.scalar(select(Account.id).where(Account.kind == kind, Account.owner_type == "")) or 0


def compare_with_last_pull():
    """An Agreement: when Stripe was last pulled, how many records were compared, and each difference."""
    agreement = Agreement()
    agreement.pulled_at = db.session.scalar(select(func.max(StripeSyncCursor.synced_at))
                                            .where(StripeSyncCursor.name.in_(PULL_CURSORS)))
    if agreement.pulled_at is None:
        return agreement
    resolved = set(db.session.scalars(select(Discrepancy.reference).where(Discrepancy.resolved_at.is_not(None))))
    parameters = {"receivable": _account("stripe_receivable"), "payment_fees": _account("payment_fees"),
                  "bank": _account("bank"), "payment_rule": PAYMENT_RECEIVED, "fee_rule": PAYMENT_FEE,
                  "refund_rule": REFUND_PAID, "payout_rule": STRIPE_PAYOUT}
    for row in db.session.execute(text(STRIPE_AGAINST_LEDGER), parameters):
        agreement.compared += 1
        problem = _record_problem(row)
        if problem and row.id not in resolved and f"{row.id}:fee" not in resolved:
            ids = {"stripe_record": row.id}
            ids.update({name: getattr(row, name) for name in ("payment_id", "refund_id") if getattr(row, name)})
            agreement.differences.append(Difference(problem, ids))
    newest = db.session.scalar(select(func.max(StripeBalanceRecord.stripe_created_at)))
    if newest is not None:
        for kind, cause_id, entry_id in db.session.execute(text(LEDGER_NOT_IN_STRIPE), {**parameters, "newest": newest}):
            if f"{kind}:{cause_id}" not in resolved:
                ids = {"entry_id": entry_id, **({f"{kind}_id": cause_id} if cause_id else {})}
                agreement.differences.append(Difference(f"the ledger's {kind} is not in Stripe's records", ids))
    for discrepancy in db.session.scalars(select(Discrepancy).where(
            Discrepancy.resolved_at.is_(None), Discrepancy.occurred_at <= agreement.pulled_at)
            .order_by(Discrepancy.occurred_at, Discrepancy.id)):
        agreement.differences.append(Difference(
            f"discrepancy {discrepancy.kind} {discrepancy.reference} ({discrepancy.detail}) open since "
            f"{format_local(discrepancy.occurred_at)} (district time), before the last pull", {"discrepancy_id": discrepancy.id}))
    return agreement
