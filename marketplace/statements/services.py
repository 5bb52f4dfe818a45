"""Household balances and statements for town staff, and "why was I paid this".

Balances and statement totals come from the ledger (`household_balance`, `household_statement`);
the explanation lists each journal entry that moved the household's account, with the rule
and the settings recorded when it was posted (never recomputed from today's configuration).
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import force_locale
from sqlalchemy import or_, select, tuple_

from marketplace.documents import render_pdf
from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.reports import household_statement
from marketplace.ledger.services import household_account
from marketplace.people.models import Household
from marketplace.places.models import Village
from marketplace.places.scope import household_in_town

MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class HouseholdRow:
    household: Household
    available_fen: int
    pending_fen: int
    paid_to_date_fen: int


@dataclass(frozen=True)
class ExplainedEntry:
    """One entry on the household's account: when, which rule, how much, and from what."""

    at: datetime
    rule: str
    memo: str
    amount_fen: int
    settings: dict
    order_id: int | None
    lot_id: int | None
    payout_item_id: int | None


def check_period(start, end):
    if start > end:
        raise Conflict("The period starts after it ends.")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise Conflict("A statement covers at most three years.")


def town_households(town_id, query="", village_id=None, after=None, limit=None):
    """The town's households with their balances, found by village or head's name.

    `after` = (village_id, head_name, id) of the last household already shown and `limit`
    page through them (keyset pagination).
    """
    statement = (select(Household).join(Village).where(Village.town_id == town_id)
                 .order_by(Village.id, Household.head_name, Household.id))
    if after is not None:
        statement = statement.where(tuple_(Village.id, Household.head_name, Household.id) > tuple_(*after))
    if limit is not None:
        statement = statement.limit(limit)
    if village_id:
        statement = statement.where(Village.id == village_id)
    query = (query or "").strip()[:40]
    if query:
        like = f"%{query}%"
        statement = statement.where(or_(Household.head_name.ilike(like), Village.name_zh.ilike(like),
                                        Village.name_en.ilike(like)))
    rows = []
    for household in db.session.scalars(statement):
        balance = household_balance(household.id)
        rows.append(HouseholdRow(household, balance.available_fen, balance.pending_fen, balance.paid_to_date_fen))
    return rows


def explain_household(household_id, start, end):
    """Every entry that moved the household's account in [start, end], oldest first.

    `amount_fen` is what it did to the household: positive earned, negative spent or paid out.
    """
    account = household_account(household_id)
    rows = db.session.execute(
        select(JournalEntry, Posting.amount_fen).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account,
               JournalEntry.created_at >= datetime.combine(start, time.min),
               JournalEntry.created_at < datetime.combine(end + timedelta(days=1), time.min))
        .order_by(JournalEntry.created_at, JournalEntry.id)).all()
    return [ExplainedEntry(entry.created_at, entry.rule, entry.memo, -amount, dict(entry.rule_settings or {}),
                           entry.order_id, entry.lot_id, entry.payout_item_id)
            for entry, amount in rows]


def statement_for(town_id, household_id, start, end):
    """What a statement shows for one household of the town: totals and the entries behind them."""
    check_period(start, end)
    household = household_in_town(household_id, town_id)
    return {
        "household": household,
        "start": start,
        "end": end,
        "balance": household_balance(household.id),
        "statement": household_statement(household.id, start, end),
        "entries": explain_household(household.id, start, end),
    }


def default_period(today=None):
    today = today or date.today()
    return date(today.year, 1, 1), today


def render_chinese_pdf(template, **context):
    """A printable document is handed over in the village: always in Chinese, whatever the UI language."""
    with force_locale("zh_CN"):
        return render_pdf(template, **context)
