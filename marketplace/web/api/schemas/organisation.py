from datetime import date

from pydantic import Field

from marketplace.web.api.schemas import Input, Output, QueryInput, UtcDateTime
from marketplace.web.security.fields import api_whole_number


class OrderRequest(Output):
    id: int
    status: str = Field(description="awaiting_approval, returned or approved")
    submitted_at: UtcDateTime
    estimate_fen: int = Field(description="the lines at the prices when it was submitted")
    decision_note: str
    order_no: str | None = Field(description="the order its approval placed")
    order_status: str | None
    total_fen: int | None
    transfer_reference: str | None = Field(description="write it in the company transfer's memo")
    pay_before: UtcDateTime | None = Field(description="when an unpaid order must be paid: its goods are released then if it is to be paid "
                                                  "first; 30 days after acceptance if it is paid after acceptance")
    paid_by_transfer_on: date | None


class OrderRequestList(Output):
    items: list[OrderRequest]


class ReportQuery(QueryInput):
    year: api_whole_number(ge=2020, le=2100) | None = None


class ReachedPlace(Output):
    town: str
    village: str
    poor_village: bool
    households: int
    fen: int


class Mechanism(Output):
    households: int
    fen: int


class QuotaReport(Output):
    year: int
    declared_total_fen: int | None
    required_share: str | None = Field(description="a rate: 0.3000 is 30 %")
    required_fen: int | None
    bought_fen: int = Field(description="what the goods' sellers were credited, net of refunds")
    share_reached: str | None
    orders: int
    by_month_fen: dict[str, int]
    households_reached: int
    mechanisms: dict[str, Mechanism]
    places: list[ReachedPlace]
    cooperatives: dict[str, int]


class RequestReturnIn(Input):
    note: str = Field(min_length=1, max_length=300, description="why the approver returns it, shown to the buyer")
