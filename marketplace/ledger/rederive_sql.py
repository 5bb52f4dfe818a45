"""The bulk rules re-derived by PostgreSQL, a range of entry ids at a time: the entries it cannot confirm.

`SQL_DOUBTS` restates, set-based, what rederive.py derives for the rules that make up nearly all
of a ledger (payment received, payment fee, shipping, round-up, floor purchase, direct, supplier
and cooperative sale with its profit return split by largest remainder) from the same causes:
the order lines, sellers, payments, orders, lots and lot allocations, and the settings each entry
recorded. It compares the result with the entry's postings and returns the ids of the entries
that differ, whose cause is missing, or whose settings it does not read as the Python rules
would (a rate that is not a plain decimal string, say). Those entries go to the Python
re-derivation, which has the last word: SQL only confirms, it never acquits what Python would
not. Arithmetic is exact (numeric, with div/mod for the roundings), so where a rule's Decimal
rounding could differ from it the entry is doubted, not passed.
"""
from marketplace.ledger.rules import names

SQL_RULES = (names.PAYMENT_RECEIVED, names.PAYMENT_FEE, names.SHIPPING, names.LOVE_FUND_DONATION,
             names.FLOOR_PURCHASE, names.DIRECT_SALE, names.SUPPLIER_SALE, names.COOPERATIVE_SALE)

_RULES = ", ".join(f"'{rule}'" for rule in SQL_RULES)  # constants of this code
_RATE = r"'^-?[0-9]{1,6}(\.[0-9]{1,18})?$'"
_ID = r"'^[0-9]{1,9}$'"


def _rate(field, default_zero=False):
    """A rate recorded as a decimal string, or NULL (doubted) for anything else."""
    missing = f"WHEN rs->'{field}' IS NULL OR rs->'{field}' IN ('null', '\"\"', '0') THEN 0 " if default_zero else ""
    return (f"CASE {missing}WHEN jsonb_typeof(rs->'{field}') = 'string' AND rs->>'{field}' ~ {_RATE} "
            f"THEN (rs->>'{field}')::numeric END")


SQL_DOUBTS = f"""
WITH e AS MATERIALIZED (
  SELECT id, rule, idempotency_key AS key, rule_settings::jsonb AS rs, order_id, order_line_id, lot_id
  FROM journal_entries WHERE id BETWEEN :lo AND :hi AND rule IN ({_RULES})),
sold AS MATERIALIZED (
  SELECT e.id AS entry_id, e.rule, e.rs, l.id AS line_id, l.seller_kind, l.line_total_fen::numeric AS total,
         l.unit_price_fen::numeric AS price, l.lot_units AS units, s.id AS seller_id, s.household_id, s.supplier_id,
         s.cooperative_id,
         CASE e.rule
           WHEN '{names.DIRECT_SALE}' THEN
             CASE WHEN rs->'verified_poor' = 'true' THEN 0
                  WHEN rs->'verified_poor' IS NULL OR rs->'verified_poor' IN ('false', 'null')
                  THEN {_rate('platform_commission_rate')} END
           WHEN '{names.SUPPLIER_SALE}' THEN {_rate('commission_rate')}
           ELSE {_rate('profit_return_rate', default_zero=True)} END AS rate,
         CASE WHEN e.rule <> '{names.COOPERATIVE_SALE}' OR rs->'sharing_rule_id' IS NULL
                   OR rs->'sharing_rule_id' IN ('null', '0') THEN NULL
              WHEN jsonb_typeof(rs->'sharing_rule_id') = 'number' AND rs->>'sharing_rule_id' ~ {_ID}
              THEN (rs->>'sharing_rule_id')::int ELSE -1 END AS sharing_rule_id
  FROM e LEFT JOIN order_lines l ON l.id = e.order_line_id LEFT JOIN sellers s ON s.id = l.seller_id
  WHERE e.rule IN ('{names.DIRECT_SALE}', '{names.SUPPLIER_SALE}', '{names.COOPERATIVE_SALE}')),
allocated AS (  -- rule 4 per allocation, times the line's lot units: r × u × max(0, price − floor × units)
  SELECT c.entry_id, c.units, c.cooperative_id, a.id AS allocation_id, a.household_id,
         c.rate * a.lot_units * GREATEST(0, c.price - a.floor_price_fen::numeric * c.units) AS weight
  FROM sold c JOIN lot_allocations a ON a.order_line_id = c.line_id
  WHERE c.rule = '{names.COOPERATIVE_SALE}' AND c.rate >= 0 AND c.units > 0),
returned AS (  -- the line's return: Σ weight ÷ units rounded half up, exactly
  SELECT *, div(2 * weights + units, 2 * units) AS returned_fen
  FROM (SELECT *, SUM(weight) OVER (PARTITION BY entry_id) AS weights FROM allocated) weighed WHERE weights > 0),
shares AS (  -- largest remainder: floors, then a fen each to the largest remainders, ties to the earlier allocation
  SELECT *, row_number() OVER (PARTITION BY entry_id ORDER BY remainder DESC, allocation_id) AS place,
         returned_fen - SUM(floor_fen) OVER (PARTITION BY entry_id) AS left_over
  FROM (SELECT *, div(returned_fen * weight, weights) AS floor_fen, mod(returned_fen * weight, weights) AS remainder
        FROM returned) split),
expected (entry_id, ok, kind, owner_type, owner_id, fen) AS (
  SELECT e.id, pay.id IS NOT NULL AND pay.order_id = e.order_id, v.*
  FROM e LEFT JOIN payments pay ON pay.id = CASE WHEN split_part(e.key, ':', 2) ~ {_ID}
                                                  THEN split_part(e.key, ':', 2)::int END
  CROSS JOIN LATERAL (VALUES ('stripe_receivable'::text, ''::text, 0, pay.amount_fen::bigint),
                             ('sales_pending', '', 0, -pay.amount_fen)) v
  WHERE e.rule = '{names.PAYMENT_RECEIVED}'
  UNION ALL
  SELECT e.id, (e.rs->'borne_by' IS NULL OR e.rs->'borne_by' = '"platform"') AND fee.fen IS NOT NULL, v.*
  FROM e CROSS JOIN LATERAL (SELECT CASE WHEN e.rs->'fee_fen' IS NULL THEN 0
                                         WHEN jsonb_typeof(e.rs->'fee_fen') = 'number'
                                              AND e.rs->>'fee_fen' ~ '^-?[0-9]{{1,15}}$'
                                         THEN (e.rs->>'fee_fen')::bigint END AS fen) fee
  CROSS JOIN LATERAL (VALUES ('payment_fees', '', 0, fee.fen), ('stripe_receivable', '', 0, -fee.fen)) v
  WHERE e.rule = '{names.PAYMENT_FEE}'
  UNION ALL
  SELECT e.id, o.id IS NOT NULL, v.*
  FROM e LEFT JOIN orders o ON o.id = e.order_id
  CROSS JOIN LATERAL (VALUES ('sales_pending', '', 0, o.shipping_fen::bigint), ('shipping', '', 0, -o.shipping_fen)) v
  WHERE e.rule = '{names.SHIPPING}'
  UNION ALL
  SELECT e.id, o.id IS NOT NULL, v.*
  FROM e LEFT JOIN orders o ON o.id = e.order_id
  CROSS JOIN LATERAL (SELECT COALESCE(o.donation_town_id,
                                      CASE WHEN jsonb_typeof(e.rs->'town_id') = 'number' AND e.rs->>'town_id' ~ {_ID}
                                           THEN (e.rs->>'town_id')::int END) AS id) town
  CROSS JOIN LATERAL (VALUES ('sales_pending', '', 0, o.donation_fen::bigint),
                             ('love_fund', 'town', town.id, -o.donation_fen)) v
  WHERE e.rule = '{names.LOVE_FUND_DONATION}'
  UNION ALL
  SELECT e.id, lot.id IS NOT NULL, v.*
  FROM e LEFT JOIN supply_lots lot ON lot.id = e.lot_id
  CROSS JOIN LATERAL (VALUES ('cooperative_inventory', 'cooperative', lot.cooperative_id,
                              lot.quantity::bigint * lot.floor_price_fen),
                             ('household_payable', 'household', lot.household_id,
                              -(lot.quantity::bigint * lot.floor_price_fen))) v
  WHERE e.rule = '{names.FLOOR_PURCHASE}'
  UNION ALL
  SELECT c.entry_id, c.seller_id IS NOT NULL AND c.seller_kind = 'household' AND c.rate IS NOT NULL, v.*
  FROM sold c CROSS JOIN LATERAL (SELECT round(c.total * c.rate)::bigint AS fen) commission
  CROSS JOIN LATERAL (VALUES ('sales_pending', '', 0, c.total::bigint),
                             ('household_payable', 'household', c.household_id, -(c.total::bigint - commission.fen)),
                             ('platform_fees', '', 0, -commission.fen)) v
  WHERE c.rule = '{names.DIRECT_SALE}'
  UNION ALL
  SELECT c.entry_id, c.seller_id IS NOT NULL AND c.seller_kind = 'supplier' AND c.rate IS NOT NULL, v.*
  FROM sold c CROSS JOIN LATERAL (SELECT round(c.total * c.rate)::bigint AS fen) commission
  CROSS JOIN LATERAL (VALUES ('sales_pending', '', 0, c.total::bigint),
                             ('supplier_payable', 'supplier', c.supplier_id, -(c.total::bigint - commission.fen)),
                             ('platform_fees', '', 0, -commission.fen)) v
  WHERE c.rule = '{names.SUPPLIER_SALE}'
  UNION ALL
  SELECT c.entry_id, c.seller_id IS NOT NULL AND c.seller_kind = 'cooperative' AND c.rate >= 0 AND c.units > 0
         AND (c.sharing_rule_id IS NULL OR EXISTS (SELECT 1 FROM sharing_rules sr WHERE sr.id = c.sharing_rule_id
                                                   AND sr.profit_return_rate = c.rate)), v.*
  FROM sold c
  CROSS JOIN LATERAL (VALUES ('sales_pending', '', 0, c.total::bigint),
                             ('cooperative_revenue', 'cooperative', c.cooperative_id, -c.total::bigint)) v
  WHERE c.rule = '{names.COOPERATIVE_SALE}'
  UNION ALL  -- what the line returns to households is not the cooperative's: once per line
  SELECT entry_id, true, 'cooperative_revenue', 'cooperative', cooperative_id, returned_fen::bigint
  FROM shares WHERE place = 1
  UNION ALL
  SELECT entry_id, true, 'household_payable', 'household', household_id,
         -(floor_fen + CASE WHEN place <= left_over THEN 1 ELSE 0 END)::bigint
  FROM shares),
derived AS (  -- on account ids, as postings are: an account that does not exist keeps a NULL id and differs
  SELECT x.entry_id, a.id AS account_id, SUM(x.fen) AS fen
  FROM expected x LEFT JOIN ledger_accounts a ON a.kind = x.kind AND a.owner_type = x.owner_type AND a.owner_id = x.owner_id
  GROUP BY x.entry_id, a.id, x.kind, x.owner_type, x.owner_id HAVING SUM(x.fen) <> 0),
posted AS (
  SELECT p.entry_id, p.account_id, SUM(p.amount_fen) AS fen
  FROM postings p JOIN e ON e.id = p.entry_id
  WHERE p.entry_id BETWEEN :lo AND :hi
  GROUP BY p.entry_id, p.account_id HAVING SUM(p.amount_fen) <> 0)
SELECT entry_id FROM expected WHERE ok IS NOT TRUE OR fen IS NULL
UNION
SELECT COALESCE(x.entry_id, y.entry_id) FROM posted x FULL JOIN derived y
  ON y.entry_id = x.entry_id AND y.account_id = x.account_id
WHERE x.fen IS DISTINCT FROM y.fen
"""
