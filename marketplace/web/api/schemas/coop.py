from datetime import date

from pydantic import Field

from marketplace.web.api.schemas import Input, Output, QueryInput, UtcDateTime
from marketplace.web.api.schemas.catalog import Variant
from marketplace.web.security.fields import api_whole_number


class Listing(Output):
    id: int
    slug: str
    status: str
    title_zh: str
    title_en: str
    floor_price_fen: int | None
    lot_unit: str
    variants: list[Variant]


class ListingList(Output):
    items: list[Listing]


class LotIn(Input):
    """A delivery from a member household (批次). With `variant_id` the goods also go on sale."""

    product_id: api_whole_number(ge=1)
    household_id: api_whole_number(ge=1)
    quantity: api_whole_number(ge=1, le=10_000_000, description="Lot units (the product's lot unit, e.g. 斤).")
    received_on: date | None = None
    grade: str = Field(default="", max_length=20)
    variant_id: api_whole_number(ge=1) | None = None


class Lot(Output):
    id: int
    product_id: int
    household_id: int
    quantity: int
    quantity_remaining: int
    floor_price_fen: int
    received_on: date
    grade: str
    created_at: UtcDateTime


class LotPage(Output):
    items: list[Lot]
    next_cursor: str | None


class LotPageQuery(QueryInput):
    cursor: str | None = Field(default=None, max_length=200)
    limit: api_whole_number(ge=1, le=100) = 20


class StockIn(Input):
    stock_available: api_whole_number(ge=0, le=1_000_000)
    stock_seen: api_whole_number(ge=0, le=1_000_000, description="The stock the client last read; a 409 if it changed since.")


class StockOut(Output):
    variant_id: int
    stock_available: int
