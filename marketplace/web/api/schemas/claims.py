from typing import Literal

from pydantic import Field

from marketplace.web.api.schemas import Input, Output, UtcDateTime
from marketplace.web.security.fields import api_whole_number

# A photo, base64-encoded: at most 5 MB of picture (about 6.7 MB of base64).
MAX_PHOTO_BASE64 = 7_000_000


class ClaimIn(Input):
    """An after-sales claim on some units of one line of a delivered parcel, within the after-sales window."""

    order_line_id: api_whole_number(ge=1)
    reason: Literal["damaged", "spoiled", "short_weight", "wrong_item", "not_received"]
    quantity: api_whole_number(ge=1, le=100_000)
    remedy: Literal["refund", "replacement"]
    refund_to: Literal["original", "store_credit"] = Field(
        default="original", description="Where a refund goes: the original payment method, or the buyer's store credit.")
    note: str = Field(default="", max_length=500)
    photos: list[str] = Field(default_factory=list, max_length=3,
                              description="JPEG, PNG or WebP pictures, base64-encoded, up to 5 MB each.")


class OfferAnswerIn(Input):
    accept: bool


class ClaimAnswerIn(Input):
    """The seller's answer: `accept`, `offer` (with `offer_fen`, less than the full refund) or `reject`
    (with `reason`)."""

    action: Literal["accept", "offer", "reject"]
    offer_fen: api_whole_number(ge=1, le=1_000_000_000) | None = None
    reason: str = Field(default="", max_length=500)


class Claim(Output):
    id: int
    order_id: int
    order_line_id: int
    reason: str
    quantity: int
    remedy: str
    refund_to: Literal["original", "store_credit"]
    note: str
    status: Literal["awaiting_seller", "offered", "escalated", "resolved", "rejected"]
    opened_at: UtcDateTime
    respond_by: UtcDateTime
    offer_fen: int | None
    seller_reason: str
    refund_fen: int | None
    seller_percent: int
    carrier_percent: int
    platform_percent: int
    decision_reason: str
    replacement_shipment_id: int | None


class ClaimList(Output):
    items: list[Claim]
