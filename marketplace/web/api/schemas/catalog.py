from typing import Literal

from pydantic import Field

from marketplace.web.api.schemas import Output, QueryInput
from marketplace.web.security.fields import api_whole_number

Label = Literal["selenium", "organic", "poor_direct"]
Sort = Literal["featured", "price_asc", "price_desc", "newest", "relevance"]


class CatalogueQuery(QueryInput):
    q: str = Field(default="", max_length=100, description="Words to find in titles and village names.")
    category_id: api_whole_number(ge=1) | None = None
    town_id: api_whole_number(ge=1) | None = None
    village_id: api_whole_number(ge=1) | None = None
    cooperative_id: api_whole_number(ge=1) | None = None
    household_id: api_whole_number(ge=1) | None = None
    label: list[Label] = Field(default_factory=list, max_length=3)
    min_price_fen: api_whole_number(ge=0) | None = None
    max_price_fen: api_whole_number(ge=0) | None = None
    sort: Sort = Field(default="featured", description="`relevance` ranks a search as the storefront does "
                                                        "(title matches first); without `q` it is `featured`.")
    cursor: str | None = Field(default=None, max_length=200)
    limit: api_whole_number(ge=1, le=100) = 12


class Place(Output):
    id: int
    name_zh: str
    name_en: str


class Variant(Output):
    id: int
    sku: str
    name_zh: str
    name_en: str
    unit: str
    price_fen: int
    stock_available: int
    weight_grams: int


class ProductSummary(Output):
    id: int
    slug: str
    title_zh: str
    title_en: str
    category_id: int
    origin_village: Place | None
    seller_kind: Literal["cooperative", "household", "supplier"]
    lowest_price_fen: int | None
    labels: list[Label]
    photo_url: str | None


class SuggestionQuery(QueryInput):
    q: str = Field(min_length=1, max_length=100, description="What the buyer has typed so far (汉字, pinyin or English).")


class Suggestion(Output):
    slug: str
    title_zh: str
    title_en: str


class SuggestionList(Output):
    items: list[Suggestion]


class ProductPage(Output):
    items: list[ProductSummary]
    total: int
    next_cursor: str | None


class Provenance(Output):
    """Where the product comes from. Households appear only by their consented public label."""

    village: Place | None
    town: Place | None
    seller_name_zh: str
    seller_name_en: str
    floor_price_fen: int | None = Field(description="The guaranteed floor price paid to households per lot unit.")
    supplying_households: int
    supplier_labels_zh: list[str]
    supplier_labels_en: list[str]


class ProductDetail(ProductSummary):
    story_zh: str
    story_en: str
    photo_urls: list[str]
    variants: list[Variant]
    provenance: Provenance


class Town(Place):
    slug: str


class TownList(Output):
    items: list[Town]


class TownImpact(Output):
    """Households of the town that earned through the platform, and their income by mechanism."""

    town: Town
    households_reached: int
    income_fen: int
    by_mechanism_fen: dict[str, int]
    households_by_mechanism: dict[str, int]
    love_fund_received_fen: int
    love_fund_granted_fen: int
    love_fund_balance_fen: int
