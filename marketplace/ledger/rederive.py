"""Every attribution entry derived again from its cause and compared with what was posted.

`rederive_entries` streams the journal in id order, `CHUNK` entries at a time: it reads their
postings and, in a few queries per chunk, their causes (order lines, orders, payments, lots, lot
allocations, refunds, payout items, periods, grants, investments), then asks the rule's
re-derivation in `REDERIVATIONS` what the entry should post. Memory stays what one chunk needs,
plus the accounts and sharing rules (one per owner, not per order). On PostgreSQL the bulk rules
are first re-derived by the database, 100,000 ids a statement (rederive_sql.py); only the entries
it doubts, and those of the other rules, are re-derived here, and what is said here stands.

The re-derivations restate DESIGN §3's rules on their own, not by calling the posting code:
amounts come from the cause (the line's total, the lot's quantity and floor, the allocations
recorded when the units were taken, the refund's lines), the settings from what the entry
recorded in `rule_settings` (rates, poverty status, share weights), cross-checked against the
sharing rule it names. Where a cause holds no amount (a love-fund gift, a company's payment of a
fixed return) only the entry's shape is checked: the right accounts of the right owner, equal
and opposite. A rule with no re-derivation here (one added later) is counted by name, never
passed silently.
"""
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from sqlalchemy import func, or_, select, text

from marketplace.aftersales.models import Claim
from marketplace.catalog.models import Seller, SupplyLot
from marketplace.coops.models import CooperativePeriod, SharingRule
from marketplace.database import is_postgres
from marketplace.extensions import db
from marketplace.funds.models import FixedReturnInvestment, LoveFundGrant
from marketplace.ledger.chain import AccountNames, read
from marketplace.ledger.models import JournalEntry, LotAllocation, Posting
from marketplace.ledger.rederive_sql import SQL_DOUBTS, SQL_RULES
from marketplace.ledger.rules import names
from marketplace.ledger.sql_pass import in_order
from marketplace.ledger.services import among
from marketplace.orders.models import Order, OrderLine
from marketplace.organisations.models import IncomingTransfer, OutgoingTransfer, Requisition
from marketplace.payments.models import Payment, Refund, RefundLine, StoreCreditSpend
from marketplace.payouts.models import CooperativeDeposit, PayoutItem
from marketplace.places.models import ServicePoint, Village
from marketplace.reconciliation.models import StripeBalanceRecord

CHUNK = 5_000
ENTRY_COLUMNS = (JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.rule, JournalEntry.rule_settings,
                 JournalEntry.order_id, JournalEntry.order_line_id, JournalEntry.lot_id, JournalEntry.refund_id,
                 JournalEntry.payout_item_id, JournalEntry.reverses_entry_id)
NOT_REFUNDED_STATUSES = ("failed", "canceled", "cancelled")
STRIPE_RECEIVABLE, SALES_PENDING = ("stripe_receivable", "", 0), ("sales_pending", "", 0)
PLATFORM_FEES, PAYMENT_FEES = ("platform_fees", "", 0), ("payment_fees", "", 0)
SHIPPING, TRANSIT, BANK = ("shipping", "", 0), ("payouts_in_transit", "", 0), ("bank", "", 0)


def household(owner):
    return ("household_payable", "household", owner)


def round_half_up(value):
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split_by_weight(total, weights):
    """Largest remainder, restated: floors of total × w / Σw, the fen left to the largest remainders,
    ties to the earlier weight. `weights` is [(key, weight)]; returns {key: fen}."""
    weights = [(key, Decimal(weight)) for key, weight in weights]
    whole = sum((weight for _key, weight in weights), Decimal(0))
    if whole == 0:
        return {key: 0 for key, _weight in weights}
    exact = [(key, Decimal(abs(total)) * weight / whole) for key, weight in weights]
    parts = {key: int(share) for key, share in exact}
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - int(exact[i][1])), i))
    for i in order[:abs(total) - sum(parts.values())]:
        parts[exact[i][0]] += 1
    sign = -1 if total < 0 else 1
    return {key: sign * fen for key, fen in parts.items()}


class Underivable(Exception):
    """The entry's cause is missing or contradicts it: reported with the entry, like a difference."""


def _rows(model, column, ids):
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return []
    return read(select(model.__table__).where(among(column, ids))).all()


def _by_id(model, ids):
    return {row.id: row for row in _rows(model, model.id, ids)}


def _number(key, position):
    """The id in `key` at `position` (`pay:12` -> 12 at 1); None when there is none."""
    parts = key.split(":")
    return int(parts[position]) if len(parts) > position and parts[position].isdigit() else None


class Causes:
    """What one chunk of entries was posted from, read in a few queries."""

    def __init__(self, entries, postings, lookups):
        self.lookups = lookups
        keyed = {entry.rule: [] for entry in entries}
        for entry in entries:
            keyed[entry.rule].append(entry)
        of = lambda *rules: [entry for rule in rules for entry in keyed.get(rule, ())]  # noqa: E731
        self.lines = _by_id(OrderLine, [e.order_line_id for e in entries])
        self.orders = _by_id(Order, [e.order_id for e in entries])
        self.sellers = _by_id(Seller, [line.seller_id for line in self.lines.values()])
        self.allocations = {}
        for row in sorted(_rows(LotAllocation, LotAllocation.order_line_id, self.lines), key=lambda r: r.id):
            self.allocations.setdefault(row.order_line_id, []).append(row)
        self.payments = _by_id(Payment, [_number(e.idempotency_key, 1) for e in of(names.PAYMENT_RECEIVED)])
        self.lots = _by_id(SupplyLot, [e.lot_id for e in of(names.FLOOR_PURCHASE)])
        refund_entries = of(names.REFUND, names.REFUND_PAID, names.STORE_CREDIT_ISSUED, names.CLAIM,
                            names.TRANSFER_REFUND_OWED, names.TRANSFER_REFUND_PAID, names.TRANSFER_REFUND_DEDUCTED)
        self.refunds = _by_id(Refund, [e.refund_id for e in refund_entries])
        to_organisations = of(names.TRANSFER_REFUND_OWED, names.TRANSFER_REFUND_PAID, names.TRANSFER_REFUND_DEDUCTED,
                              names.TRANSFER_PAYMENT)
        self.requisitions = {row.order_id: row for row in _rows(Requisition, Requisition.order_id,
                                                                [e.order_id for e in to_organisations])}
        self.incoming = {row.paid_order_id: row for row in _rows(IncomingTransfer, IncomingTransfer.paid_order_id,
                                                                 [e.order_id for e in to_organisations])}
        self.outgoing = {row.refund_id: row for row in _rows(OutgoingTransfer, OutgoingTransfer.refund_id,
                                                             [e.refund_id for e in of(names.TRANSFER_REFUND_PAID)])}
        paid_by_transfer = [e.order_id for e in of(names.TRANSFER_PAYMENT)]
        self.refunds_before_payment = {}
        if paid_by_transfer:
            for refund in db.session.scalars(
                    select(Refund).join(Order, Order.id == Refund.order_id)
                    .where(Refund.order_id.in_(paid_by_transfer), Refund.method == "transfer",
                           Refund.status == "deducted")):
                self.refunds_before_payment.setdefault(refund.order_id, []).append(refund)
        self.refund_lines = {}
        for row in _rows(RefundLine, RefundLine.refund_id, self.refunds):
            key = (row.refund_id, row.order_line_id)
            self.refund_lines[key] = self.refund_lines.get(key, 0) + row.amount_fen
        self.spends = {row.order_id: row for row in _rows(StoreCreditSpend, StoreCreditSpend.order_id,
                                                          [e.order_id for e in of(names.STORE_CREDIT_SPENT)])}
        self.claims = {row.refund_id: row
                       for row in _rows(Claim, Claim.refund_id, [e.refund_id for e in of(names.CLAIM)])}
        self.items = _by_id(PayoutItem, [e.payout_item_id for e in entries])
        self.periods = _by_id(CooperativePeriod, [_number(e.idempotency_key, 2) for e in of(names.DIVIDEND)])
        self.grants = _by_id(LoveFundGrant, [_number(e.idempotency_key, 2) for e in of(names.LOVE_FUND_AID)])
        self.deposits = _by_id(CooperativeDeposit, [_number(e.idempotency_key, 1) for e in of(names.COOPERATIVE_DEPOSIT)])
        self.lots_paid = _by_id(SupplyLot, [_number(e.idempotency_key, 1) for e in of(names.FLOOR_PAID_BY_COOPERATIVE)])
        self.investments = _by_id(FixedReturnInvestment, [(e.rule_settings or {}).get("investment_id")
                                                          for e in of(names.FIXED_RETURN)])
        self.stripe_payouts = {row.source_id: row for row in _rows(
            StripeBalanceRecord, StripeBalanceRecord.source_id,
            [(e.rule_settings or {}).get("stripe_payout_id") for e in of(names.STRIPE_PAYOUT)])}
        # Refunds are stateful (each takes its part of what the line or order has left): every
        # refund entry of the lines and orders refunded in this chunk, and what they reverse.
        refunds = of(names.REFUND, names.CLAIM)
        history = read(select(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.refund_id,
                                            JournalEntry.order_id, JournalEntry.order_line_id)
                                     .where(JournalEntry.rule.in_((names.REFUND, names.CLAIM)),
                                            among(JournalEntry.order_id, {e.order_id for e in refunds} or {0}))
                                     .order_by(JournalEntry.id)).all() if refunds else []
        self.refund_history = history
        self.refund_lines_before = {}
        for row in _rows(RefundLine, RefundLine.refund_id, {row.refund_id for row in history}):
            key = (row.refund_id, row.order_line_id)
            self.refund_lines_before[key] = self.refund_lines_before.get(key, 0) + row.amount_fen
        self.refunds.update(_by_id(Refund, {row.refund_id for row in history} - set(self.refunds)))
        originals = [f"attr:line:{e.order_line_id}" for e in refunds if e.order_line_id] + \
            [f"attr:order:{e.order_id}:donation" for e in refunds if not e.order_line_id]
        self.originals = {row.idempotency_key: row for row in read(
            select(*ENTRY_COLUMNS).where(among(JournalEntry.idempotency_key, originals)))} if originals else {}
        self.postings = postings

    def presale_preorder(self, preorder_id):
        from marketplace.presales.models import PreOrder  # pre-sales build on the ledger

        return db.session.get(PreOrder, preorder_id) if preorder_id is not None else None


@dataclass
class Lookups:
    """Read once per run: one row per owner, not per order."""

    accounts: AccountNames = field(default_factory=AccountNames)
    sharing_rules: dict = field(default_factory=dict)
    town_of_point: dict = field(default_factory=dict)

    def __post_init__(self):
        self.sharing_rules = {row.id: row for row in db.session.execute(select(SharingRule.__table__))}
        village_town = dict(db.session.execute(select(Village.id, Village.town_id)).all())
        self.town_of_point = {point: village_town.get(village) for point, village in
                              db.session.execute(select(ServicePoint.id, ServicePoint.village_id))}


def _legs(*pairs):
    legs = {}
    for account, fen in pairs:
        legs[account] = legs.get(account, 0) + int(fen)
    return {account: fen for account, fen in legs.items() if fen}


def _need(value, what):
    if value is None:
        raise Underivable(f"its {what} is missing")
    return value


# --- rule 1, 7, and the other ways an order is paid ------------------------------------------

def payment_received(entry, causes):
    payment = _need(causes.payments.get(_number(entry.idempotency_key, 1)), "payment")
    if payment.order_id != entry.order_id:
        raise Underivable(f"it names order {entry.order_id}, the payment is for order {payment.order_id}")
    return _legs((STRIPE_RECEIVABLE, payment.amount_fen), (SALES_PENDING, -payment.amount_fen))


def payment_fee(entry, causes):
    settings = entry.rule_settings or {}
    if settings.get("borne_by", "platform") != "platform":
        raise Underivable("a payment fee is borne by the platform")
    fee = int(settings.get("fee_fen", 0))
    return _legs((PAYMENT_FEES, fee), (STRIPE_RECEIVABLE, -fee))


def earnings_payment(entry, causes):
    order = _need(causes.orders.get(entry.order_id), "order")
    return _legs((household(order.household_id), order.total_fen), (SALES_PENDING, -order.total_fen))


def cash_payment(entry, causes):
    order = _need(causes.orders.get(entry.order_id), "order")
    town = _need(causes.lookups.town_of_point.get(order.service_point_id), "service point")
    return _legs((("cash_collected", "town", town), order.total_fen), (SALES_PENDING, -order.total_fen))


def transfer_payment(entry, causes):
    """A company transfer matched to its order by reference: exactly what was due, into the bank — the
    order's total, less the refunds recorded before it was paid (an order on pay-after-acceptance terms)."""
    order = _need(causes.orders.get(entry.order_id), "order")
    transfer = int(_need((entry.rule_settings or {}).get("amount_fen"), "transfer amount"))
    incoming = causes.incoming.get(order.id)
    deducted = sum(refund.amount_fen for refund in causes.refunds_before_payment.get(order.id, ()))
    due = order.total_fen - deducted
    if transfer != due:
        raise Underivable(f"the transfer of {transfer} fen is not order {order.id}'s amount due of {due}")
    if incoming is not None and incoming.amount_fen != transfer:
        raise Underivable(f"incoming transfer {incoming.id} is {incoming.amount_fen} fen, the entry says {transfer}")
    return _legs((BANK, due), (SALES_PENDING, -due))


def transfer_refund_deducted(entry, causes):
    """A refund recorded before the organisation paid: deducted from its transfer, settled at once."""
    refund, owed = _organisation_refund(entry, causes)
    order = _need(causes.orders.get(refund.order_id), "order")
    if order.paid_at is None or refund.status != "deducted":
        raise Underivable(f"refund {refund.id} is {refund.status}, not deducted from order {order.id}'s transfer")
    return _legs((owed, refund.amount_fen), (SALES_PENDING, -refund.amount_fen))


# --- rules 2, 4, 6 and supplier lines -----------------------------------------------------------

def _line_and_seller(entry, causes, kind):
    line = _need(causes.lines.get(entry.order_line_id), "order line")
    seller = _need(causes.sellers.get(line.seller_id), "seller")
    if line.seller_kind != kind:
        raise Underivable(f"line {line.id} is sold by a {line.seller_kind}, not a {kind}")
    return line, seller


def direct_sale(entry, causes):
    """Rule 2: no commission from a verified poor household, else the platform's recorded rate."""
    line, seller = _line_and_seller(entry, causes, "household")
    settings = entry.rule_settings or {}
    rate = Decimal(0) if settings.get("verified_poor") else Decimal(settings["platform_commission_rate"])
    commission = round_half_up(line.line_total_fen * rate)
    return _legs((SALES_PENDING, line.line_total_fen), (household(seller.household_id), -(line.line_total_fen - commission)),
                 (PLATFORM_FEES, -commission))


def supplier_sale(entry, causes):
    """A daily-goods line: the supplier is owed the line less its recorded commission rate."""
    line, seller = _line_and_seller(entry, causes, "supplier")
    commission = round_half_up(line.line_total_fen * Decimal((entry.rule_settings or {})["commission_rate"]))
    return _legs((SALES_PENDING, line.line_total_fen),
                 (("supplier_payable", "supplier", seller.supplier_id), -(line.line_total_fen - commission)),
                 (PLATFORM_FEES, -commission))


def cooperative_sale(entry, causes):
    """Rule 4: the line to the cooperative, less r × u × max(0, price − floor) to each supplying household,
    over the lot allocations recorded for the line (FIFO order is their id order)."""
    line, seller = _line_and_seller(entry, causes, "cooperative")
    settings = entry.rule_settings or {}
    rate = Decimal(settings.get("profit_return_rate") or 0)
    rule = causes.lookups.sharing_rules.get(settings.get("sharing_rule_id"))
    if settings.get("sharing_rule_id") and (rule is None or rule.profit_return_rate != rate):
        raise Underivable(f"it records rate {rate}, sharing rule {settings.get('sharing_rule_id')} says "
                          f"{rule.profit_return_rate if rule else 'nothing'}")
    allocations = causes.allocations.get(line.id, [])
    price = Decimal(line.unit_price_fen) / Decimal(line.lot_units)
    exact = [rate * a.lot_units * max(Decimal(0), price - a.floor_price_fen) for a in allocations]
    returned = round_half_up(sum(exact, Decimal(0)))
    shares = split_by_weight(returned, list(enumerate(exact))) if returned else {}
    legs = [(SALES_PENDING, line.line_total_fen),
            (("cooperative_revenue", "cooperative", seller.cooperative_id), -(line.line_total_fen - returned))]
    legs += [(household(a.household_id), -shares.get(i, 0)) for i, a in enumerate(allocations)]
    return _legs(*legs)


def shipping(entry, causes):
    order = _need(causes.orders.get(entry.order_id), "order")
    return _legs((SALES_PENDING, order.shipping_fen), (SHIPPING, -order.shipping_fen))


def love_fund_donation(entry, causes):
    order = _need(causes.orders.get(entry.order_id), "order")
    town = order.donation_town_id or (entry.rule_settings or {}).get("town_id")
    return _legs((SALES_PENDING, order.donation_fen), (("love_fund", "town", town), -order.donation_fen))


# --- rule 3 -----------------------------------------------------------------------------------

def floor_purchase(entry, causes):
    """Rule 3: q × floor at intake, owed by the cooperative's inventory to the supplying household."""
    lot = _need(causes.lots.get(entry.lot_id), "lot")
    amount = lot.quantity * lot.floor_price_fen
    return _legs((("cooperative_inventory", "cooperative", lot.cooperative_id), amount),
                 (household(lot.household_id), -amount))


# --- rule 8 -----------------------------------------------------------------------------------

def _refund(entry, causes):
    """The refund an entry reverses. One Stripe later failed was reversed while it stood (its
    mirror, `refund:{id}:failed`, gives it back), so it is derived as it was posted then."""
    return _need(causes.refunds.get(entry.refund_id), "refund")


def _as_posted_only(entry, causes, this_refund):
    """True for the refund entries checked for their shape only: a failed refund's mirror, a
    refund of a settled sale whose payees could not give everything back (the shortfall the bearer
    took is a decision recorded in its settings), and any refund of an order one of whose refunds
    failed (what was given back before then depends on when each failed)."""
    settings = entry.rule_settings or {}
    if settings.get("refund_failed") or settings.get("shortfall_by_account"):
        return True
    order_refunds = {row.refund_id for row in causes.refund_history if row.order_id == entry.order_id}
    return any(getattr(causes.refunds.get(refund_id), "status", None) in NOT_REFUNDED_STATUSES
               for refund_id in order_refunds | {this_refund.id})


def refund_paid(entry, causes):
    refund = _refund(entry, causes)
    return _legs((SALES_PENDING, refund.amount_fen), (STRIPE_RECEIVABLE, -refund.amount_fen))


def store_credit_issued(entry, causes):
    """A refund to store credit: what the refund says, from sales_pending to its order's buyer's credit."""
    refund = _refund(entry, causes)
    if refund.method != "store_credit":
        raise Underivable(f"refund {refund.id} went to the {refund.method} payment method, not store credit")
    order = _need(causes.orders.get(entry.order_id), "order")
    return _legs((SALES_PENDING, refund.amount_fen), (("store_credit", "buyer", order.buyer_id), -refund.amount_fen))


def store_credit_spent(entry, causes):
    """Store credit paying an order: what checkout held for it, from its buyer's credit into sales_pending."""
    spend = _need(causes.spends.get(entry.order_id), "store-credit hold")
    order = _need(causes.orders.get(entry.order_id), "order")
    if spend.status != "spent":
        raise Underivable(f"the store credit held for order {order.id} is {spend.status}, not spent")
    if spend.buyer_id != order.buyer_id or not 0 < spend.amount_fen <= order.total_fen:
        raise Underivable(f"the store credit held for order {order.id} is not its buyer's or exceeds its total")
    return _legs((("store_credit", "buyer", spend.buyer_id), spend.amount_fen), (SALES_PENDING, -spend.amount_fen))


def _organisation_refund(entry, causes):
    """The refund an organisation is owed, its order's organisation, checked: a refund to the
    organisation's bank, of an order a company transfer paid, placed by that organisation."""
    refund = _refund(entry, causes)
    if refund.method != "transfer":
        raise Underivable(f"refund {refund.id} went to the {refund.method} payment method, not back by bank transfer")
    if causes.incoming.get(refund.order_id) is None:
        raise Underivable(f"order {refund.order_id} was not paid by a company transfer")
    requisition = _need(causes.requisitions.get(refund.order_id), "organisation's order request")
    if int((entry.rule_settings or {}).get("organisation_id", 0)) != requisition.organisation_id:
        raise Underivable(f"it names organisation {(entry.rule_settings or {}).get('organisation_id')}, "
                          f"order {refund.order_id} is organisation {requisition.organisation_id}'s")
    return refund, ("organisation_refunds", "organisation", requisition.organisation_id)


def transfer_refund_owed(entry, causes):
    """A refund of a transfer-paid order: what the refund says, from sales_pending to what the organisation is owed."""
    refund, owed = _organisation_refund(entry, causes)
    return _legs((SALES_PENDING, refund.amount_fen), (owed, -refund.amount_fen))


def transfer_refund_paid(entry, causes):
    """The outgoing bank transfer paying that refund back: exactly the refund, to its organisation, from the bank."""
    refund, owed = _organisation_refund(entry, causes)
    outgoing = _need(causes.outgoing.get(refund.id), "outgoing transfer")
    if outgoing.organisation_id != owed[2] or outgoing.amount_fen != refund.amount_fen:
        raise Underivable(f"outgoing transfer {outgoing.id} sent {outgoing.amount_fen} fen to organisation "
                          f"{outgoing.organisation_id}; refund {refund.id} owes {refund.amount_fen} fen to {owed[2]}")
    return _legs((owed, refund.amount_fen), (BANK, -refund.amount_fen))


def refund_failed(entry, causes):
    """A refund Stripe failed after its reversal was posted: the money back to the buyer is undone."""
    refund = _refund(entry, causes)
    if refund.status not in NOT_REFUNDED_STATUSES:
        raise Underivable(f"refund {refund.id} is {refund.status}: it did not fail")
    return _legs((STRIPE_RECEIVABLE, refund.amount_fen), (SALES_PENDING, -refund.amount_fen))


def refund(entry, causes):
    """Rule 8: after each refund, every recipient of a line has given back its largest-remainder share
    of all that was refunded of the line; shipping, then the round-up, take what the lines leave."""
    this_refund = _refund(entry, causes)
    if _as_posted_only(entry, causes, this_refund):
        posted = causes.postings.get(entry.id, {})
        if sum(posted.values()) != 0 or not any(account == SALES_PENDING for account in posted):
            raise Underivable("a refund entry that does not balance against sales_pending")
        return dict(posted)
    earlier = [row for row in causes.refund_history if row.order_id == entry.order_id and row.id < entry.id]
    if entry.order_line_id:
        # What the sale should have credited (derived again, not as posted): a refund reverses the rule, not a tampering.
        original = _need(causes.originals.get(f"attr:line:{entry.order_line_id}"), "sale entry")
        credited = REDERIVATIONS[original.rule](original, causes)
        # In account-id order, as rule 8 splits them: a tie of remainders goes to the older account.
        id_of = {name: account for account, name in causes.lookups.accounts.names.items()}
        credits = sorted(((account, -fen) for account, fen in credited.items() if account != SALES_PENDING),
                         key=lambda pair: id_of.get(pair[0], 0))
        before = sum(causes.refund_lines_before.get((row.refund_id, entry.order_line_id), 0)
                     for row in earlier if row.order_line_id == entry.order_line_id)
        amount = causes.refund_lines.get((this_refund.id, entry.order_line_id), 0)
        after, done = split_by_weight(before + amount, credits), split_by_weight(before, credits)
        return _legs(*[(account, after[account] - done[account]) for account, _fen in credits],
                     (SALES_PENDING, -amount))
    order = _need(causes.orders.get(entry.order_id), "order")
    what = entry.idempotency_key.rsplit(":", 1)[1]
    parts = {}  # refund id -> (shipping part, donation part), oldest refund first
    shipping_left, donation_left = order.shipping_fen, order.donation_fen
    for refund_id in dict.fromkeys([row.refund_id for row in earlier] + [this_refund.id]):
        taken = _need(causes.refunds.get(refund_id), "refund")
        rest = taken.amount_fen - sum(fen for (rid, _line), fen in causes.refund_lines_before.items() if rid == refund_id)
        ship = min(shipping_left, max(rest, 0))
        give = min(donation_left, max(rest - ship, 0))
        shipping_left, donation_left, parts[refund_id] = shipping_left - ship, donation_left - give, (ship, give)
    ship, give = parts[this_refund.id]
    if what == "shipping":
        return _legs((SHIPPING, ship), (SALES_PENDING, -ship))
    donation = _need(causes.originals.get(f"attr:order:{order.id}:donation"), "round-up entry")
    town = order.donation_town_id or (donation.rule_settings or {}).get("town_id")
    return _legs((("love_fund", "town", town), give), (SALES_PENDING, -give))


# --- after-sales claims --------------------------------------------------------------------------

CLAIM_BEARER_ORDER = ("carrier", "platform", "seller")  # the seller last: left-over fen land on the recipients


def after_sales_claim(entry, causes):
    """A claim's refund of a line: the line's recipients' shares of it as rule 8 takes them (largest
    remainder of all refunded of the line so far), split again across the claim's bearers by the
    percentages its decision records; the seller's part reverses the recipients' credits (a verified
    poor household's profit return on a cooperative's line covered by the cooperative), the
    carrier's is a receivable from the carrier, the platform's a loss."""
    this_refund = _refund(entry, causes)
    settings = entry.rule_settings or {}
    order_refunds = {row.refund_id for row in causes.refund_history if row.order_id == entry.order_id}
    a_refund_failed = any(getattr(causes.refunds.get(refund_id), "status", None) in NOT_REFUNDED_STATUSES
                          for refund_id in order_refunds | {this_refund.id})
    if settings.get("refund_failed") or settings.get("capped_by_account") or a_refund_failed:
        # A failed refund's mirror, a seller that could not give everything back (its balance at the
        # time decided), or an order one of whose refunds failed: checked for its shape, like rule 8.
        posted = causes.postings.get(entry.id, {})
        if sum(posted.values()) != 0 or not any(account == SALES_PENDING for account in posted):
            raise Underivable("a claim entry that does not balance against sales_pending")
        return dict(posted)
    claim = _need(causes.claims.get(this_refund.id), "claim")
    percents = {"seller": claim.seller_percent, "carrier": claim.carrier_percent, "platform": claim.platform_percent}
    if settings.get("percent_by_bearer") != percents:
        raise Underivable(f"it records bearers {settings.get('percent_by_bearer')}, the claim says {percents}")
    line = _need(causes.lines.get(entry.order_line_id), "order line")
    seller = _need(causes.sellers.get(line.seller_id), "seller")
    original = _need(causes.originals.get(f"attr:line:{line.id}"), "sale entry")
    credited = REDERIVATIONS[original.rule](original, causes)
    id_of = {name: account for account, name in causes.lookups.accounts.names.items()}
    credits = sorted(((account, -fen) for account, fen in credited.items() if account != SALES_PENDING),
                     key=lambda pair: id_of.get(pair[0], 0))
    earlier = [row for row in causes.refund_history if row.order_id == entry.order_id and row.id < entry.id
               and row.order_line_id == line.id]
    before = sum(causes.refund_lines_before.get((row.refund_id, line.id), 0) for row in earlier)
    amount = causes.refund_lines.get((this_refund.id, line.id), 0)
    after, done = split_by_weight(before + amount, credits), split_by_weight(before, credits)
    remaining = {account: after[account] - done[account] for account, _fen in credits}
    amounts = split_by_weight(amount, [(bearer, percents[bearer]) for bearer in ("seller", "carrier", "platform")])
    bearers = [bearer for bearer in CLAIM_BEARER_ORDER if amounts[bearer]]
    protected = set(settings.get("protected_household_ids") or ())
    legs = [(SALES_PENDING, -amount)]
    for index, bearer in enumerate(bearers):
        if index == len(bearers) - 1:
            part = dict(remaining)
        else:
            part = split_by_weight(amounts[bearer],
                                   [(account, max(remaining[account], 0)) for account, _fen in credits])
            remaining = {account: remaining[account] - part[account] for account in remaining}
        if bearer == "carrier":
            legs.append((("claims_receivable", "", 0), sum(part.values())))
        elif bearer == "platform":
            legs.append((("refund_losses", "", 0), sum(part.values())))
        else:
            for account, fen in part.items():
                kind, _owner_type, owner = account
                if kind == "household_payable" and line.seller_kind == "cooperative" and owner in protected:
                    legs.append((("claims_receivable", "cooperative", seller.cooperative_id), fen))
                else:
                    legs.append((account, fen))
    return _legs(*legs)


# --- rules 5, 9 (spending), 10, 11, 12, 13 -----------------------------------------------------

def _payee(item):
    if item.household_id is not None:
        return household(item.household_id)
    return ("supplier_payable", "supplier", item.supplier_id)


def payout_approved(entry, causes):
    item = _need(causes.items.get(entry.payout_item_id), "payout item")
    return _legs((_payee(item), item.amount_fen), (TRANSIT, -item.amount_fen))


def payout_paid(entry, causes):
    item = _need(causes.items.get(entry.payout_item_id), "payout item")
    return _legs((TRANSIT, item.amount_fen), (BANK, -item.amount_fen))


def payout_failed(entry, causes):
    item = _need(causes.items.get(entry.payout_item_id), "payout item")
    return _legs((_payee(item), -item.amount_fen), (TRANSIT, item.amount_fen))


def stripe_payout(entry, causes):
    """Rule 11: what Stripe's payout record says, or (not pulled yet) the amount the entry recorded."""
    settings = entry.rule_settings or {}
    pulled = causes.stripe_payouts.get(settings.get("stripe_payout_id"))
    amount = -pulled.amount if pulled is not None else int(settings["amount_fen"])
    return _legs((BANK, amount), (STRIPE_RECEIVABLE, -amount))


def dividend(entry, causes):
    """Rule 5: d × the period's distributable profit, to the members in the shares the entry froze."""
    period = _need(causes.periods.get(_number(entry.idempotency_key, 2)), "cooperative period")
    shares = {int(owner): fen for owner, fen in ((entry.rule_settings or {}).get("shares_fen") or {}).items()}
    pool = round_half_up(period.distributable_profit_fen * Decimal(period.dividend_rate)) if shares else 0
    return _legs((("cooperative_revenue", "cooperative", period.cooperative_id), pool),
                 *[(household(owner), -fen) for owner, fen in shares.items()])


def _months(label):
    match = re.fullmatch(r"(\d{4})(?:-Q([1-4])|-(\d{2}))?", str(label))
    if match is None:
        raise Underivable(f"unknown period {label!r}")
    return 3 if match.group(2) else 1 if match.group(3) else 12


def fixed_return(entry, causes):
    """Rule 12: principal × annual rate × months / 12, split by the holdings the entry recorded."""
    settings = entry.rule_settings or {}
    investment = _need(causes.investments.get(settings.get("investment_id")), "investment")
    amount = round_half_up(investment.principal_fen * Decimal(investment.annual_rate) * _months(settings.get("period"))
                           / 12)
    units = sorted((int(owner), Decimal(held)) for owner, held in (settings.get("units") or {}).items())
    shares = split_by_weight(amount, units)
    return _legs((("fixed_return_receivable", "investment", investment.id), amount),
                 *[(household(owner), -fen) for owner, fen in shares.items()])


def love_fund_aid(entry, causes):
    grant = _need(causes.grants.get(_number(entry.idempotency_key, 2)), "grant")
    if grant.approved_by_id is None:
        raise Underivable(f"grant {grant.id} was never approved")
    return _legs((("love_fund", "town", grant.town_id), grant.amount_fen), (household(grant.household_id), -grant.amount_fen))


def cooperative_deposit(entry, causes):
    """A cooperative's transfer in, once a second staff member approved it: Dr bank, Cr cooperative_deposit[C]."""
    deposit = _need(causes.deposits.get(_number(entry.idempotency_key, 1)), "deposit")
    if deposit.status != "approved":
        raise Underivable(f"deposit {deposit.id} was never approved")
    return _legs((BANK, deposit.amount_fen), (("cooperative_deposit", "cooperative", deposit.cooperative_id),
                                               -deposit.amount_fen))


def floor_paid_by_cooperative(entry, causes):
    """Floor money the cooperative paid the lot's household itself: the amount staff recorded."""
    lot = _need(causes.lots_paid.get(_number(entry.idempotency_key, 1)), "lot")
    amount = int(_need((entry.rule_settings or {}).get("amount_fen"), "recorded amount"))
    return _legs((household(lot.household_id), amount), (("cooperative_deposit", "cooperative", lot.cooperative_id),
                                                         -amount))


def _shape(debit, credit, causes, entry):
    """An entry whose amount no cause holds: exactly `debit` and `credit`, equal and opposite."""
    amount = next((fen for account, fen in causes.postings.get(entry.id, {}).items() if account == debit), 0)
    return _legs((debit, amount), (credit, -amount))


def fixed_return_received(entry, causes):
    investment = (entry.rule_settings or {}).get("investment_id")
    return _shape(BANK, ("fixed_return_receivable", "investment", investment), causes, entry)


def love_fund_gift(entry, causes):
    town = _number(entry.idempotency_key, 1)
    return _shape(("cash_collected", "town", town), ("love_fund", "town", town), causes, entry)


# --- pre-sales (rules/presales.py): deposits and balances held until filled or refunded --------

def _presale_payment(entry, causes):
    from marketplace.presales.models import PreSalePayment  # pre-sales build on the ledger

    payment = _need(db.session.get(PreSalePayment, _number(entry.idempotency_key, 2)), "pre-order payment")
    return payment, _need(causes.presale_preorder(payment.preorder_id), "pre-order")


def presale_payment(entry, causes):
    payment, preorder = _presale_payment(entry, causes)
    if payment.succeeded_at is None:
        raise Underivable("the pre-order's payment never succeeded")
    hold = ("presale_deposits", "presale", preorder.presale_id)
    return _legs((STRIPE_RECEIVABLE, payment.amount_fen), (hold, -payment.amount_fen))


def presale_fill(entry, causes):
    preorder = _need(causes.presale_preorder(_number(entry.idempotency_key, 2)), "pre-order")
    if preorder.order_id != entry.order_id:
        raise Underivable(f"it names order {entry.order_id}, the pre-order was filled as order {preorder.order_id}")
    total = preorder.unit_price_fen * preorder.allocated_quantity
    return _legs((("presale_deposits", "presale", preorder.presale_id), total), (SALES_PENDING, -total))


def presale_refund(entry, causes):
    payment, preorder = _presale_payment(entry, causes)
    excess = entry.idempotency_key.startswith("presale:excess:")
    amount = payment.excess_refunded_fen if excess else payment.refunded_fen - payment.excess_refunded_fen
    return _legs((("presale_deposits", "presale", preorder.presale_id), amount), (STRIPE_RECEIVABLE, -amount))


def presale_forfeit(entry, causes):
    from marketplace.presales.models import PreSale, PreSalePayment

    preorder = _need(causes.presale_preorder(_number(entry.idempotency_key, 2)), "pre-order")
    presale = db.session.get(PreSale, preorder.presale_id)
    held = sum(p.amount_fen - p.refunded_fen for p in db.session.scalars(
        select(PreSalePayment).where(PreSalePayment.preorder_id == preorder.id,
                                     PreSalePayment.succeeded_at.is_not(None))))
    return _legs((("presale_deposits", "presale", preorder.presale_id), held),
                 (("cooperative_revenue", "cooperative", presale.cooperative_id), -held))


REDERIVATIONS = {
    names.PRESALE_PAYMENT: presale_payment, names.PRESALE_FILL: presale_fill,
    names.PRESALE_REFUND: presale_refund, names.PRESALE_FORFEIT: presale_forfeit,
    names.PAYMENT_RECEIVED: payment_received, names.PAYMENT_FEE: payment_fee,
    names.EARNINGS_PAYMENT: earnings_payment, names.CASH_PAYMENT: cash_payment,
    names.TRANSFER_PAYMENT: transfer_payment,
    names.TRANSFER_REFUND_OWED: transfer_refund_owed, names.TRANSFER_REFUND_PAID: transfer_refund_paid,
    names.TRANSFER_REFUND_DEDUCTED: transfer_refund_deducted,
    names.DIRECT_SALE: direct_sale, names.SUPPLIER_SALE: supplier_sale, names.COOPERATIVE_SALE: cooperative_sale,
    names.SHIPPING: shipping, names.LOVE_FUND_DONATION: love_fund_donation, names.FLOOR_PURCHASE: floor_purchase,
    names.REFUND: refund, names.CLAIM: after_sales_claim,
    names.REFUND_PAID: refund_paid, names.STORE_CREDIT_ISSUED: store_credit_issued,
    names.STORE_CREDIT_SPENT: store_credit_spent, names.REFUND_FAILED: refund_failed, names.PAYOUT_APPROVED: payout_approved,
    names.PAYOUT_PAID: payout_paid, names.PAYOUT_FAILED: payout_failed, names.STRIPE_PAYOUT: stripe_payout,
    names.DIVIDEND: dividend, names.FIXED_RETURN: fixed_return, names.FIXED_RETURN_RECEIVED: fixed_return_received,
    names.LOVE_FUND_AID: love_fund_aid, names.LOVE_FUND_GIFT: love_fund_gift,
    names.COOPERATIVE_DEPOSIT: cooperative_deposit, names.FLOOR_PAID_BY_COOPERATIVE: floor_paid_by_cooperative,
}
# Checked for their shape only: no cause records their amount.
SHAPE_ONLY = (names.FIXED_RETURN_RECEIVED, names.LOVE_FUND_GIFT)


@dataclass
class Difference:
    entry_id: int
    rule: str
    message: str
    ids: dict


@dataclass
class Rederivation:
    checked: dict = field(default_factory=dict)       # rule -> entries re-derived
    not_rederived: dict = field(default_factory=dict)  # rule -> entries no re-derivation knows
    differences: list = field(default_factory=list)


def _describe(account):
    kind, owner_type, owner = account
    return f"{kind}[{owner_type} {owner}]" if owner_type else kind


def _difference(posted, derived):
    accounts = sorted(set(posted) | set(derived))
    return "; ".join(f"{_describe(account)} posted {posted.get(account, 0)}, derived {derived.get(account, 0)}"
                     for account in accounts if posted.get(account, 0) != derived.get(account, 0))


def rederive_entries(chunk=CHUNK, progress=None):
    """Re-derive every entry in id order; returns a Rederivation. Reads only.

    On PostgreSQL the database re-derives the bulk rules of a range of ids at once
    (rederive_sql.py) and the entries it doubts, with those of every other rule, are re-derived
    here, `chunk` at a time; elsewhere every entry is re-derived here.
    """
    result, lookups = Rederivation(), Lookups()
    if is_postgres():
        _rederive_with_sql(result, lookups, chunk, progress)
        return result
    last = 0
    while True:
        entries = read(select(*ENTRY_COLUMNS).where(JournalEntry.id > last).order_by(JournalEntry.id).limit(chunk)).all()
        if not entries:
            return result
        _rederive_here(entries, result, lookups, postings_in=(Posting.entry_id >= entries[0].id,
                                                              Posting.entry_id <= entries[-1].id))
        last = entries[-1].id
        if progress:
            progress(len(entries))


SQL_RANGE = 100_000  # entry ids per statement of the database's re-derivation


def _rederive_with_sql(result, lookups, chunk, progress):
    last_id = db.session.scalar(select(func.max(JournalEntry.id))) or 0
    ranges = [(lo, lo + SQL_RANGE - 1) for lo in range(1, last_id + 1, SQL_RANGE)]
    bulk = JournalEntry.rule.in_(SQL_RULES)
    for (lo, hi), (doubts, counted) in zip(ranges, in_order(partial(_doubts_and_counts, lo, hi) for lo, hi in ranges)):
        for rule, count in counted.items():
            if rule in SQL_RULES:  # confirmed by the database, or re-derived below and counted here
                result.checked[rule] = result.checked.get(rule, 0) + count
        here = select(*ENTRY_COLUMNS).where(JournalEntry.id >= lo, JournalEntry.id <= hi,
                                            or_(~bulk, among(JournalEntry.id, doubts or [0])))
        after = lo - 1
        while True:
            entries = read(here.where(JournalEntry.id > after).order_by(JournalEntry.id).limit(chunk)).all()
            if not entries:
                break
            _rederive_here(entries, result, lookups, postings_in=(among(Posting.entry_id, [e.id for e in entries]),),
                           counted_already=SQL_RULES)
            after = entries[-1].id
        if progress and counted:
            progress(sum(counted.values()))


def _doubts_and_counts(lo, hi, connection):
    """The entries of ids lo..hi the database doubts, and how many entries of each rule the range holds."""
    doubts = sorted(connection.execute(text(SQL_DOUBTS).bindparams(lo=lo, hi=hi)).scalars())
    counted = dict(connection.execute(select(JournalEntry.rule, func.count()).where(
        JournalEntry.id >= lo, JournalEntry.id <= hi).group_by(JournalEntry.rule)).all())
    return doubts, counted


def _rederive_here(entries, result, lookups, postings_in, counted_already=()):
    """Re-derive `entries` (rows of ENTRY_COLUMNS, in id order) with the rules below, into `result`."""
    postings = {}
    for entry_id, account, amount in read(select(Posting.entry_id, Posting.account_id, Posting.amount_fen)
                                          .where(*postings_in)):
        legs = postings.setdefault(entry_id, {})
        name = lookups.accounts[account]
        legs[name] = legs.get(name, 0) + int(amount)
    causes = Causes(entries, postings, lookups)
    for entry in entries:
        derive = REDERIVATIONS.get(entry.rule)
        if derive is None:
            result.not_rederived[entry.rule] = result.not_rederived.get(entry.rule, 0) + 1
            continue
        if entry.rule not in counted_already:
            result.checked[entry.rule] = result.checked.get(entry.rule, 0) + 1
        posted = {account: fen for account, fen in postings.get(entry.id, {}).items() if fen}
        try:
            derived = derive(entry, causes)
        except (Underivable, KeyError, ValueError, ArithmeticError) as error:
            message = error.args[0] if isinstance(error, Underivable) else f"{type(error).__name__}: {error}"
            result.differences.append(Difference(entry.id, entry.rule, f"cannot be derived: {message}", _ids(entry)))
            continue
        if derived != posted:
            result.differences.append(Difference(entry.id, entry.rule, _difference(posted, derived), _ids(entry)))


def _ids(entry):
    ids = {"entry_id": entry.id}
    for name in ("order_id", "order_line_id", "lot_id", "refund_id", "payout_item_id"):
        if getattr(entry, name):
            ids[name] = getattr(entry, name)
    return ids
