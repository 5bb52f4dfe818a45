"""Every page of every role fits a phone 360 px wide: no page scrolls sideways.

The pages come from `app.url_map` (a route added later is visited too) and are opened with the
demo's real ids, as the role whose area they are (account pages and the home page as every role).
A page fails when `document.scrollingElement.scrollWidth > clientWidth`; a wide table must scroll
inside its own container instead. By default each page is opened in Chinese; with
`PHONE_FIT_SWEEP=1` every page is opened in English too (a longer sweep).
"""
import os

import pytest
from sqlalchemy import select
from werkzeug.routing import AnyConverter

from marketplace.catalog.models import Product, Seller
from marketplace.coops.models import Cooperative, Membership
from marketplace.downlink.models import DeliveryRun
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderLine
from marketplace.payouts.models import PayoutBatch
from marketplace.people.models import Household, Supplier, User
from marketplace.places.models import ServicePoint, Town, Village
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
LONG_SWEEP = os.environ.get("PHONE_FIT_SWEEP") == "1"
ROLE_OF_AREA = {"storefront": "buyer@demo.cn", "coop": "coop@demo.cn", "town": "town@demo.cn",
                "admin": "admin@demo.cn", "downlink": "agent@demo.cn", "supplier": "supplier@demo.cn",
                "org": "org-approver@demo.cn"}
EVERY_ROLE = ("buyer@demo.cn", "coop@demo.cn", "town@demo.cn", "admin@demo.cn", "agent@demo.cn", "supplier@demo.cn")
# Opened as every role: the header changes with who is signed in.
SHARED_PAGES = {"storefront.index", "auth.change_password", "api_tokens.api_tokens"}
# Opened signed out: sign-in and sign-up, the links sent by e-mail (with a token that is not valid).
SIGNED_OUT_PAGES = {"auth.login", "storefront.signup", "storefront.forgot_password", "storefront.reset_password",
                    "invitations.accept", "storefront.guest_checkout", "storefront.guest_find_orders",
                    "storefront.guest_orders"}
# Not pages: files, JSON for a progress bar, redirects.
NOT_PAGES = {"static", "storefront.media", "storefront.set_language", "admin.import_progress",
             "town.statement_job_status", "town.statement_job_download", "auth.logout", "storefront.claim_photo",
             "storefront.payment_status", "storefront.preorder_payment_status", "org.acceptance_document", "storefront.guest_order_link",
             "storefront.region_children",  # JSON for the region picker's script
             "storefront.search_suggestions"}  # JSON for the search box's suggestions
FILE_SUFFIXES = (".pdf", ".xlsx", ".csv", ".svg")
# Kept as screenshots to look at: each portal's first page and the buyer's home.
SCREENSHOTS = {"storefront.index", "coop.dashboard", "town.dashboard", "town.households", "downlink.agent_home",
               "supplier.dashboard", "admin.dashboard", "coop.periods", "org.report", "org.request_detail",
               "coop.presale", "coop.new_presale", "storefront.preorders", "storefront.new_preorder",
               "storefront.product", "storefront.saved_addresses",
               "storefront.subscription_detail", "storefront.new_subscription"}
# Pages of an object the demo does not hold on first start (they need an upload or a request first).
NOT_IN_DEMO = {"admin.import_job", "town.statement_job", "coop.preview_period",
               # a claim on a delivered parcel and a buyer's parcels arrived at the agent's point: opened
               # on a phone by tests/e2e/test_after_sales_claim.py and tests/orders/test_settlement.py
               "storefront.open_claim", "downlink.hand_over_parcels"}
# The village agent's pages inside the cooperative portal (lots and listings on a household's behalf).
AGENT_PAGES = {"coop.on_behalf", "coop.agent_lot", "coop.agent_listing"}


def _ids():
    """The demo's real ids, each in the scope of the role that opens it."""
    from marketplace.organisations.models import Requisition
    from marketplace.presales.models import PreOrder, PreSale
    from marketplace.subscriptions.models import Subscription

    coop_manager = db.session.scalar(select(User).filter_by(email="coop@demo.cn"))
    town_staff = db.session.scalar(select(User).filter_by(email="town@demo.cn"))
    supplier = db.session.scalar(select(User).filter_by(email="supplier@demo.cn"))
    coop_seller = db.session.scalar(select(Seller.id).filter_by(cooperative_id=coop_manager.cooperative_id))
    product = db.session.scalar(select(Product).filter_by(seller_id=coop_seller).order_by(Product.id))
    coop_order = db.session.scalar(select(OrderLine.order_id).filter_by(seller_id=coop_seller).order_by(OrderLine.id))
    membership = db.session.scalar(select(Membership).filter_by(cooperative_id=coop_manager.cooperative_id)
                                   .order_by(Membership.id))
    buyer_order = db.session.scalar(select(Order).join(User, User.id == Order.buyer_id)
                                    .where(User.email == "buyer@demo.cn", Order.direction == "uplink",
                                           Order.status == "paid").order_by(Order.id.desc()))
    agent_order = db.session.scalar(select(Order.public_no).where(Order.direction == "downlink").order_by(Order.id))
    agent = db.session.scalar(select(User).filter_by(email="agent@demo.cn"))
    agent_household = db.session.scalar(select(Household.id).join(ServicePoint, ServicePoint.village_id == Household.village_id)
                                        .where(ServicePoint.id == agent.service_point_id).order_by(Household.id))
    presale = db.session.scalar(select(PreSale.id).filter_by(cooperative_id=coop_manager.cooperative_id))
    preorder = db.session.scalar(select(PreOrder.id).join(User, User.id == PreOrder.buyer_id)
                                 .where(User.email == "buyer@demo.cn", PreOrder.presale_id == presale))
    records = {kind: db.session.scalar(select(model.id).order_by(model.id)) for kind, model in
               (("towns", Town), ("villages", Village), ("service-points", ServicePoint),
                ("cooperatives", Cooperative), ("suppliers", Supplier))}
    return {
        "coop": {"product_id": product.id, "variant_id": product.variants[0].id, "order_id": coop_order,
                 "membership_id": membership.id, "household_id": membership.household_id, "presale_id": presale},
        "town": {"household_id": db.session.scalar(select(Household.id).join(Village)
                                                   .where(Village.town_id == town_staff.town_id).order_by(Household.id)),
                 "batch_id": db.session.scalar(select(PayoutBatch.id).filter_by(town_id=town_staff.town_id))},
        "admin": {"household_id": db.session.scalar(select(Household.id).order_by(Household.id)),
                  "user_id": coop_manager.id, "records": records,
                  # the demo canteen's order paid by transfer (an unpaid one on terms, with its refund and
                  # cancel forms, is opened on a phone by tests/e2e/test_unpaid_order_admin.py)
                  "requisition_id": db.session.scalar(select(Requisition.id).where(Requisition.order_id.is_not(None))
                                                      .order_by(Requisition.id))},
        "agent": {"household_id": agent_household},
        "storefront": {"public_no": buyer_order.public_no, "slug": "jiao-snow-pears", "presale_id": presale,
                       "preorder_id": preorder, "variant_id": product.variants[0].id,
                       # the demo buyer's subscription box, waiting for its card
                       "subscription_id": db.session.scalar(select(Subscription.id).join(
                           User, User.id == Subscription.buyer_id).where(User.email == "buyer@demo.cn"))},
        "downlink": {"public_no": agent_order, "supplier_id": supplier.supplier_id,
                     "run_id": db.session.scalar(select(DeliveryRun.id).order_by(DeliveryRun.id))},
        "supplier": {"run_id": db.session.scalar(select(DeliveryRun.id).filter_by(supplier_id=supplier.supplier_id))},
        "signed_out": {"token": "not-a-real-token"},
        # The demo canteen's order paid by company transfer.
        "org": {"requisition_id": db.session.scalar(select(Requisition.id).where(Requisition.order_id.is_not(None))
                                                    .order_by(Requisition.id))},
    }


def _area(endpoint):
    return endpoint.split(".")[0]


def pages(app, ids):
    """(who, url, endpoint) for every GET page of the URL map, with real ids."""
    visits = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        endpoint = rule.endpoint
        if ("GET" not in rule.methods or endpoint in NOT_PAGES or endpoint in NOT_IN_DEMO
                or rule.rule.endswith(FILE_SUFFIXES) or _area(endpoint) in ("api", "webhooks", "health")):
            continue
        if endpoint == "storefront.town_impact_page":
            values_for = {"slug": "lingzi"}
        elif endpoint in SIGNED_OUT_PAGES:
            values_for = ids["signed_out"]
        elif endpoint in AGENT_PAGES:
            values_for = ids["agent"]
        else:
            values_for = ids.get(_area(endpoint), {})
        choices = [{}]
        for name in sorted(rule.arguments):
            converter = rule._converters[name]
            if isinstance(converter, AnyConverter):
                options = list(converter.items)
            elif name == "record_id":
                continue
            else:
                assert values_for.get(name) is not None, f"{endpoint}: teach the phone test a real {name}"
                options = [values_for[name]]
            choices = [{**chosen, name: option} for chosen in choices for option in options]
        if "record_id" in rule.arguments:  # each kind of reference record with a real id of that kind
            choices = [{"kind": kind, "record_id": ids["admin"]["records"][kind]} for kind in ids["admin"]["records"]]
        if endpoint in SIGNED_OUT_PAGES:
            people = [None]
        elif endpoint in SHARED_PAGES:
            people = list(EVERY_ROLE)
        elif endpoint in AGENT_PAGES:
            people = ["agent@demo.cn"]
        else:
            people = [ROLE_OF_AREA.get(_area(endpoint), "buyer@demo.cn")]
        with app.test_request_context():
            from flask import url_for

            for values in choices:
                url = url_for(endpoint, **values)
                visits.extend((who, url, endpoint) for who in people)
    return visits


@pytest.fixture
def demo_district(app):
    from marketplace.demo.orders import seed_demo_orders
    from tests.demo_copy import seed_demo

    with app.app_context():
        seed_demo()
        seed_demo_orders()
        ids = _ids()
        db.session.remove()
    return ids


def _sign_in(context, base, email):
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo1234")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.close()


def _overflow(page):
    """Width the page scrolls sideways by, and the widest elements sticking out (for the message)."""
    return page.evaluate("""() => {
        const root = document.scrollingElement;
        const extra = root.scrollWidth - root.clientWidth;
        if (extra <= 0) { return [0, []]; }
        const scrollsInside = el => {
          for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
            if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(up).overflowX)) { return true; }
          }
          return false;
        };
        const culprits = [...document.querySelectorAll('body *')]
          .filter(el => el.getBoundingClientRect().right > root.clientWidth + 1 && !scrollsInside(el))
          .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
                                 + ' "' + (el.textContent || '').trim().slice(0, 30) + '"');
        return [extra, culprits];
    }""")


def test_no_page_of_any_role_scrolls_sideways_on_a_360px_phone(app, demo_district, live_server, browser):
    visits = pages(app, demo_district)
    assert len({endpoint for _who, _url, endpoint in visits}) >= 50, "the sweep lost its routes"
    languages = ("zh-CN", "en") if LONG_SWEEP else ("zh-CN",)
    failures, seen = [], 0
    ARTIFACTS.mkdir(exist_ok=True)
    for who in [None, *EVERY_ROLE]:
        mine = [(url, endpoint) for person, url, endpoint in visits if person == who]
        if not mine:
            continue
        for language in languages:
            context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 740}, is_mobile=True,
                                          has_touch=True, locale=language)
            if language == "en":
                context.new_page().goto(live_server + "/lang/en")
            if who:
                _sign_in(context, live_server, who)
            page = context.new_page()
            for url, endpoint in mine:
                response = page.goto(live_server + url)
                status = response.status if response else 0
                if endpoint not in SIGNED_OUT_PAGES and status != 200:
                    failures.append(f"{who} {url}: status {status}")
                    continue
                seen += 1
                if endpoint in SCREENSHOTS:
                    shot = f"phone-360-{endpoint}-{(who or 'guest').split('@')[0]}-{language}.png"
                    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
                extra, culprits = _overflow(page)
                if extra > 0:
                    name = f"phone-fit-{endpoint}-{language}.png".replace("/", "_")
                    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
                    failures.append(f"{who or 'signed out'} {url} ({language}): {extra}px sideways; {culprits}")
            context.close()
    assert not failures, "\n".join(failures)
    assert seen >= 60
