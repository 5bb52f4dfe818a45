from datetime import date

from pydantic import Field, model_validator

from marketplace.web.api.schemas import Output, QueryInput, UtcDateTime
from marketplace.web.security.fields import api_whole_number


class HouseholdQuery(QueryInput):
    q: str = Field(default="", max_length=40, description="Head of household's name or village name.")
    village_id: api_whole_number(ge=1) | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: api_whole_number(ge=1, le=100) = 20


class Balance(Output):
    posted_fen: int
    pending_fen: int = Field(description="credited by sales whose shipment has not settled yet")
    awaiting_funding_fen: int = Field(description="floor money its cooperative has not covered yet")
    available_fen: int = Field(description="posted − pending − awaiting funding: what may be paid out")
    paid_to_date_fen: int


class Household(Output):
    id: int
    village_id: int
    head_name: str
    is_verified_poor: bool
    payout_method: str
    balance: Balance


class HouseholdPage(Output):
    items: list[Household]
    next_cursor: str | None


class PeriodQuery(QueryInput):
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def both_or_neither(self):
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither")
        return self


class StatementLine(Output):
    at: UtcDateTime
    entry_id: int
    mechanism: str
    fen: int
    rule: str
    memo: str
    order_no: str | None
    lot_id: int | None
    explanation: str = Field(description="Why the household got (or gave) this money: plain sentences in the "
                                          "caller's language (Accept-Language), built from what the entry recorded")


class Statement(Output):
    household_id: int
    start: date
    end: date
    opening_fen: int
    credits_by_mechanism_fen: dict[str, int]
    spending_fen: int
    payouts_fen: int
    other_fen: int
    closing_fen: int
    lines: list[StatementLine]
    balance: Balance
