"""Every route of the URL map × every outsider role: allowed or denied as expected, and a denied
request changes nothing.

The matrix is generated from `app.url_map`, so a route added later is visited too. Routes of a
role's area (`/agent/`, `/supplier/`, `/coop/`, `/town/`, `/admin/`) admit only that role, and
those naming an object (an id or order number in the URL) only the object's owner: the ids used
are the owners' real ones, so every outsider visit is an object id guessed across scopes (IDOR).
"""
from urllib.parse import urlparse

from werkzeug.routing import BuildError

from tests.security.conftest import OUTSIDERS, snapshot

# Blueprint -> the role whose area it is.
# The organisation pages (/org/) admit only the staff of the organisation (消费帮扶), whom no outsider is.
AREA_ROLE = {"downlink": "agent", "supplier": "supplier", "coop": "coop_manager", "town": "town_staff",
             "admin": "admin", "org": "organisation staff"}
# Owner of each area's objects (the demo accounts holding them).
AREA_OWNER = {"downlink": "agent@demo.cn", "supplier": "supplier@demo.cn", "coop": "coop@demo.cn",
              "town": "town@demo.cn", "admin": "admin@demo.cn", "org": "org-buyer@demo.cn"}
OUTSIDER_ROLE = {"anonymous": None, "buyer": "buyer", "another buyer": "buyer",
                 "coop manager of another cooperative": "coop_manager", "town staff of another town": "town_staff",
                 "agent of another service point": "agent", "supplier other than the owner": "supplier"}
# Open to everyone (public pages, sign-in, the cart of whoever holds it).
PUBLIC = {"static", "storefront.index", "storefront.browse_products", "storefront.search_suggestions", "storefront.product", "storefront.product_qr",
          "storefront.cart", "storefront.add_to_cart", "storefront.set_language", "elder_mode.switch", "storefront.signup", "storefront.forgot_password",
          "storefront.reset_password", "storefront.town_impact_page", "storefront.media", "auth.login",
          "invitations.accept",
          # Guest checkout (no account): a visitor proves a mobile number by a texted code.
          "storefront.guest_checkout", "storefront.guest_find_orders",
          "storefront.guest_orders",
          # The GB/T 2260 cities of a province, districts of a city: public reference data.
          "storefront.region_children"}
# Any signed-in person; anonymous visitors are sent to sign in.
SIGNED_IN = {"auth.logout", "auth.change_password", "storefront.checkout", "storefront.orders", "storefront.preorders",
             "storefront.claim_phone_orders", "storefront.store_credit",
             "storefront.saved_addresses", "storefront.add_address", "storefront.subscriptions"}
# Any buyer's account (pre-ordering a harvest); other roles are refused.
BUYERS = {"storefront.new_preorder", "storefront.new_subscription"}
# Objects of the buyer buyer@demo.cn: every other person is refused.
BUYER_OWNED = {"storefront.order_detail", "storefront.pay", "storefront.pay_test_card", "storefront.cancel",
               "storefront.confirm_cancel",
               "storefront.confirm_receipt", "storefront.pay_with_wallet", "storefront.simulate_wallet",
               "storefront.payment_status", "storefront.open_claim", "storefront.answer_offer",
               "storefront.appeal_claim", "storefront.claim_photo",
               "storefront.change_quantity", "storefront.remove_from_cart",
               "storefront.preorder_detail", "storefront.pay_preorder", "storefront.pay_preorder_test_card",
               "storefront.pay_preorder_with_wallet", "storefront.simulate_preorder_wallet",
               "storefront.preorder_payment_status",
               "storefront.default_address", "storefront.delete_address",
               # the buyer's subscription box (the demo's, waiting for its card)
               "storefront.subscription_detail", "storefront.subscription_card", "storefront.subscription_test_card",
               "storefront.subscription_action"}
# Routes of the buyer's delivered order that holds an open after-sales claim (with a photo).
CLAIM_ORDER_ROUTES = {"storefront.open_claim", "storefront.answer_offer", "storefront.appeal_claim",
                      "api.list_order_claims", "api.open_claim", "api.answer_offer"}
# Tested on their own terms (signature, bearer token), not by session role.
# A guest order's signed link: tests/storefront/test_guest_checkout.py (opens that order, a tampered one nothing).
OWN_RULES = {"webhooks.stripe_webhook", "health.healthz", "storefront.guest_order_link"}
# Areas whose every route is walked by an access test of their own, with the area's objects:
# the cooperative portal (tests/web/test_coop_access.py), the town portal
# (tests/web/test_town_access.py) and the API and its tokens (tests/api/, per-token scope).
OWN_RULE_PREFIXES = ("api", "api_tokens", "coop", "town")
# Admin pages that town staff may open too, for their own town only.
TOWN_STAFF_ADMIN = {f"admin.{name}" for name in (
    "dashboard imports check_import import_job apply_import import_progress import_template households_list "
    "household set_verification set_consent export_households").split()}
# Parameters with no object in the world: outsiders must still be refused, owners are not checked.
AREA_OWN_PARAMS = {"product_id", "order_id", "day", "membership_id", "grant_id", "batch_id", "discrepancy_id",
                   "lot_id", "token_id", "shipment_id", "deposit_id", "invoice_id", "acceptance_id", "organisation_id"}
PLACEHOLDER_PARAMS = {"job_id"} | AREA_OWN_PARAMS
# Routes whose object exists only in a later state of the world: outsiders must be refused, the
# owner's side is tested where that state is built (a buyer's pickup parcels arriving at the agent's
# point: tests/orders/test_settlement.py).
PLACEHOLDER_ENDPOINTS = {"downlink.hand_over_parcels"}
# Refused with a message on the visitor's own page (303 back to it), as a shop does.
REFUSED_BY_MESSAGE = {"storefront.change_quantity": "/cart", "storefront.remove_from_cart": "/cart",
                      # admin forms refuse another town's household or a missing job with a message
                      "admin.set_consent": None, "admin.set_verification": None, "admin.apply_import": None}
# Who owns a page when it is not the area's usual owner.
OWNER_OVERRIDE = {"admin.export_households": "town@demo.cn"}


def url_values(world, endpoint, arguments):
    """The owners' real ids for each URL parameter of `endpoint`."""
    values = {"public_no": world.downlink_order_no if endpoint.startswith("downlink.") else
              world.claim_order_no if endpoint in CLAIM_ORDER_ROUTES else world.order_no,
              "claim_id": world.claim_id, "photo_id": world.claim_photo_id, "order_line_id": world.claim_line_id,
              "slug": world.town_slug if endpoint == "storefront.town_impact_page" else world.product_slug,
              "item_id": world.cart_item_id, "run_id": world.run_id, "supplier_id": world.supplier_id,
              "variant_id": world.uplink_variant_id if endpoint == "storefront.new_subscription" else world.variant_id,
              "area_id": world.area_id, "token": "not-a-real-token",
              "code": "en", "state": "on", "filename": "css/app.css" if endpoint == "static" else "none.png",
              "household_id": world.lingzi_household_id, "user_id": world.buyer_id, "kind": "households" if endpoint == "admin.import_template" else "towns",
              "record_id": world.lingzi_town_id, "job_id": 999999, "requisition_id": world.requisition_id,
              "presale_id": world.presale_id, "preorder_id": world.preorder_id,
              "address_id": world.saved_address_id, "subscription_id": world.subscription_id, "action": "pause",
              **{name: 999999 for name in AREA_OWN_PARAMS - {"day"}}, "day": "2026-11-28"}
    unknown = set(arguments) - set(values)
    assert not unknown, f"{endpoint}: teach the matrix an owner's value for {sorted(unknown)}"
    return {name: values[name] for name in arguments}


def form_data(world, endpoint):
    """A body that would pass the form, so a refusal is the authorization's and not the form's."""
    return {
        "storefront.add_to_cart": {"variant_id": world.variant_id, "quantity": 1},
        "storefront.change_quantity": {"quantity": 7},
        "supplier.update_variant": {"price": "0.01", "stock": "0"},
        "downlink.hand_over": {"code": "000000", "cash": "1.00"},
        "downlink.hand_over_parcels": {"code": "000000"},
        "downlink.new_order": {"customer": "walk-in", "walk_in_name": "路人", "payment_method": "cash",
                               f"qty-{world.variant_id}": "1"},
        "auth.login": {"email": "buyer@demo.cn", "password": "wrong-password"},
        "storefront.pay_with_wallet": {"method": "wechat_pay"},
        "storefront.simulate_wallet": {"outcome": "succeed"},
        "storefront.pay_preorder_with_wallet": {"method": "wechat_pay"},
        "storefront.simulate_preorder_wallet": {"outcome": "succeed"},
    }.get(endpoint, {})


def expected(endpoint, who, parametrised):
    """'allow', 'deny', or 'own' (the route's own test covers it)."""
    area = endpoint.split(".")[0]
    if endpoint in OWN_RULES or area in OWN_RULE_PREFIXES:
        return "own"
    if endpoint in PUBLIC:
        return "allow"
    if endpoint in SIGNED_IN:
        return "deny" if who == "anonymous" else "allow"
    if endpoint in BUYER_OWNED:
        return "allow" if who == "buyer" else "deny"
    if endpoint in BUYERS:
        return "allow" if OUTSIDER_ROLE[who] == "buyer" else "deny"
    assert area in AREA_ROLE, f"{endpoint}: a route outside every area — classify it in the matrix"
    if endpoint == "admin.import_template":
        return "allow" if OUTSIDER_ROLE[who] == "town_staff" else "deny"  # a blank template, no data
    if parametrised:
        return "deny"  # an object of the owner's scope: the same role elsewhere is an outsider too
    if endpoint in TOWN_STAFF_ADMIN and OUTSIDER_ROLE[who] == "town_staff":
        return "allow"  # their own town's view of it
    return "allow" if OUTSIDER_ROLE[who] == AREA_ROLE[area] else "deny"


def owner_of(endpoint):
    area = endpoint.split(".")[0]
    if area in OWN_RULE_PREFIXES:
        return None  # their own access tests check the owners
    if endpoint in OWNER_OVERRIDE:
        return OWNER_OVERRIDE[endpoint]
    if endpoint in BUYER_OWNED or endpoint in BUYERS:
        return "buyer@demo.cn"
    return AREA_OWNER.get(area)


def client_as(app, email):
    client = app.test_client()
    if email:
        from marketplace.extensions import db
        from marketplace.people.models import User

        with app.app_context():
            session_id = db.session.scalar(db.select(User).filter_by(email=email)).get_id()
            db.session.remove()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
    return client


def sent_to_login(response):
    return response.status_code in (302, 303) and urlparse(response.headers["Location"]).path == "/login"


def is_denied(response, who, endpoint):
    if who == "anonymous" and sent_to_login(response):
        return True
    if endpoint in REFUSED_BY_MESSAGE and response.status_code == 303:
        path = REFUSED_BY_MESSAGE[endpoint]
        return path is None or urlparse(response.headers["Location"]).path == path
    return response.status_code in (401, 403, 404)


def is_let_in(response):
    """Not refused for who they are (a 404 of a missing file or a 401 of a wrong password is fine)."""
    return response.status_code != 403 and not sent_to_login(response)


def cells(app, world):
    """(endpoint, method, url, data, is-parametrised) for every route and method of the URL map."""
    from flask import url_for

    found = []
    placeholder_rules = {rule.endpoint for rule in app.url_map.iter_rules()
                         if set(rule.arguments) & PLACEHOLDER_PARAMS} | PLACEHOLDER_ENDPOINTS
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            try:
                url = url_for(rule.endpoint, **url_values(world, rule.endpoint, rule.arguments))
            except BuildError as error:
                raise AssertionError(f"cannot build {rule.endpoint}: {error}") from error
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, url, form_data(world, rule.endpoint) if method == "POST" else None,
                              bool(rule.arguments)))
    cells.placeholder_rules = placeholder_rules
    return found


def test_every_route_refuses_every_outsider_and_a_refusal_changes_nothing(app, world, capsys, stripe_server):
    routes = cells(app, world)
    checked, denied, failures = 0, 0, []
    for endpoint, method, url, data, parametrised in routes:
        for who, email in OUTSIDERS.items():
            verdict = expected(endpoint, who, parametrised)
            if verdict == "own":
                continue
            before = snapshot(app) if verdict == "deny" else None
            response = client_as(app, email).open(url, method=method, data=data)
            checked += 1
            if response.status_code >= 500:
                failures.append(f"{who} {method} {url}: {response.status_code}")
            elif verdict == "deny":
                denied += 1
                if not is_denied(response, who, endpoint):
                    failures.append(f"{who} {method} {url}: expected a refusal, got {response.status_code}")
                elif snapshot(app) != before:
                    failures.append(f"{who} {method} {url}: refused ({response.status_code}) but changed data")
            elif not is_let_in(response):
                failures.append(f"{who} {method} {url}: expected to be let in, got {response.status_code}")
    with capsys.disabled():
        print(f"\nauthorization matrix: {len(routes)} route-methods × {len(OUTSIDERS)} roles = {checked} requests "
              f"checked, {denied} refusals verified unchanged")
    assert not failures, "\n".join(failures)
    assert denied > 100


def test_owners_reach_their_own_pages(app, world):
    """The other side of the matrix: each GET route of an area or naming an object opens for its
    owner (a page, or a redirect to the right next step — never a refusal)."""
    failures = []
    for endpoint, method, url, _data, _parametrised in cells(app, world):
        owner = owner_of(endpoint)
        if method != "GET" or owner is None or endpoint in cells.placeholder_rules:
            continue
        response = client_as(app, owner).get(url)
        if response.status_code not in (200, 302, 303) or sent_to_login(response):
            failures.append(f"{owner} GET {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_sequential_ids_next_to_the_owners_are_refused_too(app, world):
    """Guessing neighbouring ids and order numbers finds nothing of anybody else's."""
    outsider = client_as(app, "agent2@demo.cn")
    for run_id in range(world.run_id - 2, world.run_id + 3):
        assert outsider.get(f"/agent/runs/{run_id}").status_code in (403, 404)
    stranger = client_as(app, "buyer2@demo.cn")
    for number in (world.order_no, world.order_no.lower(), world.downlink_order_no, "SX000000000000", "../orders"):
        assert stranger.get(f"/orders/{number}").status_code in (403, 404)
