"""Household balances and statements for town staff, and "why was I paid this".

Balances, statement totals and the explanation all come from the ledger (`household_balance`,
`household_statement`, `explain_household`): each posting traced to its order, lot or payout,
with the settings recorded when it was posted (never recomputed from today's configuration).
"""
from dataclasses import dataclass
from datetime import date

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import or_, select, tuple_

from marketplace.documents import html_to_pdf
from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.ledger.balances import HouseholdBalance, household_balance, household_balances
from marketplace.ledger.explain import explain_household
from marketplace.ledger.reports import household_statement
from marketplace.local_time import local_today
from marketplace.people.models import Household
from marketplace.places.models import Village
from marketplace.places.scope import household_in_town

MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class HouseholdRow:
    household: Household
    balance: HouseholdBalance

    def __getattr__(self, name):  # row.available_fen, row.pending_fen … read the balance
        return getattr(self.balance, name)


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
    if village_id:
        statement = statement.where(Village.id == village_id)
    query = (query or "").strip()[:40]
    if query:
        like = f"%{query}%"
        statement = statement.where(or_(Household.head_name.ilike(like), Village.name_zh.ilike(like),
                                        Village.name_en.ilike(like)))
    if limit is not None:
        statement = statement.limit(limit)
    households = db.session.scalars(statement).all()
    balances = household_balances([household.id for household in households])
    return [HouseholdRow(household, balances[household.id]) for household in households]


def explain_in_period(household_id, start, end):
    """The ledger's explanation (`ledger explain`) of each posting in [start, end], with the running balance."""
    _balance, traces = explain_household(household_id)
    return [trace for trace in traces if start <= trace.day <= end]


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
        "entries": explain_in_period(household.id, start, end),
    }


def default_period(today=None):
    """This year so far, in the district's calendar."""
    today = today or local_today()
    return date(today.year, 1, 1), today


def render_chinese_html(template, **context):
    """A printable document is handed over in the village: always in Chinese, whatever the UI language."""
    with force_locale("zh_CN"):
        return render_template(template, **context)


def render_chinese_pdf(template, **context):
    return html_to_pdf(render_chinese_html(template, **context))
