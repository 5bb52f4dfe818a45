"""Each fen of a household's balance traced to its orders, lots, rules and payouts."""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.chain import chain_head
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.rules.names import household_mechanism
from marketplace.ledger.sentences import entry_sentences
from marketplace.ledger.services import household_account
from marketplace.local_time import local_time
from marketplace.people.models import Household



@dataclass(frozen=True)
class Trace:
    """One posting on a household's account: when (the district's time), how much, the running
    balance, and the sentences that say why (rendered in the reader's language when read)."""

    entry_id: int
    at: datetime
    day: date
    rule: str
    mechanism: str
    fen: int
    balance_fen: int
    sentences: tuple

    @property
    def explanation(self):
        return " ".join(str(sentence) for sentence in self.sentences)


def explain_household(household_id):
    """(balance, traces oldest first): every posting on the household's account, explained."""
    if db.session.get(Household, household_id) is None:
        raise NotFound("No such household.")
    account = household_account(household_id)
    rows = db.session.execute(
        select(JournalEntry, Posting.amount_fen).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account).order_by(JournalEntry.id)).all()
    traces, balance = [], 0
    for entry, amount in rows:
        balance -= amount
        traces.append(trace_of(entry, household_id, -amount, balance))
    return household_balance(household_id), traces


def trace_of(entry, household_id, fen, balance_fen):
    """The trace of `entry`'s posting of `fen` (credit positive) on the household's account."""
    local = local_time(entry.created_at)
    return Trace(entry_id=entry.id, at=local, day=local.date(), rule=entry.rule,
                 mechanism=household_mechanism(entry), fen=fen, balance_fen=balance_fen,
                 sentences=tuple(entry_sentences(entry, household_id, fen)))


def shanghai_time(moment):
    """A stored UTC time as the district reads it (DISPLAY_TIMEZONE)."""
    return local_time(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def chain_summary():
    """Two lines on the hash chain: its head and what waits for the sealer; the last signed checkpoint."""
    head = chain_head()
    lines = [f"hash chain: {head.head_seq} entries sealed, head {head.head_hash[:16]}… "
             f"(sealed {shanghai_time(head.sealed_at)} Asia/Shanghai), {head.awaiting_seal} awaiting the sealer"]
    if head.checkpoint is None:
        lines.append("last checkpoint: none yet (flask --app wsgi ledger checkpoint)")
    else:
        lines.append(f"last checkpoint: link {head.checkpoint['head_seq']} {head.checkpoint['head_hash'][:16]}… "
                     f"at {shanghai_time(head.checkpoint_at)} Asia/Shanghai, "
                     + ("signature and link hold" if head.checkpoint_holds else "DOES NOT HOLD: run ledger verify"))
    return "\n".join(lines)
