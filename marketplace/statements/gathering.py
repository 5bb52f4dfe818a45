"""Every household's statement of a village in a handful of queries, whatever the village's size.

`statement_for` asks the ledger per household (balance, statement, explanation: a dozen queries
each, and one more per order or lot it mentions). For a whole village this reads every posting
of the village's households in one query, loads the orders, order lines and lots they name in
three more, and builds the same statements from them in memory: the same numbers and the same
explanation sentences (`trace_of` finds the preloaded rows in the session instead of asking again).
"""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.catalog.models import Product, SupplyLot
from marketplace.extensions import db
from marketplace.ledger.balances import household_balances
from marketplace.ledger.explain import trace_of
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.reports import _bounds, statement_from_postings
from marketplace.local_time import local_day
from marketplace.orders.models import Order, OrderLine
from marketplace.payouts.models import PayoutItem
from marketplace.people.models import Household
from marketplace.places.models import Village


def village_statements(village_id, start, end):
    """[statement dict as `statement_for` returns it] for each household of the village, by head's name.

    A handful of queries: households, postings, the orders, order lines and lots the postings
    name, and the balances of all of them at once (`household_balances`).
    Build and render before the transaction ends: the preloaded rows expire on commit.
    """
    households = db.session.scalars(
        select(Household).options(joinedload(Household.village).joinedload(Village.town))
        .where(Household.village_id == village_id).order_by(Household.head_name, Household.id)).all()
    accounts = select(Account.id).where(
        Account.kind == "household_payable", Account.owner_type == "household",
        Account.owner_id.in_(select(Household.id).where(Household.village_id == village_id)))
    postings = db.session.execute(
        select(Account.owner_id, JournalEntry, Posting.amount_fen)
        .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
        .where(Posting.account_id.in_(accounts)).order_by(JournalEntry.id)).all()
    named = select(JournalEntry.id).join(Posting, Posting.entry_id == JournalEntry.id) \
        .where(Posting.account_id.in_(accounts))
    # Held here so the session's identity map keeps them while `trace_of` and the statement look them up.
    orders = {order.id: order for order in db.session.scalars(
        select(Order).where(Order.id.in_(select(JournalEntry.order_id).where(JournalEntry.id.in_(named)))))}
    preloaded = [*db.session.scalars(select(OrderLine).where(
                     OrderLine.id.in_(select(JournalEntry.order_line_id).where(JournalEntry.id.in_(named))))),
                 *db.session.scalars(select(SupplyLot).where(
                     SupplyLot.id.in_(select(JournalEntry.lot_id).where(JournalEntry.id.in_(named))))),
                 *db.session.scalars(select(PayoutItem).options(joinedload(PayoutItem.batch)).where(
                     PayoutItem.id.in_(select(JournalEntry.payout_item_id).where(JournalEntry.id.in_(named)))))]
    # The products the sentences name: those of the lots and of the order lines.
    preloaded += db.session.scalars(select(Product).where(
        Product.id.in_([row.product_id for row in preloaded if isinstance(row, (OrderLine, SupplyLot))]))).all()
    by_household = {household.id: [] for household in households}
    for household_id, entry, amount in postings:
        by_household[household_id].append((entry, amount))
    balances = household_balances([household.id for household in households])
    statements = [_statement(household, by_household[household.id], orders, start, end, balances[household.id])
                  for household in households]
    del preloaded
    return statements


def _statement(household, postings, orders, start, end, balance):
    low, high = _bounds(start, end)
    return {"household": household, "start": start, "end": end,
            "balance": balance,
            "statement": _period_statement(household.id, postings, orders, start, end, low, high),
            "entries": _traces_in_period(household.id, postings, start, end)}


def _period_statement(household_id, postings, orders, start, end, low, high):
    """As `household_statement`: opening, credits by mechanism, spending, payouts, closing, lines."""
    opening = -sum(amount for entry, amount in postings if entry.created_at < low)
    in_period = ((entry, -amount) for entry, amount in postings if low <= entry.created_at < high)
    return statement_from_postings(household_id, start, end, opening, in_period,
                                   lambda order_id: orders[order_id].public_no)


def _traces_in_period(household_id, postings, start, end):
    """As `explain_in_period`: each posting in the period (district days) explained, with the running balance."""
    traces, balance = [], 0
    for entry, amount in postings:
        balance -= amount
        if start <= local_day(entry.created_at) <= end:
            traces.append(trace_of(entry, household_id, -amount, balance))
    return traces
