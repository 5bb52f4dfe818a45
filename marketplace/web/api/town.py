"""Town staff operations (read-only): the town's households with their balances, and statements.

Only a town staff token may call them, and only for households of the staff member's own town
(`staff_town_id`, `statement_for`): another town's household is answered as not found.
"""
from marketplace.places.scope import staff_town_id
from marketplace.statements import services as statements
from marketplace.web.api.framework import operation
from marketplace.web.api.pagination import decode_keyset, page_of
from marketplace.web.api.schemas import town as schemas

STAFF = ("town_staff",)


def _balance(balance):
    return schemas.Balance(posted_fen=balance.posted_fen, pending_fen=balance.pending_fen,
                           awaiting_funding_fen=balance.awaiting_funding_fen,
                           available_fen=balance.available_fen, paid_to_date_fen=balance.paid_to_date_fen)


@operation("GET", "/town/households", tag="Town staff", summary="The town's households with their balances",
           roles=STAFF, query=schemas.HouseholdQuery, response=schemas.HouseholdPage,
           links={"GetStatement": ("get_household_statement", {"household_id": "$response.body#/items/0/id"})})
def list_households(user, query):
    after = decode_keyset(query.cursor, (int, str, int))
    rows = statements.town_households(staff_town_id(user.id), query.q, query.village_id, after=after,
                                      limit=query.limit + 1)
    shown, cursor = page_of(rows, query.limit, lambda row: [row.household.village_id, row.household.head_name,
                                                            row.household.id])
    return schemas.HouseholdPage(next_cursor=cursor, items=[schemas.Household(
        id=row.household.id, village_id=row.household.village_id, head_name=row.household.head_name,
        is_verified_poor=row.household.is_verified_poor, payout_method=row.household.payout_method,
        balance=_balance(row.balance))
        for row in shown])


@operation("GET", "/town/households/<id:household_id>/statement", tag="Town staff",
           summary="A household's statement for a period", roles=STAFF, query=schemas.PeriodQuery,
           response=schemas.Statement)
def get_household_statement(user, household_id, query):
    """Opening balance, credits by mechanism, spending, payouts and closing balance for [start, end]
    (inclusive dates; this year so far when not given), with every entry behind them."""
    start, end = (query.start, query.end) if query.start else statements.default_period()
    data = statements.statement_for(staff_town_id(user.id), household_id, start, end)
    statement = data["statement"]
    explained = {trace.entry_id: trace.explanation for trace in data["entries"]}
    return schemas.Statement(
        household_id=statement.household_id, start=statement.start, end=statement.end,
        opening_fen=statement.opening_fen, credits_by_mechanism_fen=statement.credits_by_mechanism,
        spending_fen=statement.spending_fen, payouts_fen=statement.payouts_fen, other_fen=statement.other_fen,
        closing_fen=statement.closing_fen, balance=_balance(data["balance"]),
        lines=[schemas.StatementLine(at=line.at, entry_id=line.entry_id, mechanism=line.mechanism, fen=line.fen,
                                     rule=line.rule, memo=line.memo, order_no=line.order_no, lot_id=line.lot_id,
                                     explanation=explained.get(line.entry_id, ""))
               for line in statement.lines])
