"""Saved cards and off-session payments for the local Stripe stand-in (what localstripe lacks).

localstripe has Customers, SetupIntents and `off_session` on PaymentIntent creation, but:
a SetupIntent that succeeds does not attach its card to its customer; confirming a PaymentIntent
refuses `off_session`; a card that needs 3-D Secure off session waits in `requires_action`
(nobody is there to authenticate); and a card's answer never changes, so a subscription's card
cannot run out of money in month 4. Stripe behaves otherwise; this module adds, with Stripe's
object shapes and error codes:

- A SetupIntent that succeeds attaches its PaymentMethod to the SetupIntent's customer
  (`payment_method.customer`), as Stripe does.
- `POST /v1/payment_intents/{id}/confirm` takes `off_session=true`. Off session, a PaymentMethod
  that does not belong to the PaymentIntent's customer is refused (400, nothing changes); a card
  that needs authentication fails with 402 `authentication_required` and leaves the
  PaymentIntent `requires_payment_method` with that `last_payment_error`, as Stripe does; a
  declined card fails with 402 `card_declined` (localstripe's own charge failure).
- A control for tests and developers, clearly not a Stripe API:
  `POST /_config/payment_methods/{id}/charging` with `outcome` = `decline` (every later charge on
  the card is declined, as when a card runs out of money or is closed) or `accept` (it pays again).
  Stripe's test card 4000000000000341 (saves, then every charge declines) works as on Stripe.
"""
from localstripe import server
from localstripe.errors import UserError
from localstripe.resources import PaymentIntent, PaymentMethod, SetupIntent, try_convert_to_bool

from marketplace.payments import local_stripe_wallets

_setup_attach = SetupIntent._attach_pm
_charging_is_declined = PaymentMethod._charging_is_declined
_wallets_confirm = local_stripe_wallets.api_confirm


def _attach_pm(self, pm):
    _setup_attach(self, pm)
    if self.status == "succeeded" and self.customer:
        pm.customer = self.customer


def _declines(self):
    forced = getattr(self, "_forced_outcome", None)
    if forced is not None:
        return forced == "decline"
    return _charging_is_declined(self)


def api_confirm(id=None, off_session=None, **kwargs):
    off_session = try_convert_to_bool(off_session)
    if not off_session:
        return _wallets_confirm(id=id, **kwargs)
    intent = PaymentIntent._api_retrieve(id)
    method_id = kwargs.get("payment_method") or intent.payment_method
    method = PaymentMethod._api_retrieve(method_id) if isinstance(method_id, str) else None
    if method is None or method.type != "card":
        raise UserError(400, "An off-session payment needs a saved card.", {"code": "parameter_missing"})
    if intent.customer is None or method.customer != intent.customer:
        raise UserError(400, f"The provided PaymentMethod {method.id} does not belong to the customer.",
                        {"code": "payment_method_invalid_parameter", "param": "payment_method"})
    if method._requires_authentication():
        intent.payment_method = None
        intent._attempt_error = {"code": "authentication_required", "decline_code": "authentication_required",
                                 "message": "This payment requires authentication, and the customer is not here.",
                                 "payment_method": {"id": method.id}, "type": "card_error"}
        raise UserError(402, "This payment requires authentication.", {"code": "authentication_required"})
    return _wallets_confirm(id=id, **kwargs)


async def charging_endpoint(request):
    """The control: every later charge on this card is declined (`decline`) or paid (`accept`)."""
    method = PaymentMethod._api_retrieve(request.match_info["id"])
    data = await server.get_post_data(request) or {}
    outcome = data.get("outcome")
    if outcome not in ("decline", "accept"):
        raise UserError(400, "outcome must be decline or accept")
    method._forced_outcome = outcome
    return server.json_response(method._export())


def install():
    """Teach localstripe saved cards off session (idempotent; after local_stripe_wallets.install)."""
    if SetupIntent._attach_pm is _attach_pm:
        return
    SetupIntent._attach_pm = _attach_pm
    PaymentMethod._charging_is_declined = _declines
    local_stripe_wallets._replace_route("POST", "/v1/payment_intents/{id}/confirm", api_confirm)
    server.app.router.add_post("/_config/payment_methods/{id}/charging", charging_endpoint)
