"""WeChat Pay and Alipay for the local Stripe stand-in (localstripe has cards and SEPA only).

What is emulated, with Stripe's object shapes (as the `stripe` library and Stripe's OpenAPI
spec name them):

- PaymentMethods of type `wechat_pay` and `alipay` (`{"type": "wechat_pay", "wechat_pay": {}}`),
  created from `payment_method_data` on confirm, as Stripe.js or a server does.
- A PaymentIntent keeps its `payment_method_types` and `payment_method_options`; confirming it
  with a type it does not list, in a currency the method does not take, WeChat Pay without
  `payment_method_options[wechat_pay][client]=web` (the app clients are not emulated) or Alipay
  without a `return_url` is refused with a 400, and nothing changes.
- Confirming moves it to `requires_action` with Stripe's `next_action`: for WeChat Pay
  `wechat_pay_display_qr_code` (`data` a `weixin://wxpay/bizpayurl?pr=…` string, a
  `hosted_instructions_url`, `image_data_url`, `image_url_png`, `image_url_svg`), for Alipay
  `redirect_to_url` (`url`, `return_url`).
- What the buyer does on the phone is a control for development and tests, clearly labelled:
  `POST /_config/payment_intents/{id}/simulate` with `outcome` = `succeed` (the scan / the approval),
  `fail` (declined in the wallet) or `expire` (the QR or the Alipay page ran out of time). The
  hosted pages (`/_config/wallets/{id}/wechat_pay`, `/_config/wallets/{id}/alipay`) show the same
  choice as buttons in a browser; Alipay's then sends the buyer back to `return_url` with
  `payment_intent`, `payment_intent_client_secret` and `redirect_status`, as Stripe does.
- `succeed` makes a charge (with `payment_method_details.type` and the wallet's
  `transaction_id`), its `charge` balance transaction, and sends `charge.succeeded` and
  `payment_intent.succeeded`. `fail` and `expire` put the PaymentIntent back to
  `requires_payment_method` with `last_payment_error` (code `payment_intent_payment_attempt_failed`
  or `payment_intent_payment_attempt_expired`) and send `payment_intent.payment_failed`.
- Cancelling a PaymentIntent (any method) sends `payment_intent.canceled`, which localstripe omits.
- Every charge reports `payment_method_details` (cards too), which localstripe omits.

Fees stay localstripe's 0 until `POST /_config/charges/{id}/fee` says otherwise (local_stripe_server.py).
"""
import base64
import html
from io import BytesIO
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

import qrcode
import qrcode.image.svg
from aiohttp import web
from localstripe import server
from localstripe.errors import UserError
from localstripe.resources import Charge, Event, PaymentIntent, PaymentMethod, StripeObject, fingerprint, random_id
from localstripe.webhooks import schedule_webhook

WALLETS = ("wechat_pay", "alipay")
KNOWN_TYPES = ("card", "sepa_debit") + WALLETS
# The presentment currencies Stripe lists for each wallet (a platform outside the mainland).
CURRENCIES = {
    "wechat_pay": {"cny", "aud", "cad", "eur", "gbp", "hkd", "jpy", "sgd", "usd", "dkk", "nok", "sek", "chf"},
    "alipay": {"cny", "aud", "cad", "eur", "gbp", "hkd", "jpy", "sgd", "myr", "nzd", "usd"},
}
OUTCOMES = ("succeed", "fail", "expire")
ATTEMPT_ERRORS = {
    "fail": ("payment_intent_payment_attempt_failed", "The customer declined the payment in the wallet."),
    "expire": ("payment_intent_payment_attempt_expired",
               "The payment attempt expired before the customer completed it."),
}

public_base = "http://127.0.0.1:8420"  # where a browser reaches this server; set by install()

_payment_method_init = PaymentMethod.__init__
_payment_intent_init = PaymentIntent.__init__
_last_payment_error = PaymentIntent.last_payment_error


def _new_payment_method_init(self, type=None, wechat_pay=None, alipay=None, billing_details=None, metadata=None,
                             **kwargs):
    if type not in WALLETS:
        if wechat_pay is not None or alipay is not None:
            raise UserError(400, "Bad request")
        return _payment_method_init(self, type=type, billing_details=billing_details, metadata=metadata, **kwargs)
    if kwargs or any(value not in (None, "", {}) for value in (wechat_pay, alipay)):
        raise UserError(400, "Unexpected " + ", ".join(kwargs) if kwargs else "Bad request")
    StripeObject.__init__(self)
    self.type = type
    setattr(self, type, {})
    self.billing_details = billing_details or {"address": None, "email": None, "name": None, "phone": None}
    self.customer = None
    self.metadata = metadata or {}


def _new_payment_intent_init(self, payment_method_types=None, payment_method_options=None, description=None,
                             **kwargs):
    types = payment_method_types or ["card"]
    if not isinstance(types, list) or not types or any(kind not in KNOWN_TYPES for kind in types):
        raise UserError(400, "Invalid payment_method_types", {"code": "parameter_invalid_string",
                                                               "param": "payment_method_types"})
    currency = str(kwargs.get("currency") or "").lower()
    for kind in types:
        if kind in WALLETS and currency not in CURRENCIES[kind]:
            raise UserError(400, f"The currency provided ({currency}) is invalid for {kind}.",
                            {"code": "payment_intent_invalid_parameter", "param": "currency"})
    _payment_intent_init(self, **kwargs)
    self.payment_method_types = list(types)
    self.payment_method_options = payment_method_options if isinstance(payment_method_options, dict) else {}
    self.description = description
    self._attempt_error = None
    self._wallet_secret = None


def _new_last_payment_error(self):
    error = getattr(self, "_attempt_error", None)
    return error if error else _last_payment_error.fget(self)


def _charge_payment_method_details(charge):
    method_id = getattr(charge, "payment_method", None)
    try:
        method = PaymentMethod._api_retrieve(method_id) if isinstance(method_id, str) else None
    except UserError:
        method = None
    if method is None:
        return None
    if method.type == "card":
        card = method.card
        return {"type": "card", "card": {key: card.get(key) for key in (
            "brand", "country", "exp_month", "exp_year", "fingerprint", "funding", "last4")}}
    if method.type == "wechat_pay":
        return {"type": "wechat_pay", "wechat_pay": {
            "fingerprint": fingerprint(method.id), "location": None, "reader": None,
            "transaction_id": getattr(charge, "_wallet_transaction_id", None)}}
    if method.type == "alipay":
        return {"type": "alipay", "alipay": {
            "buyer_id": "2088" + fingerprint(method.id)[:12], "fingerprint": fingerprint(method.id),
            "transaction_id": getattr(charge, "_wallet_transaction_id", None)}}
    return {"type": method.type, method.type: {}}


def _png_data_url(data):
    buffer = BytesIO()
    qrcode.make(data, box_size=6, border=2).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _wallet_url(intent, kind, suffix=""):
    return f"{public_base}/_config/wallets/{intent.id}/{kind}{suffix}?" + urlencode({"client_secret": intent._wallet_secret})


def _next_action(intent, kind, return_url):
    if kind == "wechat_pay":
        data = "weixin://wxpay/bizpayurl?pr=" + random_id(16)
        return {"type": "wechat_pay_display_qr_code", "wechat_pay_display_qr_code": {
            "data": data, "hosted_instructions_url": _wallet_url(intent, kind),
            "image_data_url": _png_data_url(data),
            "image_url_png": _wallet_url(intent, kind, ".png"), "image_url_svg": _wallet_url(intent, kind, ".svg")}}
    return {"type": "redirect_to_url", "redirect_to_url": {"url": _wallet_url(intent, kind), "return_url": return_url}}


def confirm_wallet(intent, kind, payment_method_options, return_url):
    """Stripe's checks, then requires_action with the method's next_action."""
    if intent.status not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise UserError(400, f"You cannot confirm this PaymentIntent because it has a status of {intent.status}.",
                        {"code": "payment_intent_unexpected_state"})
    if kind not in intent.payment_method_types:
        raise UserError(400, f"The payment method type provided: {kind} is invalid. This PaymentIntent only "
                             f"accepts: {', '.join(intent.payment_method_types)}.",
                        {"code": "payment_intent_invalid_parameter", "param": "payment_method_data[type]"})
    options = {**intent.payment_method_options, **(payment_method_options or {})}
    if kind == "wechat_pay":
        client = (options.get("wechat_pay") or {}).get("client")
        if client != "web":
            raise UserError(400, "payment_method_options[wechat_pay][client] must be web (the local stand-in "
                                 "emulates the QR code flow only).",
                            {"code": "parameter_missing", "param": "payment_method_options[wechat_pay][client]"})
    if kind == "alipay" and not (isinstance(return_url, str) and return_url.startswith("http")):
        raise UserError(400, "A return_url is required to confirm an Alipay payment.",
                        {"code": "parameter_missing", "param": "return_url"})
    method = PaymentMethod(type=kind)
    intent.payment_method = method.id
    intent.payment_method_options = options
    intent._attempt_error = None
    intent._authentication_failed = False
    intent._wallet_secret = random_id(24)
    intent.next_action = _next_action(intent, kind, return_url)
    return intent


def _wallet_of(intent):
    if not intent.payment_method:
        return None
    kind = PaymentMethod._api_retrieve(intent.payment_method).type
    return kind if kind in WALLETS else None


def simulate(intent, outcome):
    """What the buyer's phone does: scan and pay (succeed), decline (fail), or let it run out (expire)."""
    if outcome not in OUTCOMES:
        raise UserError(400, f"outcome must be one of {', '.join(OUTCOMES)}")
    kind = _wallet_of(intent)
    if intent.status != "requires_action" or kind is None:
        raise UserError(400, f"PaymentIntent {intent.id} is {intent.status}: it awaits no WeChat Pay or Alipay "
                             "action.", {"code": "payment_intent_unexpected_state"})
    intent.next_action = None
    if outcome == "succeed":
        intent.latest_charge = None
        intent._create_charge(on_failure_now=intent._report_failure)
        charge = intent.latest_charge
        charge._wallet_transaction_id = ("4200" if kind == "wechat_pay" else "2026") + random_id(24).lower()
        schedule_webhook(Event("charge.succeeded", charge))
        return intent
    code, message = ATTEMPT_ERRORS[outcome]
    method = PaymentMethod._api_retrieve(intent.payment_method)
    intent._attempt_error = {"code": code, "message": message, "type": "invalid_request_error",
                             "payment_method": method._export()}
    intent.payment_method = None
    schedule_webhook(Event("payment_intent.payment_failed", intent))
    return intent


# --- the API: confirm and cancel as Stripe has them ---------------------------------------------

_localstripe_confirm = PaymentIntent._api_confirm
_localstripe_cancel = PaymentIntent._api_cancel


def api_confirm(id=None, payment_method=None, payment_method_data=None, payment_method_options=None,
                return_url=None, **kwargs):
    intent = PaymentIntent._api_retrieve(id)
    kind = payment_method_data.get("type") if isinstance(payment_method_data, dict) else None
    if kind is None and isinstance(payment_method, str):
        kind = PaymentMethod._api_retrieve(payment_method).type
        if kind in WALLETS:
            raise UserError(400, "Confirm a wallet payment with payment_method_data[type].")
    if kind in WALLETS:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        return confirm_wallet(intent, kind, payment_method_options, return_url)
    if payment_method_data is not None:
        raise UserError(400, "The local stand-in creates card PaymentMethods with POST /v1/payment_methods only.")
    if isinstance(payment_method, str):
        if kind not in intent.payment_method_types:
            raise UserError(400, f"The payment method type provided: {kind} is invalid.",
                            {"code": "payment_intent_invalid_parameter", "param": "payment_method"})
        intent.payment_method = payment_method  # Stripe attaches it, then confirms
        intent.next_action = None
        intent._attempt_error = None
    return _localstripe_confirm(id=id, **kwargs)


def api_cancel(id=None, cancellation_reason=None, **kwargs):
    intent = _localstripe_cancel(id=id, **kwargs)
    intent.cancellation_reason = cancellation_reason or "requested_by_customer"
    schedule_webhook(Event("payment_intent.canceled", intent))
    return intent


def _replace_route(method, path, func):
    for resource in server.app.router.resources():
        if resource.canonical == path:
            for route in resource:
                if route.method == method:
                    route._handler = server.api_extra(func, path)
                    return
    raise RuntimeError(f"localstripe has no route {method} {path}")


# --- the controls and the hosted pages --------------------------------------------------------


async def simulate_endpoint(request):
    data = await server.get_post_data(request) or {}
    intent = simulate(PaymentIntent._api_retrieve(request.match_info["id"]), data.get("outcome"))
    return server.json_response(intent._export())


def _intent_for_page(request):
    intent = PaymentIntent._api_retrieve(request.match_info["id"])
    secret = request.query.get("client_secret")
    if not secret or secret != getattr(intent, "_wallet_secret", None):
        raise UserError(404, "Not Found")
    return intent


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:1rem auto;padding:0 1rem}}
.label{{background:#fff3cd;border:1px solid #c90;padding:.5rem}}button{{font-size:1.1rem;margin:.3rem 0;width:100%}}
</style></head><body><p class="label">Local Stripe stand-in — simulated wallet, no money moves.</p>
<h1>{title}</h1>{body}</body></html>"""


def _buttons(intent, kind):
    action = html.escape(_wallet_url(intent, kind))
    labels = {"succeed": "Simulate the approval" if kind == "alipay" else "Simulate the scan and payment",
              "fail": "Simulate a decline", "expire": "Simulate the time running out"}
    return "".join(f'<form method="post" action="{action}"><button name="outcome" value="{outcome}" '
                   f'id="simulate-{outcome}">{labels[outcome]}</button></form>' for outcome in OUTCOMES)


def _qr(intent, kind, as_svg):
    data = intent.next_action["wechat_pay_display_qr_code"]["data"]
    buffer = BytesIO()
    if as_svg:
        qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2).save(buffer)
        return web.Response(body=buffer.getvalue(), content_type="image/svg+xml")
    qrcode.make(data, box_size=8, border=2).save(buffer, format="PNG")
    return web.Response(body=buffer.getvalue(), content_type="image/png")


async def wallet_page(request):
    intent = _intent_for_page(request)
    kind = request.match_info["kind"]
    if kind.endswith((".png", ".svg")):
        if intent.status != "requires_action":
            raise UserError(404, "Not Found")
        return _qr(intent, kind, kind.endswith(".svg"))
    if kind not in WALLETS or _wallet_of(intent) not in (kind, None):
        raise UserError(404, "Not Found")
    title = {"wechat_pay": "WeChat Pay", "alipay": "Alipay"}[kind]
    amount = f"{intent.amount / 100:.2f} {intent.currency.upper()}"
    if intent.status == "requires_action":
        body = f"<p>Pay {amount} ({html.escape(intent.id)}).</p>" + _buttons(intent, kind)
    else:
        body = f"<p>This payment is {html.escape(intent.status)}.</p>"
    return web.Response(text=PAGE.format(title=title, body=body), content_type="text/html")


async def wallet_action(request):
    intent = _intent_for_page(request)
    kind = request.match_info["kind"]
    return_url = (intent.next_action or {}).get("redirect_to_url", {}).get("return_url")
    data = await request.post()
    simulate(intent, data.get("outcome"))
    if kind == "alipay" and return_url:
        parts = urlsplit(return_url)
        query = parse_qsl(parts.query) + [("payment_intent", intent.id),
                                          ("payment_intent_client_secret", intent.client_secret),
                                          ("redirect_status", "succeeded" if intent.status == "succeeded" else "failed")]
        raise web.HTTPSeeOther(urlunsplit(parts._replace(query=urlencode(query))))
    body = f"<p id='result'>This payment is {html.escape(intent.status)}.</p>"
    return web.Response(text=PAGE.format(title="WeChat Pay", body=body), content_type="text/html")


def install(port):
    """Teach localstripe the two wallets (idempotent). `port` is where browsers reach it."""
    global public_base
    public_base = f"http://127.0.0.1:{port}"
    if PaymentMethod.__init__ is _new_payment_method_init:
        return
    PaymentMethod.__init__ = _new_payment_method_init
    PaymentIntent.__init__ = _new_payment_intent_init
    PaymentIntent.last_payment_error = property(_new_last_payment_error)
    Charge.payment_method_details = property(_charge_payment_method_details)
    _replace_route("POST", "/v1/payment_intents/{id}/confirm", api_confirm)
    _replace_route("POST", "/v1/payment_intents/{id}/cancel", api_cancel)
    server.app.router.add_post("/_config/payment_intents/{id}/simulate", simulate_endpoint)
    server.app.router.add_get("/_config/wallets/{id}/{kind}", wallet_page)
    server.app.router.add_post("/_config/wallets/{id}/{kind}", wallet_action)
