"""Balances of households, suppliers, cooperatives and love funds, read from postings: posted,
pending, awaiting funding and available (DESIGN §3 "Settlement").

- *Pending*: what a sale credited (rules 2 and 4, a supplier's line, and the refunds that took
  part of it back) while the shipment holding its line has not settled; for a love fund, the
  round-ups of orders not yet settled. A refund could still take it back.
- *Awaiting funding* (households only): floor money (rule 3) that its cooperative has not
  covered yet. A cooperative covers its floor purchases with its settled sales revenue held by
  the platform plus the deposits it transferred in; the cover funds its lots oldest first
  (received, then id), after what it paid households itself for each lot.
- *Available* = posted − pending − awaiting funding: what may be spent or paid out.

Nothing here is stored: settling a shipment or approving a deposit changes what these queries
return, so a settled credit becomes available exactly once and never twice.
"""
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql import Select

from marketplace.catalog.models import SupplyLot
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import (
    COOPERATIVE_DEPOSIT, COOPERATIVE_SALE, DIRECT_SALE, FLOOR_PAID_BY_COOPERATIVE, LOVE_FUND_AID,
    LOVE_FUND_DONATION, PAYOUT_APPROVED, PAYOUT_FAILED, REFUND, SUPPLIER_SALE, CLAIM,
)
from marketplace.ledger.services import account_id, among, owed_to_fen
from marketplace.orders.models import Order, OrderLine, Shipment

SALE_RULES = (DIRECT_SALE, COOPERATIVE_SALE, SUPPLIER_SALE, REFUND, CLAIM)


@dataclass(frozen=True)
class HouseholdBalance:
    posted_fen: int
    pending_fen: int
    awaiting_funding_fen: int
    available_fen: int
    paid_to_date_fen: int


def _sum(query):
    return int(db.session.scalar(query) or 0)


def _pending_condition():
    """True for a posting whose sale has not settled: a line credit of an unsettled shipment, or
    a love-fund round-up (or its refund) of an unsettled order."""
    line_unsettled = and_(JournalEntry.order_line_id.is_not(None), Shipment.settled_at.is_(None))
    round_up_unsettled = and_(JournalEntry.order_line_id.is_(None), Account.kind == "love_fund",
                              JournalEntry.rule.in_((LOVE_FUND_DONATION, REFUND)), Order.settled_at.is_(None))
    return and_(JournalEntry.rule.in_(SALE_RULES + (LOVE_FUND_DONATION,)), or_(line_unsettled, round_up_unsettled))


def _postings_with_settlement():
    """Postings joined to what says whether their sale settled (line → shipment, entry → order)."""
    return (select().select_from(Posting)
            .join(Account, Posting.account_id == Account.id)
            .join(JournalEntry, Posting.entry_id == JournalEntry.id)
            .outerjoin(OrderLine, JournalEntry.order_line_id == OrderLine.id)
            .outerjoin(Shipment, and_(Shipment.order_id == OrderLine.order_id,
                                      Shipment.seller_id == OrderLine.seller_id,
                                      Shipment.replaces_claim_id.is_(None)))
            .outerjoin(Order, JournalEntry.order_id == Order.id))


def owed_and_pending(accounts):
    """{account id: (owed fen, pending fen)} for many accounts in one grouped query; accounts
    without postings are absent. `accounts` is a list of ids or a select of them."""
    rows = db.session.execute(
        _postings_with_settlement()
        .add_columns(Posting.account_id, func.sum(Posting.amount_fen),
                     func.sum(case((_pending_condition(), Posting.amount_fen), else_=0)))
        .where(Posting.account_id.in_(accounts) if isinstance(accounts, Select)
               else among(Posting.account_id, list(accounts)))
        .group_by(Posting.account_id))
    # Credits are negative: owed = −sum. Pending credits never count below zero.
    return {account: (-int(total), max(-int(pending), 0)) for account, total, pending in rows}


def available_by_account(accounts, owed=None):
    """{account id: available fen} for many accounts (households, suppliers, love funds), in a few
    queries whatever their number: owed − pending, less a household's floor money awaiting funding.
    `owed` is what `owed_and_pending(accounts)` returned, when the caller has it already."""
    owed = owed_and_pending(accounts) if owed is None else owed
    # Every query runs whatever the accounts: the number of queries never depends on the data.
    households = dict(db.session.execute(
        select(Account.id, Account.owner_id).where(among(Account.id, list(owed)), Account.kind == "household_payable")
    ).all())
    awaiting = unfunded_floor_by_household(list(households.values()))
    return {account: total - pending - awaiting.get(households.get(account), 0)
            for account, (total, pending) in owed.items()}


def household_balance(household_id):
    """What the platform owes a household: posted, pending (unsettled sales), awaiting its
    cooperative's funding (floor money), available, and paid to date (approved payouts that did
    not fail)."""
    return household_balances([household_id])[household_id]


def household_balances(household_ids):
    """{household id: HouseholdBalance} for many households in four queries, whatever their number."""
    household_ids = sorted(set(household_ids))
    accounts = dict(db.session.execute(
        select(Account.owner_id, Account.id).where(Account.kind == "household_payable",
                                                   Account.owner_type == "household",
                                                   among(Account.owner_id, household_ids))).all())
    owed = owed_and_pending(list(accounts.values()))
    awaiting = unfunded_floor_by_household(household_ids)
    paid = dict(db.session.execute(
        select(Posting.account_id, func.sum(Posting.amount_fen))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(among(Posting.account_id, list(accounts.values())),
               JournalEntry.rule.in_((PAYOUT_APPROVED, PAYOUT_FAILED)))
        .group_by(Posting.account_id)).all())
    balances = {}
    for household in household_ids:
        account = accounts.get(household)
        posted, pending = owed.get(account, (0, 0))
        waiting = awaiting.get(household, 0)
        balances[household] = HouseholdBalance(posted_fen=posted, pending_fen=pending, awaiting_funding_fen=waiting,
                                               available_fen=posted - pending - waiting,
                                               paid_to_date_fen=int(paid.get(account) or 0))
    return balances


@dataclass(frozen=True)
class CooperativeCover:
    """How far a cooperative has funded the floor money it owes its households."""

    settled_revenue_fen: int   # its settled sales revenue the platform holds (less dividends paid from it)
    deposits_fen: int          # what it transferred in (approved deposits)
    floor_owed_fen: int        # floor purchases of its confirmed lots
    paid_itself_fen: int       # floor money it paid households itself
    awaiting_fen: int          # floor money not covered yet: its households cannot be paid it

    @property
    def cover_fen(self):
        return self.settled_revenue_fen + self.deposits_fen


def _cover_pools(cooperative_ids):
    """{cooperative id: (settled revenue, deposits)}."""
    # The account ids go in as a list, not a subquery: PostgreSQL cannot tell how many accounts a
    # subquery on kind, owner type and owner matches (it guessed 21 for 4,000), and its nested loops
    # then took 73 s at a million orders where the hash joins of a list take 12 s.
    revenue_accounts = db.session.scalars(select(Account.id).where(
        Account.kind == "cooperative_revenue", Account.owner_type == "cooperative",
        among(Account.owner_id, cooperative_ids))).all()
    owed = owed_and_pending(revenue_accounts)
    owners = dict(db.session.execute(select(Account.id, Account.owner_id).where(among(Account.id, list(owed)))).all())
    revenue = {owners[account]: total - pending for account, (total, pending) in owed.items()}
    deposits = dict(db.session.execute(
        select(Account.owner_id, -func.sum(Posting.amount_fen))
        .join(Posting, Posting.account_id == Account.id).join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Account.kind == "cooperative_deposit", among(Account.owner_id, cooperative_ids),
               JournalEntry.rule == COOPERATIVE_DEPOSIT)
        .group_by(Account.owner_id)).all())
    return {cooperative: (revenue.get(cooperative, 0), int(deposits.get(cooperative) or 0))
            for cooperative in cooperative_ids}


def _paid_itself_by_lot(lot_ids):
    """{lot id: floor money the cooperative paid the household itself}."""
    return {lot: int(total) for lot, total in db.session.execute(
        select(JournalEntry.lot_id, func.sum(Posting.amount_fen))
        .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
        .where(JournalEntry.rule == FLOOR_PAID_BY_COOPERATIVE, among(JournalEntry.lot_id, lot_ids),
               Account.kind == "household_payable")
        .group_by(JournalEntry.lot_id))}


def lots_with_funding(cooperative_ids):
    """[(lot id, cooperative id, household id, floor owed, paid itself, awaiting)] for every
    confirmed lot of these cooperatives, each cooperative's cover spent on its lots oldest first."""
    lots = db.session.execute(
        select(SupplyLot.id, SupplyLot.cooperative_id, SupplyLot.household_id,
               SupplyLot.quantity * SupplyLot.floor_price_fen)
        .where(among(SupplyLot.cooperative_id, cooperative_ids), SupplyLot.confirmed_at.is_not(None))
        .order_by(SupplyLot.cooperative_id, SupplyLot.received_on, SupplyLot.id)).all()
    paid_itself = _paid_itself_by_lot([lot for lot, *_rest in lots])
    pools = {cooperative: revenue + deposits for cooperative, (revenue, deposits) in _cover_pools(cooperative_ids).items()}
    funded = []
    for lot, cooperative, household, owed in lots:
        itself = paid_itself.get(lot, 0)
        covered = max(0, min(owed - itself, pools[cooperative]))
        pools[cooperative] -= covered
        funded.append((lot, cooperative, household, int(owed), itself, int(owed) - itself - covered))
    return funded


def unfunded_floor_by_household(household_ids):
    """{household id: floor money owed to it that its cooperatives have not funded yet}; households
    with nothing awaiting are absent."""
    cooperatives = sorted(set(db.session.scalars(
        select(SupplyLot.cooperative_id).distinct().where(among(SupplyLot.household_id, household_ids)))))
    wanted, awaiting = set(household_ids), {}
    for _lot, _cooperative, household, _owed, _itself, unfunded in lots_with_funding(cooperatives):
        if household in wanted and unfunded:
            awaiting[household] = awaiting.get(household, 0) + unfunded
    return awaiting


def cooperative_cover(cooperative_ids):
    """{cooperative id: CooperativeCover} for the town page and payout drafting."""
    cooperative_ids = sorted(set(cooperative_ids))
    pools = _cover_pools(cooperative_ids)
    totals = {cooperative: [0, 0, 0] for cooperative in cooperative_ids}
    for _lot, cooperative, _household, owed, itself, unfunded in lots_with_funding(cooperative_ids):
        totals[cooperative][0] += owed
        totals[cooperative][1] += itself
        totals[cooperative][2] += unfunded
    return {cooperative: CooperativeCover(pools[cooperative][0], pools[cooperative][1], *totals[cooperative])
            for cooperative in cooperative_ids}


def lot_awaiting_funding(lot_id):
    """Floor money of one lot not funded yet (what the cooperative may still pay the household itself)."""
    lot = db.session.get(SupplyLot, lot_id)
    return next((unfunded for lot_row, *_rest, unfunded in lots_with_funding([lot.cooperative_id]) if lot_row == lot_id), 0)


def lock_accounts(account_ids):
    """Row-lock many accounts in one statement, always in id order, so two transactions locking
    overlapping sets wait for each other instead of deadlocking."""
    return db.session.scalars(
        select(Account.id).where(Account.id.in_(sorted(set(account_ids)))).order_by(Account.id).with_for_update()
    ).all()


def lock_account(kind, owner_type="", owner_id=0):
    """Row-lock one account until the transaction ends (PostgreSQL; SQLite already holds its write lock)."""
    identifier = account_id(kind, owner_type, owner_id)
    db.session.execute(select(Account.id).where(Account.id == identifier).with_for_update())
    return identifier


def lock_household_account(household_id):
    """Lock a household's account before spending or paying out from it; returns the account id."""
    return lock_account("household_payable", "household", household_id)


def supplier_payable_fen(supplier_id):
    """What the platform owes a supplier of daily goods now (settled or not)."""
    return owed_to_fen(account_id("supplier_payable", "supplier", supplier_id))


def supplier_available_fen(supplier_id):
    """What a supplier may be paid now: its lines of orders picked up (settled), less refunds."""
    account = account_id("supplier_payable", "supplier", supplier_id)
    return available_by_account([account]).get(account, 0)


def love_fund_summary(town_id):
    """A town love fund: everything received, everything granted, what is left, and what of that
    may be granted now (round-ups of orders not settled yet could still go back to their buyers)."""
    account = account_id("love_fund", "town", town_id)
    by_rule = db.session.execute(
        select(JournalEntry.rule, func.sum(Posting.amount_fen))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account)
        .group_by(JournalEntry.rule)
    ).all()
    # Received is net of refunded round-ups; granted is the aid paid out of the fund.
    granted = sum(int(total) for rule, total in by_rule if rule == LOVE_FUND_AID)
    received = -sum(int(total) for rule, total in by_rule if rule != LOVE_FUND_AID)
    pending = owed_and_pending([account]).get(account, (0, 0))[1]
    return {"received_fen": received, "granted_fen": granted, "balance_fen": received - granted,
            "pending_fen": pending, "available_fen": received - granted - pending}
