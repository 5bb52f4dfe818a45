"""The ledger's hash chain: every journal entry sealed, in order, by a hash over its content and the link before.

Posting stays as it was, plus one row in `ledger_unsealed` per entry (in the posting
transaction, so only committed entries are ever queued). The sealer (`seal_pending`, a beat task
every few seconds) takes the queue oldest entry first, under one advisory lock so sealers run
one at a time, and appends to `ledger_seals`: link n = SHA-256(link n−1, the entry's canonical
content). Posting never waits on the chain: only the sealer takes its lock, for a few
milliseconds per thousand entries. Links follow the order entries were sealed, which is id order
except for an entry whose transaction committed after a later one had already been sealed.

The canonical content (`entry_content`) is everything an entry says: its id, key, rule, time,
references, recorded settings, memo and its postings in (account kind, owner type, owner id, amount)
order. Accounts are named by what they are, not their row id, so re-pointing an account row is
seen too. A change made with every trigger switched off therefore breaks the link of that entry,
and a deleted entry or link breaks the next one; `verify_chain` names the first broken link.

A daily checkpoint (`write_checkpoint`) records the head link and the counts in the audit log,
signed with HMAC-SHA256 keyed by the app's SECRET_KEY (or LEDGER_CHECKPOINT_KEY when set), and
prints it so it can be kept outside the database: a chain rewritten end to end by someone
without the key no longer matches the checkpoints.
"""
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from functools import partial
from datetime import datetime

from flask import current_app
from sqlalchemy import Text, cast, delete, func, select, text

from marketplace.audit.models import AuditLog
from marketplace.audit.services import record
from marketplace.database import is_postgres, utcnow
from marketplace.extensions import db
from marketplace.ledger.models import Account, EntrySeal, JournalEntry, Posting, UnsealedEntry
from marketplace.ledger.services import among, bulk_insert
from marketplace.ledger.sql_pass import in_order

GENESIS = "0" * 64
SEAL_BATCH = 2_000
CHAIN_LOCK = 0x6C656467  # the sealer's advisory lock ("ledg")
CHECKPOINT_ACTION = "ledger.checkpoint"
REFERENCES = ("order_id", "order_line_id", "lot_id", "refund_id", "payout_item_id", "reverses_entry_id",
              "created_by_id")
# The settings as the database holds their text: hashed as stored, not parsed and written out again.
ENTRY_COLUMNS = (JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.rule, JournalEntry.created_at,
                 cast(JournalEntry.rule_settings, Text).label("settings_text"), JournalEntry.memo,
                 *(getattr(JournalEntry, name) for name in REFERENCES))


def read(statement):
    """Rows straight from the connection: plain tuples, none of the ORM's loading on the hot path."""
    return db.session.connection().execute(statement)


def entry_content(row, postings):
    """The canonical bytes of an entry: `row` has ENTRY_COLUMNS, `postings` are (kind, owner type, owner, fen).

    A JSON list of plain values, so no two different entries read the same.
    """
    entry_id, key, rule, created_at, settings_text, memo, *references = row
    return json.dumps([entry_id, key, rule, created_at.isoformat(timespec="microseconds"), settings_text, memo,
                       *references, sorted(postings)], ensure_ascii=False, separators=(",", ":")).encode()


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link_hash(previous_hash, content):
    return hashlib.sha256(previous_hash.encode() + b"\n" + content).hexdigest()


class AccountNames:
    """Account id -> (kind, owner type, owner id), read once; accounts are one per owner, not per order."""

    def __init__(self):
        self.names = {account: (kind, owner_type, owner) for account, kind, owner_type, owner in db.session.execute(
            select(Account.id, Account.kind, Account.owner_type, Account.owner_id))}

    def __getitem__(self, account_id):
        if account_id not in self.names:
            self.__init__()  # an account created since
        return self.names.get(account_id, ("missing", "", account_id))


def contents_of(entry_ids, accounts):
    """{entry id: canonical content} of those entries that exist."""
    entry_ids = sorted(entry_ids)
    if not entry_ids:
        return {}
    legs = {}
    for entry_id, account, amount in read(
            select(Posting.entry_id, Posting.account_id, Posting.amount_fen).where(among(Posting.entry_id, entry_ids))):
        legs.setdefault(entry_id, []).append([*accounts[account], int(amount)])
    rows = read(select(*ENTRY_COLUMNS).where(among(JournalEntry.id, entry_ids))).all()
    return {row[0]: entry_content(row, legs.get(row[0], ())) for row in rows}


def _head():
    return db.session.execute(select(EntrySeal.seq, EntrySeal.entry_hash).order_by(EntrySeal.seq.desc()).limit(1)).first()


def seal_pending(limit=None):
    """Seal the queued entries, oldest first, in batches of SEAL_BATCH; commits each batch. Returns how many.

    One sealer at a time (a transaction-level advisory lock on PostgreSQL); an entry queued but
    gone (deleted behind the guards' back) stays queued, for `verify_chain` to name.
    """
    sealed, accounts = 0, None
    while limit is None or sealed < limit:
        if is_postgres():
            db.session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": CHAIN_LOCK})
        head = _head()
        seq, previous = (head.seq, head.entry_hash) if head else (0, GENESIS)
        queued = db.session.scalars(
            select(UnsealedEntry.entry_id).order_by(UnsealedEntry.entry_id).limit(SEAL_BATCH)).all()
        accounts = accounts or AccountNames()
        contents = contents_of(queued, accounts)
        if not contents:
            db.session.commit()
            return sealed
        now, seals = utcnow(), []
        for entry_id in sorted(contents):
            seq += 1
            previous = link_hash(previous, contents[entry_id])
            seals.append({"seq": seq, "entry_id": entry_id, "entry_hash": previous, "sealed_at": now})
        bulk_insert(EntrySeal, seals)
        db.session.execute(delete(UnsealedEntry).where(among(UnsealedEntry.entry_id, list(contents))))
        db.session.commit()
        sealed += len(seals)
    return sealed


@dataclass
class ChainStatus:
    """What `verify_chain` found: links checked, entries waiting for the sealer, broken links (first first)."""

    links: int = 0
    awaiting_seal: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    broken: list = field(default_factory=list)  # (seq or None, entry id, what is wrong)

    @property
    def intact(self):
        return not self.broken


def verify_chain(chunk=5_000, progress=None):
    """Recompute every link from the entries as they are now; returns a ChainStatus.

    Each link is checked against the stored link before it, so a change shows at its own entry;
    a missing link (or a missing entry) breaks the link after it. Entries that are neither sealed
    nor queued, and queued entries that are gone, are broken too. On PostgreSQL the database
    hashes every link itself (`_links_sql_doubts`) and only the links it doubts are hashed again
    here, where `entry_content` has the last word; elsewhere every link is hashed here.
    """
    status = ChainStatus()
    if is_postgres():
        _verify_links_in_sql(status, progress)
    else:
        _verify_links_here(status, chunk, progress)
    status.awaiting_seal = db.session.scalar(select(func.count()).select_from(UnsealedEntry))
    queued = select(UnsealedEntry.entry_id)
    for entry_id in db.session.scalars(queued.where(~select(JournalEntry.id).where(
            JournalEntry.id == UnsealedEntry.entry_id).exists()).limit(20)):
        status.broken.append((None, entry_id, "queued for sealing but the entry is gone"))
    for entry_id in db.session.scalars(select(JournalEntry.id).where(
            ~select(EntrySeal.seq).where(EntrySeal.entry_id == JournalEntry.id).exists(),
            ~select(UnsealedEntry.entry_id).where(UnsealedEntry.entry_id == JournalEntry.id).exists())
            .order_by(JournalEntry.id).limit(20)):
        status.broken.append((None, entry_id, "neither sealed nor queued: it was not posted through the ledger"))
    return status


def _check_link(status, link, previous_seq, previous_hash, contents):
    """The one rule for a link: its seq follows the link before it, its entry exists and hashes to it."""
    seq, entry_id, stored = link
    if seq != previous_seq + 1:
        status.broken.append((seq, entry_id, f"links {previous_seq + 1}–{seq - 1} are missing before it"))
    elif entry_id not in contents:
        status.broken.append((seq, entry_id, "the sealed entry is gone"))
    elif link_hash(previous_hash, contents[entry_id]) != stored:
        status.broken.append((seq, entry_id, "the entry differs from what was sealed"))


def _verify_links_here(status, chunk, progress):
    accounts, previous_seq, previous = AccountNames(), 0, GENESIS
    while True:
        rows = read(
            select(EntrySeal.seq, EntrySeal.entry_id, EntrySeal.entry_hash).where(EntrySeal.seq > previous_seq)
            .order_by(EntrySeal.seq).limit(chunk)).all()
        if not rows:
            break
        contents = contents_of([row.entry_id for row in rows], accounts)
        for row in rows:
            _check_link(status, row, previous_seq, previous, contents)
            previous_seq, previous = row.seq, row.entry_hash
        status.links += len(rows)
        if progress:
            progress(len(rows))
    status.head_seq, status.head_hash = previous_seq, previous


# `entry_content` restated in SQL, byte for byte (JSON strings escaped as Python's json.dumps escapes
# them, postings in Python's sort order), hashed by PostgreSQL's sha256(). It returns the links of
# seq (:after, :upto] it cannot confirm; `_check_link` judges those. A link it confirms matches what
# the sealer hashed, so a doubt is the only way a change can show: nothing is skipped.
SQL_LINK_DOUBTS = """
WITH before AS (SELECT seq, entry_hash FROM ledger_seals WHERE seq <= :after ORDER BY seq DESC LIMIT 1),
s AS (SELECT seq, entry_id, entry_hash,
             COALESCE(lag(entry_hash) OVER w, (SELECT entry_hash FROM before), :genesis) AS previous_hash,
             COALESCE(lag(seq) OVER w, (SELECT seq FROM before), 0) AS previous_seq
      FROM ledger_seals WHERE seq > :after AND seq <= :upto WINDOW w AS (ORDER BY seq)),
bounds AS (SELECT min(entry_id) AS lo, max(entry_id) AS hi FROM s),
legs AS (
  SELECT p.entry_id, '[' || string_agg('[' || to_json(a.kind)::text || ',' || to_json(a.owner_type)::text || ','
         || a.owner_id || ',' || p.amount_fen || ']', ','
         ORDER BY a.kind COLLATE "C", a.owner_type COLLATE "C", a.owner_id, p.amount_fen) || ']' AS legs
  FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
  WHERE p.entry_id BETWEEN (SELECT lo FROM bounds) AND (SELECT hi FROM bounds)
  GROUP BY p.entry_id),
entries AS (SELECT * FROM journal_entries WHERE id BETWEEN (SELECT lo FROM bounds) AND (SELECT hi FROM bounds))
SELECT s.seq, s.entry_id, s.entry_hash, s.previous_seq, s.previous_hash FROM s
LEFT JOIN entries e ON e.id = s.entry_id
LEFT JOIN legs ON legs.entry_id = s.entry_id
WHERE s.previous_seq <> s.seq - 1 OR e.id IS NULL
   OR encode(sha256(convert_to(s.previous_hash || E'\\n' || '[' || e.id || ','
      || to_json(e.idempotency_key)::text || ',' || to_json(e.rule)::text || ','
      || '"' || to_char(e.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') || '",'
      || COALESCE(to_json(e.rule_settings::text)::text, 'null') || ',' || to_json(e.memo)::text
      || ',' || COALESCE(e.order_id::text, 'null') || ',' || COALESCE(e.order_line_id::text, 'null')
      || ',' || COALESCE(e.lot_id::text, 'null') || ',' || COALESCE(e.refund_id::text, 'null')
      || ',' || COALESCE(e.payout_item_id::text, 'null') || ',' || COALESCE(e.reverses_entry_id::text, 'null')
      || ',' || COALESCE(e.created_by_id::text, 'null') || ',' || COALESCE(legs.legs, '[]') || ']', 'UTF8')), 'hex')
      IS DISTINCT FROM s.entry_hash
ORDER BY s.seq
"""
SQL_CHUNK = 50_000  # links hashed per statement: a range of the seals' and entries' indexes


def _verify_links_in_sql(status, progress):
    last_seq = db.session.scalar(select(func.max(EntrySeal.seq))) or 0
    ranges = [(after, after + SQL_CHUNK) for after in range(0, last_seq, SQL_CHUNK)]
    accounts = None
    for (after, upto), doubts in zip(ranges, in_order(partial(_link_doubts, after, upto) for after, upto in ranges)):
        if doubts:
            accounts = accounts or AccountNames()
            contents = contents_of([doubt.entry_id for doubt in doubts], accounts)
            for seq, entry_id, stored, seq_before, hash_before in doubts:
                _check_link(status, (seq, entry_id, stored), seq_before, hash_before, contents)
        if progress:
            progress(min(upto, last_seq) - after)
    status.links = db.session.scalar(select(func.count()).select_from(EntrySeal).where(EntrySeal.seq <= last_seq))
    head = read(select(EntrySeal.seq, EntrySeal.entry_hash).where(EntrySeal.seq == last_seq)).first()
    status.head_seq, status.head_hash = head if head else (0, GENESIS)


def _link_doubts(after, upto, connection):
    return connection.execute(text(SQL_LINK_DOUBTS).bindparams(after=after, upto=upto, genesis=GENESIS)).all()


def _signing_key():
    return (current_app.config.get("LEDGER_CHECKPOINT_KEY") or current_app.config["SECRET_KEY"]).encode()


def sign(payload):
    return hmac.new(_signing_key(), _canonical(payload).encode(), hashlib.sha256).hexdigest()


def write_checkpoint():
    """Seal what is queued, then record the head link and the counts, signed, in the audit log; commits.

    Returns the checkpoint (a dict, its `signature` last) to print and keep outside the database.
    """
    seal_pending()
    head = _head()
    payload = {
        "head_seq": head.seq if head else 0, "head_hash": head.entry_hash if head else GENESIS,
        "entries": db.session.scalar(select(func.count()).select_from(JournalEntry)),
        "postings": db.session.scalar(select(func.count()).select_from(Posting)),
        "at": utcnow().isoformat(timespec="seconds") + "Z", "signed_with": "HMAC-SHA256(SECRET_KEY)",
    }
    checkpoint = {**payload, "signature": sign(payload)}
    record(CHECKPOINT_ACTION, **checkpoint)
    db.session.commit()
    return checkpoint


def checkpoints(limit=None):
    """Checkpoints in the audit log, newest first."""
    query = select(AuditLog).where(AuditLog.action == CHECKPOINT_ACTION).order_by(AuditLog.id.desc())
    return db.session.scalars(query.limit(limit) if limit else query).all()


def last_checkpoint():
    found = checkpoints(limit=1)
    return found[0].details if found else None


def checkpoint_problems():
    """(audit log id, what is wrong) for each checkpoint whose signature or head link does not hold."""
    problems = []
    for row in checkpoints():
        details = dict(row.details or {})
        signature = details.pop("signature", "")
        if not hmac.compare_digest(signature, sign(details)):
            problems.append((row.id, "its signature does not match"))
            continue
        if details["head_seq"] == 0:
            continue
        stored = db.session.scalar(select(EntrySeal.entry_hash).where(EntrySeal.seq == details["head_seq"]))
        if stored != details["head_hash"]:
            problems.append((row.id, f"link {details['head_seq']} is no longer {details['head_hash'][:12]}…"))
    return problems


@dataclass
class ChainHead:
    """The chain as a page shows it, read cheaply: its head, what waits, the last checkpoint and whether it holds.

    Recomputing every link is `ledger verify`'s work; this says where the chain stands.
    """

    head_seq: int
    head_hash: str
    sealed_at: object
    awaiting_seal: int
    checkpoint: dict | None
    checkpoint_holds: bool | None

    @property
    def checkpoint_at(self):
        """When the last checkpoint was written (naive UTC, as stored times are)."""
        return datetime.fromisoformat(self.checkpoint["at"].rstrip("Z")) if self.checkpoint else None


def chain_head():
    head = db.session.execute(select(EntrySeal.seq, EntrySeal.entry_hash, EntrySeal.sealed_at)
                              .order_by(EntrySeal.seq.desc()).limit(1)).first()
    checkpoint = last_checkpoint()
    holds = None
    if checkpoint:
        details = {key: value for key, value in checkpoint.items() if key != "signature"}
        stored = db.session.scalar(select(EntrySeal.entry_hash).where(EntrySeal.seq == checkpoint["head_seq"]))
        holds = (hmac.compare_digest(checkpoint.get("signature", ""), sign(details))
                 and (checkpoint["head_seq"] == 0 or stored == checkpoint["head_hash"]))
    return ChainHead(head_seq=head.seq if head else 0, head_hash=head.entry_hash if head else GENESIS,
                     sealed_at=head.sealed_at if head else None,
                     awaiting_seal=db.session.scalar(select(func.count()).select_from(UnsealedEntry)),
                     checkpoint=checkpoint, checkpoint_holds=holds)
