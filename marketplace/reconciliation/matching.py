"""Matching Stripe records to the ledger in a few set-based statements, whatever their number.

Rows are staged in a temporary table (PostgreSQL `COPY`, batched inserts on SQLite) together
with every record still unmatched from before, and one join per kind finds each one's Payment
or Refund and the ledger's entry for it: `pay:{payment}` (rule 1, on stripe_receivable),
`fee:{payment}` (rule 7, on payment_fees), `refund:{refund}` (rule 8, out of stripe_receivable)
and `stripe_payout:{payout}` (rule 11). A charge matches when Stripe's amount is the ledger's
receipt (or, settled in another currency, the payment's settlement amount) and Stripe's fee,
the payment's fee and the ledger's fee agree; a refund when Stripe's amount is what the ledger
paid back. What does not match is a discrepancy; what matches closes any it had.
"""
from sqlalchemy import BigInteger, Boolean, Column, DateTime, MetaData, String, Table, bindparam, func, select, text

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.attribution import post_stripe_payout
from marketplace.ledger.rules.names import PAYMENT_FEE, PAYMENT_RECEIVED, PRESALE_PAYMENT, PRESALE_REFUND
from marketplace.ledger.services import account_id
from marketplace.reconciliation.models import StripeBalanceRecord

AUTO_NOTE = "Matched on a later pull."
BATCH_ROWS = 10_000

staged = Table(
    "stripe_staged", MetaData(),
    Column("id", String(80)), Column("object_type", String(20)), Column("reporting_category", String(40)),
    Column("source_id", String(80)), Column("amount", BigInteger), Column("fee", BigInteger),
    Column("currency", String(3)), Column("created_at", DateTime), Column("is_new", Boolean),
    prefixes=["TEMPORARY"],
)
STAGED_COLUMNS = [column.name for column in staged.columns]


def _sql(statement, **types):
    return text(statement).bindparams(*(bindparam(name, type_=type_) for name, type_ in types.items()))


def stage(rows):
    """Load staging rows (see export.staging_row) into a fresh temporary table; returns how many."""
    connection = db.session.connection()
    staged.drop(connection, checkfirst=True)
    staged.create(connection)
    if connection.dialect.name == "postgresql":
        return _copy(connection, rows)
    count, batch = 0, []
    for row in rows:
        batch.append(dict(zip(STAGED_COLUMNS, (*row, True))))
        if len(batch) == BATCH_ROWS:
            connection.execute(staged.insert(), batch)
            count, batch = count + len(batch), []
    if batch:
        connection.execute(staged.insert(), batch)
    return count + len(batch)


def _copy(connection, rows):
    cursor = connection.connection.driver_connection.cursor()
    count = 0
    with cursor.copy(f"COPY stripe_staged ({', '.join(STAGED_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*row, True))
            count += 1
    return count


# One row per staged record, with what it matched and, if it did not, why.
MATCH = """
CREATE TEMPORARY TABLE stripe_match AS
WITH found AS (
  SELECT s.*, COALESCE(by_transaction.id, by_charge.id) AS payment_id, refund.id AS refund_id,
         COALESCE(pre_by_transaction.id, pre_by_charge.id) AS presale_payment_id,
         CASE WHEN pre_refund.id IS NOT NULL THEN 'presale:refund:' || CAST(pre_refund.id AS VARCHAR)
              WHEN pre_excess.id IS NOT NULL THEN 'presale:excess:' || CAST(pre_excess.id AS VARCHAR)
         END AS presale_refund_key,
         COALESCE(pre_by_transaction.preorder_id, pre_by_charge.preorder_id, pre_refund.preorder_id,
                  pre_excess.preorder_id) AS preorder_id
  FROM stripe_staged s
  LEFT JOIN payments by_transaction
    ON s.reporting_category = 'charge' AND by_transaction.balance_transaction_id = s.id
  LEFT JOIN payments by_charge
    ON s.reporting_category = 'charge' AND by_transaction.id IS NULL AND by_charge.stripe_charge_id = s.source_id
  LEFT JOIN refunds refund ON s.reporting_category = 'refund' AND refund.stripe_refund_id = s.source_id
  -- A pre-order's deposit or balance (presales/), and what of it was given back (whole, or a pro-rata excess).
  LEFT JOIN presale_payments pre_by_transaction
    ON s.reporting_category = 'charge' AND by_transaction.id IS NULL AND by_charge.id IS NULL
    AND pre_by_transaction.balance_transaction_id = s.id
  LEFT JOIN presale_payments pre_by_charge
    ON s.reporting_category = 'charge' AND by_transaction.id IS NULL AND by_charge.id IS NULL
    AND pre_by_transaction.id IS NULL AND pre_by_charge.stripe_charge_id = s.source_id
  LEFT JOIN presale_payments pre_refund
    ON s.reporting_category = 'refund' AND refund.id IS NULL AND pre_refund.stripe_refund_id = s.source_id
  LEFT JOIN presale_payments pre_excess
    ON s.reporting_category = 'refund' AND refund.id IS NULL AND pre_refund.id IS NULL
    AND pre_excess.excess_refund_id = s.source_id
), refund_ledger AS (
  -- From the refunds, which are few: joined from the staged side it would hash every entry.
  SELECT refund.id AS refund_id, refunded.amount_fen
  FROM refunds refund
  JOIN journal_entries refund_entry ON refund_entry.idempotency_key = 'refund:' || CAST(refund.id AS VARCHAR)
  JOIN postings refunded ON refunded.entry_id = refund_entry.id AND refunded.account_id = :receivable
), ledger AS (
  SELECT found.*, p.order_id,
         COALESCE('order ' || CAST(p.order_id AS VARCHAR), 'pre-order ' || CAST(found.preorder_id AS VARCHAR),
                  'order ' || CAST(refund_order.order_id AS VARCHAR), '') AS subject,
         COALESCE(p.currency, CASE WHEN pp.id IS NOT NULL THEN 'cny' END) AS payment_currency,
         COALESCE(p.fee_fen, pp.fee_fen) AS payment_fee,
         CASE WHEN p.id IS NOT NULL AND (p.settlement_currency IS NULL OR p.balance_transaction_id IS NULL)
              THEN TRUE ELSE FALSE END AS unsettled,
         COALESCE(p.settlement_amount, found.amount) AS settlement_amount,
         COALESCE(receipt.amount_fen, pre_receipt.amount_fen, 0) AS receipt_fen,
         COALESCE(fee.amount_fen, 0) + COALESCE(late_fee.amount_fen, 0) + COALESCE(pre_fee.amount_fen, 0) AS ledger_fee,
         -COALESCE(refund_ledger.amount_fen, pre_refunded.amount_fen, 0) AS refunded_fen
  FROM found
  LEFT JOIN payments p ON p.id = found.payment_id
  LEFT JOIN presale_payments pp ON pp.id = found.presale_payment_id
  LEFT JOIN refunds refund_order ON refund_order.id = found.refund_id
  -- The rule narrows what is hashed from every entry to one kind of entry.
  LEFT JOIN journal_entries pay_entry ON pay_entry.rule = :payment_rule
    AND pay_entry.idempotency_key = 'pay:' || CAST(found.payment_id AS VARCHAR)
  LEFT JOIN postings receipt
    ON receipt.entry_id = pay_entry.id AND receipt.account_id = :receivable AND receipt.amount_fen > 0
  LEFT JOIN journal_entries fee_entry ON fee_entry.rule = :fee_rule
    AND fee_entry.idempotency_key = 'fee:' || CAST(found.payment_id AS VARCHAR)
  LEFT JOIN postings fee ON fee.entry_id = fee_entry.id AND fee.account_id = :payment_fees
  -- A fee Stripe reported after attribution (rule 7, late): at most one per payment.
  LEFT JOIN journal_entries late_fee_entry ON late_fee_entry.rule = :fee_rule
    AND late_fee_entry.idempotency_key = 'fee:' || CAST(found.payment_id AS VARCHAR) || '\\:late'
  LEFT JOIN postings late_fee ON late_fee.entry_id = late_fee_entry.id AND late_fee.account_id = :payment_fees
  LEFT JOIN refund_ledger ON refund_ledger.refund_id = found.refund_id
  -- A pre-order's payment: held on receipt (`presale:pay:`), its fee (`presale:fee:`), its refunds.
  LEFT JOIN journal_entries pre_pay_entry ON pre_pay_entry.rule = :presale_payment_rule
    AND pre_pay_entry.idempotency_key = 'presale:pay:' || CAST(found.presale_payment_id AS VARCHAR)
  LEFT JOIN postings pre_receipt
    ON pre_receipt.entry_id = pre_pay_entry.id AND pre_receipt.account_id = :receivable AND pre_receipt.amount_fen > 0
  LEFT JOIN journal_entries pre_fee_entry ON pre_fee_entry.rule = :fee_rule
    AND pre_fee_entry.idempotency_key = 'presale:fee:' || CAST(found.presale_payment_id AS VARCHAR)
  LEFT JOIN postings pre_fee ON pre_fee.entry_id = pre_fee_entry.id AND pre_fee.account_id = :payment_fees
  LEFT JOIN journal_entries pre_refund_entry ON pre_refund_entry.rule = :presale_refund_rule
    AND pre_refund_entry.idempotency_key = found.presale_refund_key
  LEFT JOIN postings pre_refunded ON pre_refunded.entry_id = pre_refund_entry.id AND pre_refunded.account_id = :receivable
), judged AS (
  SELECT ledger.*,
    CASE reporting_category
      WHEN 'charge' THEN CASE
        WHEN (payment_id IS NULL AND presale_payment_id IS NULL) OR receipt_fen = 0 THEN 'missing_in_ledger'
        WHEN currency = payment_currency AND amount <> receipt_fen THEN 'amount_differs'
        WHEN currency <> payment_currency AND amount <> settlement_amount THEN 'amount_differs' END
      WHEN 'refund' THEN CASE
        WHEN (refund_id IS NULL AND presale_refund_key IS NULL) OR refunded_fen = 0 THEN 'missing_in_ledger'
        WHEN currency = 'cny' AND -amount <> refunded_fen THEN 'amount_differs' END
      WHEN 'payout' THEN CASE WHEN currency <> 'cny' OR amount >= 0 THEN 'missing_in_ledger' END
      ELSE 'missing_in_ledger' END AS problem,
    CASE WHEN reporting_category = 'charge' AND (payment_id IS NOT NULL OR presale_payment_id IS NOT NULL)
              AND receipt_fen <> 0
              AND (fee <> payment_fee OR ledger_fee <> payment_fee) THEN TRUE ELSE FALSE END AS fee_differs
  FROM ledger
)
SELECT judged.*,
  CASE reporting_category
    WHEN 'charge' THEN CASE
      WHEN payment_id IS NULL AND presale_payment_id IS NULL THEN 'charge ' || source_id || ' has no payment'
      WHEN receipt_fen = 0 THEN subject || ' not posted'
      WHEN currency = payment_currency THEN subject || ' receipt'
      ELSE 'settlement amount' END
    WHEN 'refund' THEN CASE
      WHEN refund_id IS NULL AND presale_refund_key IS NULL THEN 'refund ' || source_id || ' not recorded'
      WHEN refunded_fen = 0 THEN COALESCE('refund ' || CAST(refund_id AS VARCHAR), subject) || ' not posted'
      ELSE COALESCE('refund ' || CAST(refund_id AS VARCHAR), subject || ' refund') END
    WHEN 'payout' THEN 'payout in ' || UPPER(currency)
    ELSE 'unexpected category ' || reporting_category END AS detail,
  CASE reporting_category
    WHEN 'charge' THEN CASE WHEN receipt_fen = 0 THEN NULL
                            WHEN currency = payment_currency THEN receipt_fen ELSE settlement_amount END
    WHEN 'refund' THEN CASE WHEN refunded_fen = 0 THEN NULL ELSE refunded_fen END END AS ledger_amount,
  CASE reporting_category
    WHEN 'charge' THEN COALESCE('payment:' || CAST(payment_id AS VARCHAR),
                                'presale_payment:' || CAST(presale_payment_id AS VARCHAR))
    WHEN 'refund' THEN COALESCE('refund:' || CAST(refund_id AS VARCHAR), presale_refund_key)
    WHEN 'payout' THEN 'stripe_payout:' || source_id END AS matched_to,
  CASE WHEN problem IS NULL AND NOT fee_differs THEN TRUE ELSE FALSE END AS matched
FROM judged
"""

DISCREPANCY_COLUMNS = ("kind, reference, reporting_category, stripe_amount, ledger_amount, currency, detail, "
                       "occurred_at, detected_at, resolution_note")
# Grouped, so a transaction listed twice in one export opens (or updates) its discrepancy once.
OPEN_DISCREPANCIES = f"""
INSERT INTO reconciliation_discrepancies ({DISCREPANCY_COLUMNS})
SELECT kind, reference, MIN(reporting_category), MIN(stripe_amount), MIN(ledger_amount), MIN(currency),
       MIN(detail), MIN(occurred_at), :now, ''
FROM (
  SELECT problem AS kind, id AS reference, reporting_category,
         CASE WHEN reporting_category IN ('refund', 'payout') THEN -amount ELSE amount END AS stripe_amount,
         CASE WHEN problem = 'amount_differs' THEN ledger_amount END AS ledger_amount, currency,
         SUBSTR(detail, 1, 300) AS detail, created_at AS occurred_at
  FROM stripe_match WHERE problem IS NOT NULL
  UNION ALL
  SELECT 'amount_differs', id || '\\:fee', reporting_category, fee, ledger_fee, currency,
         subject || ' fee', created_at
  FROM stripe_match WHERE fee_differs
) problems
GROUP BY kind, reference
ON CONFLICT (kind, reference) DO UPDATE
SET stripe_amount = excluded.stripe_amount, ledger_amount = excluded.ledger_amount
WHERE reconciliation_discrepancies.resolved_at IS NULL
"""


def match_staged():
    """Match the staged rows and every earlier unmatched record; keep the new ones. Returns how
    many records were new. Runs in the session's transaction; the caller commits."""
    connection = db.session.connection()
    now = utcnow()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL work_mem = '64MB'"))  # the joins hash in memory, not on disk
    connection.execute(text(
        "DELETE FROM stripe_staged WHERE id IN (SELECT id FROM stripe_balance_records)"))
    connection.execute(text(
        f"INSERT INTO stripe_staged ({', '.join(STAGED_COLUMNS)}) "
        "SELECT id, object_type, reporting_category, source_id, amount, fee, currency, stripe_created_at, FALSE "
        "FROM stripe_balance_records WHERE NOT matched"))
    _post_payouts(connection)
    connection.execute(text("DROP TABLE IF EXISTS stripe_match"))
    connection.execute(text(MATCH), {"receivable": account_id("stripe_receivable"),
                                     "payment_fees": account_id("payment_fees"),
                                     "payment_rule": PAYMENT_RECEIVED, "fee_rule": PAYMENT_FEE,
                                     "presale_payment_rule": PRESALE_PAYMENT, "presale_refund_rule": PRESALE_REFUND})
    new = connection.execute(_sql(
        "INSERT INTO stripe_balance_records (id, object_type, reporting_category, source_id, amount, fee, currency, "
        "stripe_created_at, matched, matched_to, pulled_at) "
        "SELECT id, object_type, reporting_category, source_id, amount, fee, currency, created_at, matched, "
        "CASE WHEN matched THEN matched_to ELSE '' END, :now FROM stripe_match WHERE is_new ORDER BY id "
        "ON CONFLICT (id) DO NOTHING", now=DateTime()), {"now": now}).rowcount
    connection.execute(text(
        "UPDATE stripe_balance_records SET matched = TRUE, "
        "matched_to = (SELECT m.matched_to FROM stripe_match m WHERE m.id = stripe_balance_records.id) "
        "WHERE id IN (SELECT id FROM stripe_match WHERE matched AND NOT is_new)"))
    _settle_payments(connection)
    connection.execute(_sql(OPEN_DISCREPANCIES, now=DateTime()), {"now": now})
    connection.execute(_sql(
        "UPDATE reconciliation_discrepancies SET resolved_at = :now, resolution_note = :note "
        "WHERE resolved_at IS NULL AND (reference IN (SELECT id FROM stripe_match WHERE matched) "
        "OR reference IN (SELECT id || '\\:fee' FROM stripe_match WHERE matched))", now=DateTime()),
        {"now": now, "note": AUTO_NOTE})
    _flag_missing_in_stripe(connection, now)
    connection.execute(text("DROP TABLE stripe_match"))
    connection.execute(text("DROP TABLE stripe_staged"))
    return new


def _post_payouts(connection):
    """Rule 11 for each CNY payout seen for the first time (a handful a day, so one by one)."""
    payouts = connection.execute(text(
        "SELECT source_id, amount FROM stripe_staged WHERE reporting_category = 'payout' AND currency = 'cny' "
        "AND amount < 0 ORDER BY created_at")).all()
    for payout_id, amount in payouts:
        post_stripe_payout(payout_id, -amount)


def _settle_payments(connection):
    """A charge's settlement currency and amount, and its balance transaction, onto its Payment."""
    connection.execute(text(
        "UPDATE payments SET "
        "settlement_currency = COALESCE(settlement_currency, (SELECT m.currency FROM stripe_match m "
        "  WHERE m.payment_id = payments.id ORDER BY m.id LIMIT 1)), "
        "settlement_amount = COALESCE(settlement_amount, (SELECT m.amount FROM stripe_match m "
        "  WHERE m.payment_id = payments.id ORDER BY m.id LIMIT 1)), "
        "balance_transaction_id = COALESCE(balance_transaction_id, (SELECT m.id FROM stripe_match m "
        "  WHERE m.payment_id = payments.id ORDER BY m.id LIMIT 1)) "
        "WHERE id IN (SELECT payment_id FROM stripe_match WHERE unsettled)"))


def _flag_missing_in_stripe(connection, now):
    """Succeeded payments and refunds older than the newest transaction that Stripe never showed."""
    newest = db.session.scalar(select(func.max(StripeBalanceRecord.stripe_created_at)).where(
        StripeBalanceRecord.object_type == "balance_transaction"))
    if newest is None:
        return
    connection.execute(_sql(f"""
        INSERT INTO reconciliation_discrepancies ({DISCREPANCY_COLUMNS})
        SELECT 'missing_in_stripe', 'payment:' || CAST(p.id AS VARCHAR), 'charge', CAST(NULL AS BIGINT), p.amount_fen, p.currency,
               'order ' || CAST(p.order_id AS VARCHAR), p.succeeded_at, :now, ''
        FROM payments p
        WHERE p.status = 'succeeded' AND p.succeeded_at <= :newest
          AND NOT EXISTS (SELECT 1 FROM stripe_balance_records r WHERE r.source_id = p.stripe_charge_id)
          AND NOT EXISTS (SELECT 1 FROM stripe_balance_records r WHERE r.id = p.balance_transaction_id)
        UNION ALL
        SELECT 'missing_in_stripe', 'refund:' || CAST(f.id AS VARCHAR), 'refund', CAST(NULL AS BIGINT), f.amount_fen, 'cny',
               'order ' || CAST(f.order_id AS VARCHAR), f.created_at, :now, ''
        FROM refunds f
        WHERE f.status = 'succeeded' AND f.created_at <= :newest AND f.stripe_refund_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM stripe_balance_records r WHERE r.source_id = f.stripe_refund_id)
        ON CONFLICT (kind, reference) DO NOTHING""", now=DateTime(), newest=DateTime()),
        {"now": now, "newest": newest})
