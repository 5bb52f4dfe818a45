"""The double-entry ledger: accounts, immutable entries posted once per idempotency key.

Signs: a debit is positive, a credit negative; every entry sums to zero. A liability such as
`household_payable` therefore has a negative balance; `owed_to_fen` turns it into what is owed.
Nothing here commits: the calling service owns the transaction.
"""
import json
from dataclasses import dataclass, field

from sqlalchemy import JSON, any_, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from marketplace.database import is_postgres, utcnow
from marketplace.errors import DomainError, Yuan
from marketplace.extensions import db
from marketplace.ledger.models import Account, JournalEntry, Posting, UnsealedEntry


class UnbalancedEntry(DomainError):
    code = "unbalanced_entry"


def account_id(kind, owner_type="", owner_id=0):
    """The id of the account `kind` of that owner, created on first use (safe under races)."""
    key = (kind, owner_type, owner_id)
    return account_ids([key])[key]


def account_ids(keys):
    """{(kind, owner_type, owner_id): account id} for every key, creating the missing accounts.

    One query when they all exist; new ones are inserted in key order (so two transactions
    creating the same accounts wait on each other instead of deadlocking) and read back.
    """
    keys = sorted(set(keys))
    if not keys:
        return {}
    found = _find_accounts(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        db.session.execute(dialect_insert(Account).values(
            [{"kind": kind, "owner_type": owner_type, "owner_id": owner_id} for kind, owner_type, owner_id in missing]
        ).on_conflict_do_nothing())
        found.update(_find_accounts(missing))
    return found


def _find_accounts(keys):
    if is_postgres():
        # Exactly the keys, each one probe of uq_ledger_accounts_kind_owner: one array per column.
        rows = db.session.execute(text(
            "SELECT a.kind, a.owner_type, a.owner_id, a.id FROM unnest(CAST(:kinds AS VARCHAR[]), "
            "CAST(:owner_types AS VARCHAR[]), CAST(:owner_ids AS INTEGER[])) AS wanted(kind, owner_type, owner_id) "
            "JOIN ledger_accounts a USING (kind, owner_type, owner_id)"),
            {"kinds": [kind for kind, _type, _owner in keys], "owner_types": [owner_type for _kind, owner_type, _owner in keys],
             "owner_ids": [owner for _kind, _type, owner in keys]})
        return {(kind, owner_type, owner): account for kind, owner_type, owner, account in rows}
    # Two plain IN lists, sifted here: a tuple IN of hundreds of keys compiles slowly in SQLAlchemy.
    rows = db.session.execute(
        select(Account.kind, Account.owner_type, Account.owner_id, Account.id)
        .where(among(Account.kind, {kind for kind, _type, _owner in keys}),
               among(Account.owner_id, {owner for _kind, _type, owner in keys})))
    wanted = set(keys)
    found = {(kind, owner_type, owner): account for kind, owner_type, owner, account in rows}
    return {key: account for key, account in found.items() if key in wanted}


def among(column, values):
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter however many values,
    so a batch's SQL stays short and the driver caches and prepares it."""
    values = sorted(values)
    if is_postgres():
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def dialect_insert(model):
    """The dialect's INSERT, which has ON CONFLICT on PostgreSQL and SQLite alike."""
    return (pg_insert if is_postgres() else sqlite_insert)(model.__table__)


def household_account(household_id):
    return account_id("household_payable", "household", household_id)


def entry_for_key(idempotency_key):
    return db.session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key))


def net_legs(idempotency_key, legs):
    """`legs` netted per account, zero legs dropped; raises UnbalancedEntry unless they sum to zero."""
    netted = {}
    for account, amount in legs:
        if not isinstance(amount, int):
            raise UnbalancedEntry("Amounts must be whole fen.")
        netted[account] = netted.get(account, 0) + amount
    netted = {account: amount for account, amount in netted.items() if amount != 0}
    if sum(netted.values()) != 0:
        raise UnbalancedEntry("The entry %(key)s does not balance: it is off by %(amount)s.", key=idempotency_key,
                              amount=Yuan(sum(netted.values())))
    return netted


def post_entry(idempotency_key, rule, legs, rule_settings=None, memo="", **references):
    """Post one balanced entry, or return the one already posted under `idempotency_key`.

    `legs` is a list of (account_id, signed amount in fen); zero legs are dropped and legs on
    the same account are netted. Raises UnbalancedEntry unless the legs sum to zero.
    """
    existing = entry_for_key(idempotency_key)
    if existing is not None:
        return existing
    netted = net_legs(idempotency_key, legs)
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
    db.session.add(UnsealedEntry(entry_id=entry.id))  # for the sealer (chain.py)
    return entry


@dataclass
class EntryDraft:
    """An entry to post in bulk: legs are (account key (kind, owner_type, owner_id), signed fen)."""

    idempotency_key: str
    rule: str
    legs: list
    rule_settings: dict = field(default_factory=dict)
    memo: str = ""
    references: dict = field(default_factory=dict)


def post_entries(drafts):
    """Post many entries at once, each exactly once; returns {idempotency key: id} of those inserted now.

    The bulk twin of `post_entry`, with the same netting and balance check: accounts resolved
    in one query, entries inserted with ON CONFLICT (idempotency_key) DO NOTHING RETURNING, and
    postings written only for the entries this call inserted. A key already posted, by an
    earlier transaction or a concurrent one that commits first, keeps its entry; an entry
    where nothing moves is not posted.
    """
    accounts = account_ids(account for draft in drafts for account, _amount in draft.legs)
    now = utcnow()
    rows, legs_of_key = [], {}
    for draft in drafts:
        netted = net_legs(draft.idempotency_key, [(accounts[account], amount) for account, amount in draft.legs])
        if len(netted) < 2 or draft.idempotency_key in legs_of_key:
            continue
        legs_of_key[draft.idempotency_key] = netted
        rows.append({"idempotency_key": draft.idempotency_key, "rule": draft.rule, "rule_settings": draft.rule_settings,
                     "memo": draft.memo, "created_at": now, **_all_references(draft.references)})
    if not rows:
        return {}
    inserted = dict(bulk_insert(JournalEntry, rows, unique_key="idempotency_key", returning=("idempotency_key", "id")))
    postings = [{"entry_id": entry, "account_id": account, "amount_fen": amount}
                for key, entry in sorted(inserted.items(), key=lambda item: item[1])
                for account, amount in sorted(legs_of_key[key].items())]
    if postings:
        bulk_insert(Posting, postings)
        bulk_insert(UnsealedEntry, [{"entry_id": entry} for entry in sorted(inserted.values())])  # for the sealer
    return inserted


def bulk_insert(model, rows, unique_key=None, returning=()):
    """INSERT `rows` (dicts naming the same columns); with `unique_key`, rows whose key exists are skipped.

    Returns the `returning` columns of the rows inserted. On PostgreSQL the rows travel as one
    array per column through `unnest`: one short statement whatever the batch size, where a
    multi-row VALUES list of thousands of placeholders costs the driver more time to parse
    than the server to insert. Elsewhere, SQLAlchemy's bulk INSERT.
    """
    table = model.__table__
    dialect = db.session.get_bind().dialect
    if dialect.name != "postgresql":
        statement = dialect_insert(model)
        if unique_key:
            statement = statement.on_conflict_do_nothing(index_elements=[table.c[unique_key]])
        if not returning:
            db.session.execute(statement, rows)
            return []
        return db.session.execute(statement.returning(*(table.c[name] for name in returning)), rows).all()
    names = list(rows[0])
    arrays = {name: [row[name] for row in rows] for name in names}
    for name in names:
        if isinstance(table.c[name].type, JSON):
            arrays[name] = [json.dumps(value) for value in arrays[name]]
    casts = ", ".join(f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in names)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({casts})"
    if unique_key:
        sql += f" ON CONFLICT ({unique_key}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    result = db.session.execute(text(sql), arrays)
    return result.all() if returning else []


_REFERENCES = ("order_id", "order_line_id", "lot_id", "refund_id", "payout_item_id", "reverses_entry_id",
               "created_by_id")


def _all_references(references):
    # Every row of one executemany INSERT names the same columns.
    return {name: references.get(name) for name in _REFERENCES}


def balance_fen(account):
    """Sum of postings on an account id (debits positive)."""
    # PostgreSQL sums bigint into numeric: bring it back to an int of fen.
    total = select(func.coalesce(func.sum(Posting.amount_fen), 0)).where(Posting.account_id == account)
    return int(db.session.scalar(total))


def owed_to_fen(account):
    """What a liability account (payable, revenue, fund) holds for its owner: the credit balance."""
    return -balance_fen(account)
