from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

# The roles of DESIGN §3; owner_type says whose account it is where there is one per owner.
ACCOUNT_KINDS = (
    "stripe_receivable", "sales_pending", "household_payable", "cooperative_revenue",
    "cooperative_inventory", "cooperative_deposit", "supplier_payable", "platform_fees",
    "payment_fees", "love_fund", "shipping", "payouts_in_transit", "bank",
    "fixed_return_receivable", "cash_collected", "refund_losses", "claims_receivable",
    "presale_deposits",  # pre-sale deposits and balances held until their pre-order is filled or refunded
    "store_credit",  # what the platform owes a buyer as store credit (a claim refunded as credit), spent at checkout
    "organisation_refunds",  # refunds owed back to an organisation that paid by company transfer, until paid back
)
OWNER_TYPES = ("", "household", "cooperative", "supplier", "town", "investment", "presale", "buyer", "organisation")


class Account(db.Model):
    """A ledger account. Balance = sum of its postings (debits positive, credits negative)."""

    __tablename__ = "ledger_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    owner_type: Mapped[str] = mapped_column(String(12), default="")
    owner_id: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        one_of("kind", ACCOUNT_KINDS, "account_kind_known"),
        one_of("owner_type", OWNER_TYPES, "owner_type_known"),
        db.UniqueConstraint("kind", "owner_type", "owner_id", name="uq_ledger_accounts_kind_owner"),
    )


class JournalEntry(db.Model):
    """An immutable journal entry. `idempotency_key` names its cause, so it is posted once.

    `rule` and `rule_settings` record which attribution rule and which settings (rates, floor
    price) produced it, so reports never recompute from today's configuration.
    """

    __tablename__ = "journal_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(40), index=True)
    rule_settings: Mapped[dict] = mapped_column(JSON, default=dict)
    memo: Mapped[str] = mapped_column(String(300), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("supply_lots.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), index=True)
    payout_item_id: Mapped[int | None] = mapped_column(ForeignKey("payout_items.id"), index=True)
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    postings: Mapped[list["Posting"]] = relationship(back_populates="entry", order_by="Posting.id")


class Posting(db.Model):
    """One leg of an entry, in signed fen: debit positive, credit negative, never zero."""

    __tablename__ = "postings"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship()

    __table_args__ = (CheckConstraint("amount_fen != 0", name="posting_not_zero"),)


class LotAllocation(db.Model):
    """Which supply lots a sold order line's units came from (FIFO), with the floor snapshotted."""

    __tablename__ = "lot_allocations"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("supply_lots.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    lot_units: Mapped[int]
    floor_price_fen: Mapped[int]
    returned_units: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        CheckConstraint("lot_units > 0", name="allocated_units_positive"),
        CheckConstraint("returned_units >= 0 AND returned_units <= lot_units", name="returned_in_range"),
        db.UniqueConstraint("order_line_id", "lot_id", name="uq_lot_allocations_line_lot"),
    )


class EntrySeal(db.Model):
    """A link of the ledger's hash chain: the entry sealed `seq`-th and the hash that seals it.

    `entry_hash` = SHA-256 of the previous seal's hash and the entry's canonical content (see
    chain.py). Seals are appended by the sealer in `seq` order; like postings they never change.
    """

    __tablename__ = "ledger_seals"
    seq: Mapped[int] = mapped_column(db.BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnsealedEntry(db.Model):
    """An entry posted and not yet sealed: the sealer's queue, written in the posting transaction.

    No foreign key: a posting transaction pays for one plain index insert per entry, nothing more.
    """

    __tablename__ = "ledger_unsealed"
    entry_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


# The public figures of each town (its impact page and the API's): maintained aggregates, folded in
# from the entries the sealer has chained (marketplace.ledger.figures), so a public page never sums postings.
class HouseholdIncome(db.Model):
    """What a household has been credited by one income mechanism (refunds counted against it).
    A row exists once the household has had any posting of that mechanism: it was reached by it."""

    __tablename__ = "household_income"
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    mechanism: Mapped[str] = mapped_column(String(20), primary_key=True)
    fen: Mapped[int] = mapped_column(db.BigInteger, default=0)


class TownIncome(db.Model):
    """A town's income by mechanism, summed over its households, and how many of them it reached."""

    __tablename__ = "town_income"
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), primary_key=True)
    mechanism: Mapped[str] = mapped_column(String(20), primary_key=True)
    fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    households: Mapped[int] = mapped_column(default=0)


class TownFigures(db.Model):
    """A town's households reached by any mechanism, and its love fund's money in and out."""

    __tablename__ = "town_figures"
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), primary_key=True, autoincrement=False)
    households_reached: Mapped[int] = mapped_column(default=0)
    love_fund_received_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    love_fund_granted_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)


class FoldMark(db.Model):
    """How far along the hash chain an aggregate has folded: every link with seq ≤ `seq` is in it, once."""

    __tablename__ = "ledger_fold_marks"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(db.BigInteger, default=0)
