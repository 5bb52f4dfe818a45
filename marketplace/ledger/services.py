"""The double-entry ledger: accounts, immutable entries posted once per idempotency key.

Signs: a debit is positive, a credit negative; every entry sums to zero. A liability such as
`household_payable` therefore has a negative balance; `owed_to_fen` turns it into what is owed.
Nothing here commits: the calling service owns the transaction.
"""
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, Posting


class UnbalancedEntry(DomainError):
    code = "unbalanced_entry"


def account_id(kind, owner_type="", owner_id=0):
    """The id of the account `kind` of that owner, created on first use (safe under races)."""
    key = {"kind": kind, "owner_type": owner_type, "owner_id": owner_id}
    found = db.session.scalar(select(Account.id).filter_by(**key))
    if found is not None:
        return found
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(Account).values(**key).on_conflict_do_nothing())
    return db.session.scalar(select(Account.id).filter_by(**key))


def household_account(household_id):
    return account_id("household_payable", "household", household_id)


def entry_for_key(idempotency_key):
    return db.session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key))


def post_entry(idempotency_key, rule, legs, rule_settings=None, memo="", **references):
    """Post one balanced entry, or return the one already posted under `idempotency_key`.

    `legs` is a list of (account_id, signed amount in fen); zero legs are dropped and legs on
    the same account are netted. Raises UnbalancedEntry unless the legs sum to zero.
    """
    existing = entry_for_key(idempotency_key)
    if existing is not None:
        return existing
    netted = {}
    for account, amount in legs:
        if not isinstance(amount, int):
            raise UnbalancedEntry("amounts must be whole fen")
        netted[account] = netted.get(account, 0) + amount
    netted = {account: amount for account, amount in netted.items() if amount != 0}
    if sum(netted.values()) != 0:
        raise UnbalancedEntry(f"entry {idempotency_key} does not balance: {sum(netted.values())} fen")
    if len(netted) < 2:
        return None  # nothing moves: nothing to post
    entry = JournalEntry(
        idempotency_key=idempotency_key, rule=rule, rule_settings=rule_settings or {}, memo=memo, **references
    )
    entry.postings = [Posting(account_id=account, amount_fen=amount) for account, amount in sorted(netted.items())]
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        # Another transaction posted the same cause first: that one stands.
        existing = entry_for_key(idempotency_key)
        if existing is None:
            raise
        return existing
    return entry


def balance_fen(account):
    """Sum of postings on an account id (debits positive)."""
    # PostgreSQL sums bigint into numeric: bring it back to an int of fen.
    total = select(func.coalesce(func.sum(Posting.amount_fen), 0)).where(Posting.account_id == account)
    return int(db.session.scalar(total))


def owed_to_fen(account):
    """What a liability account (payable, revenue, fund) holds for its owner: the credit balance."""
    return -balance_fen(account)
