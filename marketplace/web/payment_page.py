"""The pay page of the storefront and of the service points.

Against the local Stripe server it shows a labelled test-card button; against Stripe it mounts
Stripe's Payment Element, which is served by Stripe.js and runs in Stripe's frames, so only that
page widens the Content-Security-Policy to Stripe's hosts.
"""
from flask import current_app, render_template

from marketplace.orders.checkout import start_payment
from marketplace.payments.stripe_gateway import uses_local_server

STRIPE_JS = "https://js.stripe.com/v3/"
STRIPE_CSP = (
    "default-src 'self'; img-src 'self' data: https://*.stripe.com; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; "
    "connect-src 'self' https://api.stripe.com; object-src 'none'; base-uri 'self'; form-action 'self'")


def payment_page(template, order, return_url, **context):
    test_card = uses_local_server()
    client_secret = None
    if not test_card:
        _payment, intent = start_payment(order.id)
        client_secret = intent.client_secret
    response = current_app.make_response(render_template(
        template, order=order, test_card=test_card, client_secret=client_secret, stripe_js=STRIPE_JS,
        publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"], return_url=return_url, **context))
    if not test_card:
        response.headers["Content-Security-Policy"] = STRIPE_CSP
    return response
