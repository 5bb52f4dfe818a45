"""Buying through the API: the cart, checkout, payment, orders with their timeline, the impact receipt.

Any signed-in token may shop, as on the storefront; a buyer sees only their own orders
(`order_for_buyer` answers another buyer's order as not found).
"""
from datetime import datetime

from flask import current_app

from marketplace.ledger import impact_receipt
from marketplace.orders import cart as carts
from marketplace.orders.checkout import Delivery, order_for_buyer, place_order, quote, start_payment
from marketplace.orders.fulfilment import confirm_receipt, seller_name
from marketplace.orders.history import buyer_orders, order_timeline
from marketplace.orders.store_credit import store_credit_of_order
from marketplace.web.api.framework import ANY_SIGNED_IN, operation
from marketplace.web.api.pagination import decode_keyset, page_of
from marketplace.web.api.schemas import shop as schemas


def _cart(user):
    cart = carts.open_cart(user_id=user.id)
    offer = quote(cart.id)
    lines = [schemas.CartLine(
        item_id=line.item.id, variant_id=line.variant.id, product_slug=line.variant.product.slug,
        title_zh=f"{line.variant.product.title_zh} · {line.variant.name_zh}",
        title_en=f"{line.variant.product.title_en} · {line.variant.name_en}", unit=line.variant.unit,
        unit_price_fen=line.variant.price_fen, quantity=line.quantity, line_total_fen=line.line_total_fen,
        short_by=line.short_by) for line in carts.cart_lines(cart.id)]
    return schemas.Cart(lines=lines, subtotal_fen=offer.subtotal_fen, shipping_fen=offer.shipping_fen,
                        round_up_fen=offer.round_up_fen)


@operation("GET", "/cart", tag="Cart and checkout", summary="The token owner's cart", roles=ANY_SIGNED_IN,
           response=schemas.Cart)
def get_cart(user):
    return _cart(user)


@operation("POST", "/cart/items", tag="Cart and checkout", summary="Put a variant in the cart", roles=ANY_SIGNED_IN,
           body=schemas.CartItemIn, response=schemas.Cart, status=201)
def add_cart_item(user, body):
    """Adds to the quantity already in the cart; never more than the stock or 99."""
    carts.add_item(carts.open_cart(user_id=user.id).id, body.variant_id, body.quantity)
    return _cart(user)


@operation("PATCH", "/cart/items/<id:item_id>", tag="Cart and checkout", summary="Change a cart line's quantity",
           roles=ANY_SIGNED_IN, body=schemas.QuantityIn, response=schemas.Cart)
def set_cart_item(user, item_id, body):
    carts.set_quantity(carts.open_cart(user_id=user.id).id, item_id, body.quantity)
    return _cart(user)


@operation("DELETE", "/cart/items/<id:item_id>", tag="Cart and checkout", summary="Take a line out of the cart",
           roles=ANY_SIGNED_IN, response=schemas.Cart)
def remove_cart_item(user, item_id):
    carts.remove_item(carts.open_cart(user_id=user.id).id, item_id)
    return _cart(user)


def _order(order):
    return schemas.Order(
        **schemas.OrderSummary.model_validate(order).model_dump(),
        delivery_kind=order.delivery_kind, recipient_name=order.recipient_name, address=order.address,
        region_code=order.region_code, store_credit_fen=store_credit_of_order(order.id), service_point_id=order.service_point_id, reservation_expires_at=order.reservation_expires_at,
        carrier=order.carrier, tracking_no=order.tracking_no,
        lines=[schemas.OrderLine.model_validate(line) for line in order.lines],
        shipments=[schemas.Shipment(
            id=shipment.id, seller_zh=seller_name(shipment.seller_id, "zh"), seller_en=seller_name(shipment.seller_id, "en"),
            status=shipment.status, carrier=shipment.carrier, tracking_no=shipment.tracking_no,
            shipped_at=shipment.shipped_at, delivered_at=shipment.delivered_at, settled_at=shipment.settled_at)
            for shipment in sorted(order.shipments, key=lambda shipment: shipment.id)],
        timeline=[schemas.OrderEvent.model_validate(event) for event in order_timeline(order.id)])


@operation("POST", "/orders", tag="Cart and checkout", summary="Check out: turn the cart into an order",
           roles=ANY_SIGNED_IN, body=schemas.CheckoutIn, response=schemas.Order, status=201, idempotent=True,
           links={"GetOrder": ("get_order", {"public_no": "$response.body#/public_no"}),
                  "StartPayment": ("start_order_payment", {"public_no": "$response.body#/public_no"})})
def checkout(user, body, idempotency_key):
    """Reserves the stock for the payment window, at today's prices. Send an `Idempotency-Key` so
    that a retry after a lost answer returns the same order instead of placing a second one."""
    cart = carts.open_cart(user_id=user.id)
    delivery = Delivery(kind=body.delivery_kind, recipient_name=body.recipient_name,
                        recipient_phone=body.recipient_phone, address=body.address,
                        service_point_id=body.service_point_id, province_code=body.province_code,
                        city_code=body.city_code, region_code=body.region_code, address_detail=body.address_detail)
    offer = quote(cart.id, body.delivery_kind)
    order = place_order(cart.id, user.id, delivery, donation_fen=offer.round_up_fen if body.round_up else 0,
                        use_store_credit=body.use_store_credit)
    return _order(order)


@operation("POST", "/orders/<public_no>/payment", tag="Cart and checkout",
           summary="Start paying: the order's Stripe PaymentIntent and its client secret", roles=ANY_SIGNED_IN,
           response=schemas.PaymentStart)
def start_order_payment(user, public_no):
    """The order's one PaymentIntent (the same one on every call). Confirm it with Stripe using the
    client secret; the order becomes paid when Stripe's signed webhook arrives."""
    order = order_for_buyer(public_no, user.id)
    payment, intent = start_payment(order.id)
    return schemas.PaymentStart(
        order_no=public_no, payment_intent_id=intent.id, client_secret=intent.client_secret, status=intent.status,
        amount_fen=payment.amount_fen, currency=payment.currency,
        publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"])


@operation("GET", "/orders", tag="Orders", summary="The token owner's orders, newest first", roles=ANY_SIGNED_IN,
           query=schemas.PageQuery, response=schemas.OrderPage)
def list_orders(user, query):
    before = decode_keyset(query.cursor, (datetime.fromisoformat, int))
    orders = buyer_orders(user.id, limit=query.limit + 1, before=before)
    shown, cursor = page_of(orders, query.limit, lambda order: [order.created_at.isoformat(), order.id])
    return schemas.OrderPage(items=[schemas.OrderSummary.model_validate(order) for order in shown], next_cursor=cursor)


@operation("GET", "/orders/<public_no>", tag="Orders", summary="An order with its lines and status timeline",
           roles=ANY_SIGNED_IN, response=schemas.Order,
           links={"GetImpactReceipt": ("get_impact_receipt", {"public_no": "$response.body#/public_no"})})
def get_order(user, public_no):
    return _order(order_for_buyer(public_no, user.id))


@operation("POST", "/orders/<public_no>/shipments/<id:shipment_id>/receipt", tag="Orders",
           summary="Confirm receipt (确认收货) of one parcel of the order", roles=ANY_SIGNED_IN, response=schemas.Order)
def confirm_shipment_receipt(user, public_no, shipment_id):
    """The buyer has the parcel: shipped → delivered. The after-sales window (AFTER_SALES_DAYS)
    starts now; the sellers' credits settle when it ends with no open claim. Confirming a parcel
    that is not on its way (not shipped yet, or already delivered) is refused with 409."""
    confirm_receipt(public_no, shipment_id, user.id)
    return _order(order_for_buyer(public_no, user.id))


@operation("GET", "/orders/<public_no>/impact", tag="Impact", summary="The order's impact receipt",
           roles=ANY_SIGNED_IN, response=schemas.ImpactReceipt)
def get_impact_receipt(user, public_no):
    """Where the money went, household by household (consented labels only), from the ledger."""
    order = order_for_buyer(public_no, user.id)
    receipt = impact_receipt(order.id)
    return schemas.ImpactReceipt(
        order_no=order.public_no, attributed=receipt.attributed, total_fen=receipt.total_fen,
        rows=[schemas.ReceiptRow(kind=row.kind, label_zh=row.label_zh, label_en=row.label_en, fen=row.fen)
              for row in receipt.rows])
