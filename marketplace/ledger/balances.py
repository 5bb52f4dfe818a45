"""Balances of households, suppliers and love funds, read from postings.

What "pending" means: money credited to a household by a sale whose order has not reached the
buyer yet (status paid, packed or shipped) and could still be refunded. It is part of the
posted balance but cannot be spent or paid out until the order is delivered (or completed,
refunded, partially refunded): available = posted − pending. Floor purchases, dividends, fixed
returns and aid are never pending: the household earned them when they were posted.
"""
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select

from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import (
    COOPERATIVE_SALE, DIRECT_SALE, LOVE_FUND_AID, PAYOUT_APPROVED, PAYOUT_FAILED, REFUND,
)
from marketplace.ledger.services import account_id, household_account, owed_to_fen
from marketplace.orders.models import Order

PENDING_ORDER_STATUSES = ("paid", "packed", "shipped")
SALE_RULES = (DIRECT_SALE, COOPERATIVE_SALE, REFUND)


@dataclass(frozen=True)
class HouseholdBalance:
    posted_fen: int
    pending_fen: int
    available_fen: int
    paid_to_date_fen: int


def _sum(query):
    return int(db.session.scalar(query) or 0)


def household_balance(household_id):
    """What the platform owes a household: posted, pending (undelivered sales), available, paid to date.

    `paid_to_date_fen` is every approved payout that has not failed (in transit or confirmed).
    """
    account = household_account(household_id)
    posted = owed_to_fen(account)
    pending = -_sum(
        select(func.sum(Posting.amount_fen))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .join(Order, JournalEntry.order_id == Order.id)
        .where(Posting.account_id == account, JournalEntry.rule.in_(SALE_RULES),
               Order.status.in_(PENDING_ORDER_STATUSES))
    )
    pending = max(pending, 0)
    paid = _sum(
        select(func.sum(Posting.amount_fen))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account, JournalEntry.rule.in_((PAYOUT_APPROVED, PAYOUT_FAILED)))
    )
    return HouseholdBalance(posted_fen=posted, pending_fen=pending, available_fen=posted - pending,
                            paid_to_date_fen=paid)


def available_by_account(accounts):
    """{account id: available fen} for many accounts in one grouped query.

    `accounts` is a list of account ids or a select of them. A household's account is available
    as `household_balance` says (posted − pending sales); a supplier's is what it is owed.
    Accounts without postings are absent.
    """
    pending_sale = and_(Account.kind == "household_payable", JournalEntry.rule.in_(SALE_RULES),
                        Order.status.in_(PENDING_ORDER_STATUSES))
    rows = db.session.execute(
        select(Posting.account_id, func.sum(Posting.amount_fen),
               func.sum(case((pending_sale, Posting.amount_fen), else_=0)))
        .join(Account, Posting.account_id == Account.id)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .outerjoin(Order, JournalEntry.order_id == Order.id)
        .where(Posting.account_id.in_(accounts))
        .group_by(Posting.account_id))
    # Credits are negative: owed = −sum; pending credits never count below zero (as household_balance).
    return {account: -int(total) - max(-int(pending), 0) for account, total, pending in rows}


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
    """What the platform owes a supplier of daily goods now."""
    return owed_to_fen(account_id("supplier_payable", "supplier", supplier_id))


def love_fund_summary(town_id):
    """A town love fund: everything received, everything granted, and what is left."""
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
    return {"received_fen": received, "granted_fen": granted, "balance_fen": received - granted}
