"""Check every invariant of DESIGN §3 on the live database: `flask --app wsgi ledger verify`.

One function per invariant (`CHECKS`, run in that order), each adding what breaks it, with ids,
to the Report; nothing here writes. Besides re-adding sums, verify re-derives every attribution
entry from its cause (rederive.py), recomputes the hash chain and the signed checkpoints
(chain.py), checks the database's guards are installed *and enabled*, and with `--with-stripe`
compares the ledger with the last reconciliation pull (stripe_agreement.py). Everything that
reads the whole journal streams it, so memory stays flat however long the ledger grows.
"""
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select, text

from marketplace.database import is_postgres
from marketplace.extensions import db
from marketplace.ledger import chain
from marketplace.ledger.balances import available_by_account, owed_and_pending
from marketplace.ledger.guards import EXPECTED_TRIGGERS
from marketplace.ledger.models import Account, JournalEntry, LotAllocation, Posting
from marketplace.ledger.rederive import SHAPE_ONLY, rederive_entries
from marketplace.ledger.rules.names import (
    COOPERATIVE_SALE, DIRECT_SALE, EARNINGS_PAYMENT, FLOOR_PURCHASE, ORDER_ATTRIBUTION_RULES, ORDER_PAYMENT_RULES,
    PAYOUT_APPROVED, RECIPIENT_KINDS, REFUND_FAILED, REFUND_PAID, STORE_CREDIT_ISSUED, STORE_CREDIT_SPENT, SUPPLIER_SALE,
    TRANSFER_REFUND_DEDUCTED, TRANSFER_REFUND_OWED, TRANSFER_REFUND_PAID,
)
from marketplace.orders.models import Order, OrderLine
from marketplace.organisations.models import Requisition
from marketplace.payments.models import Payment, Refund, StoreCreditSpend

SALE_RULES = (DIRECT_SALE, COOPERATIVE_SALE, SUPPLIER_SALE)
SPENDING_RULES = (PAYOUT_APPROVED, EARNINGS_PAYMENT)
SHOWN_PER_INVARIANT = 200  # violations listed per invariant; the count says how many there were


@dataclass
class Violation:
    invariant: str
    message: str
    ids: dict


@dataclass
class Report:
    counts: dict = field(default_factory=dict)
    violations: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # each check's wall time, for an operator timing a long run
    progress: object = None  # progress(step name, items done) for a terminal, or None

    def fail(self, invariant, message, **ids):
        self.violations.append(Violation(invariant, message, ids))

    @property
    def ok(self):
        return not self.violations


def verify_ledger(with_stripe=False, progress=None):
    """Run every check; returns a Report with counts, violations (with ids) and notes."""
    report = Report(progress=progress)
    if is_postgres():  # the whole-ledger statements hash and sort millions of rows: room to do it in memory
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    for check in CHECKS + ((check_stripe_agreement,) if with_stripe else ()):
        started = time.perf_counter()
        check(report)
        report.seconds[check.__name__.removeprefix("check_")] = time.perf_counter() - started
    return report


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def check_entries_balance(report):
    """Every entry has two or more postings summing to zero; the whole ledger sums to zero."""
    postings, ledger_total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Posting.amount_fen), 0)).select_from(Posting)).one()
    report.counts.update(entries=_count(JournalEntry), postings=postings, accounts=_count(Account))
    rows = db.session.execute(
        select(JournalEntry.id, func.count(Posting.id), func.coalesce(func.sum(Posting.amount_fen), 0))
        .outerjoin(Posting, Posting.entry_id == JournalEntry.id).group_by(JournalEntry.id)
        .having((func.count(Posting.id) < 2) | (func.coalesce(func.sum(Posting.amount_fen), 0) != 0))
    ).all()
    for entry_id, legs, total in rows:
        report.fail("entry_balances", f"entry has {legs} postings summing to {int(total)} fen", entry_id=entry_id)
    if int(ledger_total) != 0:  # read with the count: one pass over the postings for both
        report.fail("ledger_sums_to_zero", f"the whole ledger sums to {int(ledger_total)} fen", entry_id=None)


def _in(values):
    return ", ".join(f"'{value}'" for value in values)  # rule and kind names: constants of this code


ORDERS_THAT_DO_NOT_ADD_UP = f"""
WITH paid AS (SELECT DISTINCT order_id FROM journal_entries
              WHERE rule IN ({_in(ORDER_PAYMENT_RULES)}) AND order_id IS NOT NULL),
credited AS (SELECT e.order_id, -SUM(p.amount_fen) AS fen FROM journal_entries e
             JOIN postings p ON p.entry_id = e.id JOIN ledger_accounts a ON a.id = p.account_id
             WHERE e.rule IN ({_in(ORDER_ATTRIBUTION_RULES)}) AND a.kind IN ({_in(RECIPIENT_KINDS)})
             GROUP BY e.order_id),
pending AS (SELECT e.order_id, SUM(p.amount_fen) AS fen FROM journal_entries e
            JOIN postings p ON p.entry_id = e.id JOIN ledger_accounts a ON a.id = p.account_id
            WHERE e.order_id IS NOT NULL AND a.kind = 'sales_pending' GROUP BY e.order_id),
refunded AS (SELECT r.order_id, SUM(r.amount_fen) AS fen FROM refunds r
             JOIN journal_entries e ON e.refund_id = r.id
             WHERE e.rule IN ('{REFUND_PAID}', '{STORE_CREDIT_ISSUED}', '{TRANSFER_REFUND_OWED}')
             -- a refund Stripe failed after it was posted gave nothing back
             AND NOT EXISTS (SELECT 1 FROM journal_entries f WHERE f.refund_id = r.id AND f.rule = '{REFUND_FAILED}')
             GROUP BY r.order_id),
-- store credit paying part of the order beside its card payment (the whole order: no payment row)
credit AS (SELECT order_id, amount_fen AS fen FROM store_credit_spends WHERE status = 'spent')
SELECT o.id, o.public_no,
       COALESCE(pay.amount_fen + COALESCE(credit.fen, 0), o.total_fen) - COALESCE(refunded.fen, 0) AS expected,
       COALESCE(credited.fen, 0) AS credited, COALESCE(pending.fen, 0) AS pending
FROM paid JOIN orders o ON o.id = paid.order_id
LEFT JOIN payments pay ON pay.order_id = o.id
LEFT JOIN credited ON credited.order_id = o.id
LEFT JOIN pending ON pending.order_id = o.id
LEFT JOIN refunded ON refunded.order_id = o.id
LEFT JOIN credit ON credit.order_id = o.id
WHERE COALESCE(credited.fen, 0) <> COALESCE(pay.amount_fen + COALESCE(credit.fen, 0), o.total_fen) - COALESCE(refunded.fen, 0)
   OR COALESCE(pending.fen, 0) <> 0
ORDER BY o.id
"""

CREDITED_BUT_NEVER_PAID = f"""
SELECT DISTINCT e.order_id FROM journal_entries e
WHERE e.rule IN ({_in(ORDER_ATTRIBUTION_RULES)}) AND e.order_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM journal_entries paid WHERE paid.order_id = e.order_id
                  AND paid.rule IN ({_in(ORDER_PAYMENT_RULES)}))
ORDER BY e.order_id
"""


def check_orders_add_up(report):
    """Each attributed order credited exactly paid − refunded; its sales_pending nets to zero.

    In SQL, returning only the orders that break it: a live ledger has a million orders.
    """
    for order_id, public_no, expected, credited, pending in db.session.execute(text(ORDERS_THAT_DO_NOT_ADD_UP)):
        if int(credited) != int(expected):
            report.fail("order_credits", f"order {public_no} credited {int(credited)} fen, "
                        f"paid − refunded is {int(expected)}", order_id=order_id)
        if int(pending) != 0:
            report.fail("order_credits", f"order {public_no} leaves {int(pending)} fen in sales_pending",
                        order_id=order_id)
    for order_id in db.session.scalars(text(CREDITED_BUT_NEVER_PAID)):
        report.fail("order_credits", "credits posted for an order that was never paid", order_id=order_id)
    attributed = db.session.scalar(select(func.count(func.distinct(JournalEntry.order_id))).where(
        JournalEntry.rule.in_(ORDER_PAYMENT_RULES), JournalEntry.order_id.is_not(None)))
    waiting = db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.status == "succeeded",
        # NOT EXISTS, not NOT IN: PostgreSQL turns it into an anti-join; NOT IN over millions of
        # orders is compared row by row once the subquery's hash outgrows work_mem.
        ~select(JournalEntry.id).where(JournalEntry.order_id == Payment.order_id,
                                       JournalEntry.rule.in_(ORDER_PAYMENT_RULES)).exists()))
    report.counts.update(orders_attributed=attributed, payments_awaiting_attribution=waiting)


# Grouped once and joined, not counted per line: a correlated count per line is a million index probes.
LINES_NOT_ATTRIBUTED_ONCE = f"""
SELECT l.id, COALESCE(sales.times, 0) AS times
FROM order_lines l
JOIN (SELECT DISTINCT order_id FROM journal_entries
      WHERE rule IN ({_in(ORDER_PAYMENT_RULES)}) AND order_id IS NOT NULL) paid ON paid.order_id = l.order_id
LEFT JOIN (SELECT order_line_id, COUNT(*) AS times FROM journal_entries
           WHERE rule IN ({_in(SALE_RULES)}) AND order_line_id IS NOT NULL GROUP BY order_line_id) sales
  ON sales.order_line_id = l.id
WHERE COALESCE(sales.times, 0) <> 1
ORDER BY l.id
"""

LOTS_NOT_BOUGHT_ONCE = f"""
SELECT s.id, COALESCE(bought.times, 0) AS times
FROM supply_lots s
LEFT JOIN (SELECT lot_id, COUNT(*) AS times FROM journal_entries
           WHERE rule = '{FLOOR_PURCHASE}' AND lot_id IS NOT NULL GROUP BY lot_id) bought ON bought.lot_id = s.id
WHERE s.quantity * s.floor_price_fen > 0 AND COALESCE(bought.times, 0) <> 1
ORDER BY s.id
"""


def check_exactly_once(report):
    """One payment entry per order, one sale entry per line of an attributed order, one floor purchase per lot."""
    for order_id, times in db.session.execute(
            # Store credit pays beside a card (its own key, `credit:order:{id}`, posts it once).
            select(JournalEntry.order_id, func.count()).where(JournalEntry.rule.in_(ORDER_PAYMENT_RULES),
                                                              JournalEntry.rule != STORE_CREDIT_SPENT)
            .group_by(JournalEntry.order_id).having(func.count() > 1)).all():
        report.fail("exactly_once", f"order paid {times} times in the ledger", order_id=order_id)
    for line_id, times in db.session.execute(text(LINES_NOT_ATTRIBUTED_ONCE)):
        report.fail("exactly_once", f"order line attributed {times} times", order_line_id=line_id)
    for lot_id, times in db.session.execute(text(LOTS_NOT_BOUGHT_ONCE)):
        report.fail("exactly_once", f"lot's floor purchase posted {times} times", lot_id=lot_id)
    report.counts.update(lots=db.session.scalar(select(func.count(func.distinct(JournalEntry.lot_id))).where(
        JournalEntry.rule == FLOOR_PURCHASE)))


LOTS_OFF_THEIR_ALLOCATIONS = """
SELECT s.id, s.quantity_remaining, s.quantity - COALESCE(taken.units, 0) AS expected
FROM supply_lots s
LEFT JOIN (SELECT lot_id, SUM(lot_units - returned_units) AS units FROM lot_allocations GROUP BY lot_id) taken
  ON taken.lot_id = s.id
WHERE s.quantity_remaining <> s.quantity - COALESCE(taken.units, 0)
ORDER BY s.id
"""


def check_lots(report):
    """A lot's remaining units are its quantity less what was allocated and not returned."""
    for lot_id, remaining, expected in db.session.execute(text(LOTS_OFF_THEIR_ALLOCATIONS)):
        report.fail("lots", f"lot has {remaining} units left, allocations say {int(expected)}", lot_id=lot_id)
    over = db.session.execute(
        select(OrderLine.id).join(LotAllocation, LotAllocation.order_line_id == OrderLine.id)
        .group_by(OrderLine.id, OrderLine.quantity, OrderLine.lot_units)
        .having(func.sum(LotAllocation.lot_units) > OrderLine.quantity * OrderLine.lot_units)).scalars().all()
    for line_id in over:
        report.fail("lots", "more lot units allocated than the line sold", order_line_id=line_id)


def check_never_below_zero(report):
    """After every payout approval or purchase from earnings, the payee's account still owes ≥ 0."""
    running = (select(Posting.entry_id, Posting.account_id, Account.owner_type, Account.owner_id,
                      func.sum(Posting.amount_fen).over(partition_by=Posting.account_id,
                                                        order_by=Posting.entry_id).label("balance"))
               .join(Account, Posting.account_id == Account.id)
               .where(Account.kind.in_(("household_payable", "supplier_payable")))).subquery()
    rows = db.session.execute(
        select(running.c.entry_id, running.c.owner_type, running.c.owner_id, running.c.balance)
        .join(JournalEntry, JournalEntry.id == running.c.entry_id)
        .where(JournalEntry.rule.in_(SPENDING_RULES), running.c.balance > 0)).all()
    for entry_id, owner_type, owner_id, balance in rows:
        report.fail("never_below_zero", f"{owner_type} {owner_id} left at {-int(balance)} fen",
                    entry_id=entry_id, **{f"{owner_type}_id": owner_id})


def check_available_not_negative(report):
    """Now, no household, supplier or love fund has less than nothing available (DESIGN §3
    "Settlement"): a refund never pushed one below zero, and no household was paid floor money its
    cooperative had not funded (`payouts_within_funding`)."""
    accounts = select(Account.id).where(Account.kind.in_(("household_payable", "supplier_payable", "love_fund")))
    owed = owed_and_pending(accounts)
    available = available_by_account(accounts, owed=owed)
    owners = {account: (kind, owner_type, owner_id) for account, kind, owner_type, owner_id in db.session.execute(
        select(Account.id, Account.kind, Account.owner_type, Account.owner_id).where(Account.id.in_(list(available))))}
    for account, fen in sorted(available.items()):
        if fen >= 0:
            continue
        kind, owner_type, owner_id = owners[account]
        total, pending = owed[account]
        unfunded = total - pending >= 0  # only the floor money awaiting funding takes it below zero
        report.fail("payouts_within_funding" if unfunded else "available_not_negative",
                    f"{owner_type} {owner_id} ({kind}) has {fen} fen available", account_id=account,
                    **{f"{owner_type}_id": owner_id})
    report.counts.update(payee_accounts=len(available))


# Only settings that could be empty come back to Python to judge: every falsy JSON value (null,
# false, a zero, {}, [] however spaced) has no double quote, but "", which is two characters trimmed.
MAYBE_EMPTY_SETTINGS = f"""
SELECT id, rule_settings FROM journal_entries
WHERE rule IN ({_in(SALE_RULES + (FLOOR_PURCHASE,))})
  AND (rule_settings IS NULL OR strpos(rule_settings::text, '"') = 0
       OR length(btrim(rule_settings::text, E' \\t\\n\\r')) <= 2)
ORDER BY id
"""


def check_settings_recorded(report):
    """Every attribution entry says which rule and which settings produced it."""
    if is_postgres():
        rows = db.session.execute(text(MAYBE_EMPTY_SETTINGS))
    else:
        rows = db.session.execute(
            select(JournalEntry.id, JournalEntry.rule_settings)
            .where(JournalEntry.rule.in_(SALE_RULES + (FLOOR_PURCHASE,))).order_by(JournalEntry.id)
            .execution_options(yield_per=10_000))
    for entry_id, settings in rows:
        if not settings:
            report.fail("settings_recorded", "attribution entry without its settings", entry_id=entry_id)


def check_rederivation(report):
    """Every entry equals what its rule derives again from its cause (rederive.py), rule by rule."""
    result = rederive_entries(progress=_progress(report, "re-derived"))
    for difference in result.differences[:SHOWN_PER_INVARIANT]:
        report.fail("rederivation", f"{difference.rule} entry: {difference.message}", **difference.ids)
    if len(result.differences) > SHOWN_PER_INVARIANT:
        report.notes.append(f"rederivation: {len(result.differences)} entries differ, the first "
                            f"{SHOWN_PER_INVARIANT} are listed")
    report.counts["entries_rederived"] = sum(result.checked.values())
    shape_only = sum(result.checked.get(rule, 0) for rule in SHAPE_ONLY)
    if shape_only:
        report.notes.append(f"rederivation: {shape_only} entries ({', '.join(SHAPE_ONLY)}) checked for their "
                            "shape only: no cause records their amount")
    for rule, count in sorted(result.not_rederived.items()):
        report.counts[f"not_rederived[{rule}]"] = count
        report.notes.append(f"rederivation: {count} {rule} entries not re-derived: no re-derivation knows rule {rule!r}")


def check_presales_add_up(report):
    """Each pre-order: what its payments brought in less what went back = what it paid its order
    (filled) or its cooperative (forfeited) + what is still held; nothing is held once it closed.

    Read per pre-order from the entries of the pre-sale rules (rules/presales.py), whose settings
    name it; the hold is nobody's income (`presale_deposits` is not a recipient kind)."""
    from marketplace.ledger.rules.names import PRESALE_FILL, PRESALE_FORFEIT, PRESALE_PAYMENT, PRESALE_REFUND
    from marketplace.presales.models import PreOrder, PreSalePayment

    rules = (PRESALE_PAYMENT, PRESALE_FILL, PRESALE_REFUND, PRESALE_FORFEIT)
    held, credited = {}, {}
    for settings, rule, amount in db.session.execute(
            select(JournalEntry.rule_settings, JournalEntry.rule, Posting.amount_fen)
            .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Account.id == Posting.account_id)
            .where(JournalEntry.rule.in_(rules), Account.kind == "presale_deposits")):
        preorder_id = int((settings or {}).get("preorder_id", 0))
        held[preorder_id] = held.get(preorder_id, 0) - int(amount)
        if rule in (PRESALE_FILL, PRESALE_FORFEIT):
            credited[preorder_id] = credited.get(preorder_id, 0) + int(amount)
    paid = {}
    for preorder_id, amount, refunded in db.session.execute(
            select(PreSalePayment.preorder_id, PreSalePayment.amount_fen, PreSalePayment.refunded_fen)
            .where(PreSalePayment.succeeded_at.is_not(None))):
        paid[preorder_id] = paid.get(preorder_id, 0) + int(amount) - int(refunded)
    statuses = dict(db.session.execute(select(PreOrder.id, PreOrder.status)).all())
    for preorder_id in sorted(set(held) | set(paid)):
        expected = paid.get(preorder_id, 0)
        if credited.get(preorder_id, 0) + held.get(preorder_id, 0) != expected:
            report.fail("presale_credits", f"pre-order {preorder_id} credited {credited.get(preorder_id, 0)} fen and "
                        f"holds {held.get(preorder_id, 0)}, paid − refunded is {expected}", preorder_id=preorder_id)
        if statuses.get(preorder_id) in ("filled", "refunded", "forfeited", "cancelled") and held.get(preorder_id, 0):
            report.fail("presale_credits", f"pre-order {preorder_id} is closed but {held[preorder_id]} fen is still held",
                        preorder_id=preorder_id)
    report.counts["preorders_paid"] = len(paid)


STORE_CREDIT_RULES = (STORE_CREDIT_ISSUED, STORE_CREDIT_SPENT)  # what may move a buyer's store credit


def _running_balance_breaches(kind, rules):
    """Entries that moved an account of `kind` by a rule outside `rules`, or left its running balance
    (per account, in entry order) on the debit side: (entry id, owner id, rule, balance)."""
    running = (select(Posting.entry_id, Account.owner_id, JournalEntry.rule,
                      func.sum(Posting.amount_fen).over(partition_by=Posting.account_id,
                                                        order_by=Posting.entry_id).label("balance"))
               .join(Account, Posting.account_id == Account.id).join(JournalEntry, JournalEntry.id == Posting.entry_id)
               .where(Account.kind == kind)).subquery()
    return db.session.execute(
        select(running.c.entry_id, running.c.owner_id, running.c.rule, running.c.balance)
        .where((running.c.balance > 0) | running.c.rule.not_in(rules))).all()


def _credit_balances(kind):
    """Each owner's balance of its account of `kind`, credit-positive."""
    return dict(db.session.execute(
        select(Account.owner_id, -func.sum(Posting.amount_fen)).join(Posting, Posting.account_id == Account.id)
        .where(Account.kind == kind).group_by(Account.owner_id)).all())


def check_store_credit(report):
    """Every buyer's store credit equals what refunds issued to it less what orders spent of it (the
    checkout's holds that the ledger posted), only store-credit rules move it, and no entry ever took
    it below zero (a running balance per account, in entry order)."""
    for entry_id, owner_id, rule, balance in _running_balance_breaches("store_credit", STORE_CREDIT_RULES):
        if rule not in STORE_CREDIT_RULES:
            report.fail("store_credit", f"buyer {owner_id}'s store credit moved by a {rule} entry",
                        entry_id=entry_id, buyer_id=owner_id)
        if balance > 0:
            report.fail("store_credit", f"buyer {owner_id}'s store credit left at {-int(balance)} fen",
                        entry_id=entry_id, buyer_id=owner_id)
    # Issued: the refunds to store credit the ledger has posted, by the refund's own amount (one recorded
    # but not yet posted by its task is not the buyer's to spend yet).
    posted = select(JournalEntry.id).where(JournalEntry.refund_id == Refund.id,
                                           JournalEntry.rule == STORE_CREDIT_ISSUED).exists()
    issued = dict(db.session.execute(
        select(Order.buyer_id, func.sum(Refund.amount_fen)).join(Refund, Refund.order_id == Order.id)
        .where(Refund.method == "store_credit", posted).group_by(Order.buyer_id)).all())
    spent_posted = select(JournalEntry.id).where(JournalEntry.order_id == StoreCreditSpend.order_id,
                                                 JournalEntry.rule == STORE_CREDIT_SPENT).exists()
    for buyer_id, fen in db.session.execute(
            select(StoreCreditSpend.buyer_id, func.sum(StoreCreditSpend.amount_fen)).where(spent_posted)
            .group_by(StoreCreditSpend.buyer_id)).all():
        issued[buyer_id] = int(issued.get(buyer_id) or 0) - int(fen)
    balances = _credit_balances("store_credit")
    for buyer_id in sorted(set(issued) | set(balances), key=lambda value: value or 0):
        expected, held = int(issued.get(buyer_id) or 0), int(balances.get(buyer_id) or 0)
        if expected != held:
            report.fail("store_credit", f"buyer {buyer_id} holds {held} fen of store credit, "
                        f"issued − spent is {expected}", buyer_id=buyer_id)
    report.counts["store_credit_accounts"] = len(balances)


ORGANISATION_REFUND_RULES = (TRANSFER_REFUND_OWED, TRANSFER_REFUND_PAID, TRANSFER_REFUND_DEDUCTED)  # what may move an organisation_refunds account


def check_organisation_refunds(report):
    """What the platform owes each organisation back (refunds of orders it paid by company transfer)
    is moved only by those refunds and their outgoing transfers, never goes below zero (a running
    balance per account, in entry order: no organisation paid back more than it was owed), and
    equals the posted refunds not yet paid back."""
    for entry_id, owner_id, rule, balance in _running_balance_breaches("organisation_refunds",
                                                                        ORGANISATION_REFUND_RULES):
        if rule not in ORGANISATION_REFUND_RULES:
            report.fail("organisation_refunds", f"organisation {owner_id}'s refunds owed moved by a {rule} entry",
                        entry_id=entry_id, organisation_id=owner_id)
        if balance > 0:
            report.fail("organisation_refunds", f"organisation {owner_id} was paid back {int(balance)} fen more "
                        "than it was owed", entry_id=entry_id, organisation_id=owner_id)
    # Owed: the refunds posted as owed and still `owed`, to the organisation whose order request placed the order.
    owed = dict(db.session.execute(
        select(Requisition.organisation_id, func.sum(Refund.amount_fen))
        .join(Refund, Refund.order_id == Requisition.order_id)
        .where(Refund.method == "transfer", Refund.status == "owed",
               select(JournalEntry.id).where(JournalEntry.refund_id == Refund.id,
                                             JournalEntry.rule == TRANSFER_REFUND_OWED).exists())
        .group_by(Requisition.organisation_id)).all())
    balances = _credit_balances("organisation_refunds")
    for organisation_id in sorted(set(owed) | set(balances), key=lambda value: value or 0):
        expected, held = int(owed.get(organisation_id) or 0), int(balances.get(organisation_id) or 0)
        if expected != held:
            report.fail("organisation_refunds", f"organisation {organisation_id} is owed {held} fen in the ledger, "
                        f"its refunds not yet paid back are {expected}", organisation_id=organisation_id)
    report.counts["organisation_refund_accounts"] = len(balances)


def check_hash_chain(report):
    """Every sealed entry still hashes to its link; no link is missing; every entry is sealed or queued."""
    status = chain.verify_chain(progress=_progress(report, "links checked"))
    report.counts.update(chain_links=status.links, entries_awaiting_seal=status.awaiting_seal)
    for position, (seq, entry_id, problem) in enumerate(status.broken[:SHOWN_PER_INVARIANT]):
        first = "first broken link: " if position == 0 else ""
        where = f"link {seq}" if seq is not None else "entry"
        report.fail("hash_chain", f"{first}{where}: {problem}", entry_id=entry_id)
    if status.awaiting_seal:
        report.notes.append(f"hash chain: {status.awaiting_seal} entries wait for the sealer "
                            "(re-derived, not yet chained)")


def check_checkpoints(report):
    """Each signed checkpoint in the audit log still matches the chain: its signature and its head link."""
    for audit_id, problem in chain.checkpoint_problems():
        report.fail("checkpoints", f"checkpoint {audit_id}: {problem}", audit_log_id=audit_id)
    last = chain.last_checkpoint()
    if last:
        report.notes.append(f"last checkpoint: link {last['head_seq']} {last['head_hash'][:16]}… at {last['at']}")


def check_guards(report):
    """The guards of guards.py are installed on their tables, call their functions, and are enabled.

    A trigger switched off (`ALTER TABLE … DISABLE TRIGGER`, or enabled for replicas only) guards
    nothing, so present is not enough: it must fire in an ordinary session (tgenabled 'O' or 'A').
    """
    if db.engine.dialect.name != "postgresql":
        report.notes.append("guards: PostgreSQL triggers; not checkable on SQLite")
        return
    found = {name: (table, function, enabled) for name, table, function, enabled in db.session.execute(text(
        "SELECT t.tgname, c.relname, p.proname, t.tgenabled FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal"))}
    for name, (table, function) in EXPECTED_TRIGGERS.items():
        if name not in found:
            report.fail("guards", f"trigger {name} is missing", table=table)
        elif found[name][:2] != (table, function):
            report.fail("guards", f"trigger {name} is on {found[name][0]} calling {found[name][1]}(), "
                        f"not on {table} calling {function}()", table=table)
        elif found[name][2] not in ("O", "A"):
            report.fail("guards", f"trigger {name} is disabled", table=table)


def check_stripe_agreement(report):
    """The ledger agrees with the last reconciliation pull from Stripe (stripe_agreement.py)."""
    from marketplace.ledger.stripe_agreement import compare_with_last_pull

    agreement = compare_with_last_pull()
    report.counts.update(stripe_records_compared=agreement.compared)
    if agreement.pulled_at is None:
        report.notes.append("stripe: never pulled; nothing to compare")
    for difference in agreement.differences[:SHOWN_PER_INVARIANT]:
        report.fail("stripe_agreement", difference.message, **difference.ids)


def _progress(report, what):
    if report.progress is None:
        return None
    done = [0]

    def step(count):
        done[0] += count
        report.progress(what, done[0])
    return step


CHECKS = (check_entries_balance, check_orders_add_up, check_presales_add_up, check_store_credit,
          check_organisation_refunds, check_exactly_once, check_lots,
          check_never_below_zero, check_available_not_negative, check_settings_recorded, check_rederivation, check_hash_chain, check_checkpoints,
          check_guards)
