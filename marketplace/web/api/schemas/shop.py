from typing import Literal

from pydantic import Field

from marketplace.web.api.schemas import Input, Output, QueryInput, UtcDateTime
from marketplace.web.security.fields import api_whole_number


class CartItemIn(Input):
    variant_id: api_whole_number(ge=1)
    quantity: api_whole_number(ge=1, le=99)


class QuantityIn(Input):
    quantity: api_whole_number(ge=1, le=99)


class CartLine(Output):
    item_id: int
    variant_id: int
    product_slug: str
    title_zh: str
    title_en: str
    unit: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int
    short_by: int = Field(description="How many more than the stock this line asks for.")


class Cart(Output):
    lines: list[CartLine]
    subtotal_fen: int
    shipping_fen: int = Field(description="Shipping for delivery to an address.")
    round_up_fen: int = Field(description="What rounds the total up to the next ¥10 for the town's love fund.")


class CheckoutIn(Input):
    """Where the goods go. An address is given either by region — the three GB/T 2260 codes
    (`GET /regions/<code>` lists each level's choices) and `address_detail` — or as free text in
    `address`. `round_up` adds the offered round-up to the town's love fund; `use_store_credit`
    pays what the buyer's store credit can, and an order it covers wholly is paid at once."""

    delivery_kind: Literal["address", "pickup"]
    recipient_name: str = Field(min_length=1, max_length=80)
    recipient_phone: str = Field(min_length=6, max_length=20)
    address: str = Field(default="", max_length=300)
    province_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    city_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    address_detail: str = Field(default="", max_length=200)
    service_point_id: api_whole_number(ge=1) | None = None
    round_up: bool = False
    use_store_credit: bool = False


class OrderLine(Output):
    id: int
    variant_id: int
    title_zh: str
    title_en: str
    unit: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int
    refunded_quantity: int


class OrderEvent(Output):
    status: str
    note: str
    at: UtcDateTime


class Shipment(Output):
    """One seller's parcel of the order: packed, shipped, delivered and settled on its own."""
    id: int
    seller_zh: str
    seller_en: str
    status: Literal["open", "packed", "shipped", "delivered", "settled", "cancelled"]
    carrier: str
    tracking_no: str
    shipped_at: UtcDateTime | None
    delivered_at: UtcDateTime | None
    settled_at: UtcDateTime | None


OrderStatus = Literal["pending_payment", "paid", "packed", "shipped", "delivered", "completed",
                      "cancelled", "refunded", "partially_refunded"]


class OrderSummary(Output):
    public_no: str
    status: OrderStatus
    created_at: UtcDateTime
    paid_at: UtcDateTime | None
    subtotal_fen: int
    shipping_fen: int
    donation_fen: int
    total_fen: int
    refunded_fen: int
    currency: str


class Order(OrderSummary):
    delivery_kind: Literal["address", "pickup"]
    recipient_name: str
    address: str
    region_code: str | None
    store_credit_fen: int
    service_point_id: int | None
    reservation_expires_at: UtcDateTime | None
    carrier: str
    tracking_no: str
    lines: list[OrderLine]
    shipments: list[Shipment]
    timeline: list[OrderEvent]


class OrderPage(Output):
    items: list[OrderSummary]
    next_cursor: str | None


class PageQuery(QueryInput):
    cursor: str | None = Field(default=None, max_length=200)
    limit: api_whole_number(ge=1, le=100) = 20


class PaymentStart(Output):
    """What a client needs to confirm the payment with Stripe (Stripe.js, or a mini-program SDK)."""

    order_no: str
    payment_intent_id: str
    client_secret: str
    status: str
    amount_fen: int
    currency: str
    publishable_key: str


class ReceiptRow(Output):
    kind: Literal["household", "cooperative", "supplier", "platform", "shipping", "love_fund", "payment_fees",
                  "borne_by_cooperative", "borne_by_supplier", "borne_by_carrier", "borne_by_platform"]
    label_zh: str
    label_en: str
    fen: int


class ImpactReceipt(Output):
    """Where the buyer's money went; rows add up exactly to what was paid minus what was refunded."""

    order_no: str
    attributed: bool = Field(description="False until the payment has been attributed (seconds after it succeeds).")
    rows: list[ReceiptRow]
    total_fen: int
