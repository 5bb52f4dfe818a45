"""Each fen of a household's balance traced to its orders, lots, rules and payouts."""
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

from sqlalchemy import select

from marketplace.catalog.models import SupplyLot
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.chain import chain_head
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.rules.names import household_mechanism
from marketplace.ledger.services import household_account
from marketplace.orders.models import Order, OrderLine
from marketplace.people.models import Household

DISPLAY_TIME = ZoneInfo("Asia/Shanghai")
SETTING_KEYS = ("commission_rate", "platform_commission_rate", "sharing_rule_id", "profit_return_rate",
                "unit_price_per_lot_unit_fen", "floor_price_fen", "dividend_rate", "distributable_profit_fen",
                "annual_rate", "period", "purpose", "reverses_rule", "batch_id", "reason")


@dataclass(frozen=True)
class Trace:
    entry_id: int
    at: str
    rule: str
    mechanism: str
    fen: int
    balance_fen: int
    cause: str
    settings: dict


def _cause(entry, household_id):
    parts = []
    if entry.order_id:
        parts.append(f"order {db.session.get(Order, entry.order_id).public_no}")
    if entry.order_line_id:
        line = db.session.get(OrderLine, entry.order_line_id)
        parts.append(f"line {line.id} {line.title_zh} × {line.quantity} @ {line.unit_price_fen} fen")
    if entry.lot_id:
        lot = db.session.get(SupplyLot, entry.lot_id)
        parts.append(f"lot {lot.id} ({lot.quantity} units at floor {lot.floor_price_fen} fen, {lot.received_on})")
    for allocation in (entry.rule_settings or {}).get("allocations", []):
        if allocation["household_id"] == household_id:
            parts.append(f"lot {allocation['lot_id']}: {allocation['lot_units']} units over floor "
                         f"{allocation['floor_price_fen']} fen → {allocation['return_fen']} fen")
    if entry.refund_id:
        parts.append(f"refund {entry.refund_id}")
    if entry.payout_item_id:
        parts.append(f"payout item {entry.payout_item_id}")
    return "; ".join(parts) or entry.memo


def explain_household(household_id):
    """(balance, traces oldest first): every posting on the household's account with its cause."""
    if db.session.get(Household, household_id) is None:
        raise NotFound("No such household.")
    account = household_account(household_id)
    rows = db.session.execute(
        select(JournalEntry, Posting.amount_fen).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account).order_by(JournalEntry.id)).all()
    traces, balance = [], 0
    for entry, amount in rows:
        balance -= amount
        settings = {key: value for key, value in (entry.rule_settings or {}).items() if key in SETTING_KEYS}
        traces.append(Trace(entry_id=entry.id, at=entry.created_at.isoformat(timespec="seconds"), rule=entry.rule,
                            mechanism=household_mechanism(entry), fen=-amount, balance_fen=balance,
                            cause=_cause(entry, household_id), settings=settings))
    return household_balance(household_id), traces


def shanghai_time(moment):
    """A stored UTC time as the district reads it (Asia/Shanghai)."""
    return moment.replace(tzinfo=UTC).astimezone(DISPLAY_TIME).strftime("%Y-%m-%d %H:%M") if moment else "—"


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
