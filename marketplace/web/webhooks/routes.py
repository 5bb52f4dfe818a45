from flask import jsonify, request

from marketplace.extensions import csrf
from marketplace.payments.local_stripe import WEBHOOK_PATH
from marketplace.payments.webhooks import BadWebhook, handle_webhook
from marketplace.web.webhooks import bp


@bp.post(WEBHOOK_PATH)
@csrf.exempt
def stripe_webhook():
    """Stripe's signed events; the signature is checked on the raw body, before any parsing."""
    try:
        outcome = handle_webhook(request.get_data(cache=False), request.headers.get("Stripe-Signature"))
    except BadWebhook as error:
        return jsonify(error=error.message), 400
    return jsonify(received=True, outcome=outcome)
