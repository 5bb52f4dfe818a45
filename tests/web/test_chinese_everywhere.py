"""No English in the Chinese UI: every GET page of the URL map, opened as every role, in Chinese.

The routes come from `app.url_map`, so a page added later is opened too; the ids are the demo's
real ones (`seed_demo`), the owner's where the page names an object, so each role sees the page
itself, its refusal, or the sign-in page it is sent to (followed, with its flash message).
What a person can read — text, titles, placeholders, button labels — must hold no Latin word
but the few in ALLOWED, each there for a reason. Refusals (flashes and error pages) are
checked the same way, and so is the audit log.
"""
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from marketplace.catalog.models import Product, Seller
from marketplace.downlink.models import DeliveryRun
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderLine
from marketplace.payouts.models import PayoutBatch
from marketplace.people.models import Household, User
from marketplace.places.models import Town, Village

# Latin words a Chinese reader sees on purpose.
ALLOWED = {
    "English",                     # the language switch names the other language in that language
    "Stripe", "Alipay", "WeChat",  # payment brands, written so on their own Chinese pages too
    "PDF", "CSV", "XLSX", "JSON", "API", "JPEG", "PNG", "WebP", "MB",  # file formats and sizes, as files name them
    "kg",                          # the unit as written on Chinese packaging (公斤 is used for the unit name)
    "demo", "cn",                  # the demo's e-mail addresses (xxx@demo.cn) when shown as data
}
ALLOWED_UPPER = {word.upper() for word in ALLOWED}
# Pages that are files, not pages to read: checked elsewhere (statement PDF, bank files).
NOT_HTML = {"static", "storefront.media", "storefront.product_qr", "storefront.set_language",
            "storefront.region_children"}  # JSON of GB/T 2260 names for the region picker
ROLES = {"anonymous": None, "buyer": "buyer@demo.cn", "coop manager": "coop@demo.cn", "town staff": "town@demo.cn",
         "agent": "agent@demo.cn", "supplier": "supplier@demo.cn", "admin": "admin@demo.cn",
         "organisation buyer": "org-buyer@demo.cn", "organisation approver": "org-approver@demo.cn"}
# Codes shown as data: order and run numbers, SKUs, masked account numbers, hashes, e-mail and web addresses.
NOT_WORDS = re.compile(r"[\w.+-]+@[\w.-]+|https?://\S+|\b(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b"
                       r"|\b[A-Z]{2,}(?:-[A-Z0-9]+)+\b|\b[0-9a-f]{8,}\b")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


# Not read as prose: scripts; <code>, the literal names a person must type as they are (an import
# file's column names, a command); and <textarea>, text a person typed, shown to edit.
HIDDEN_TAGS = ("script", "style", "template", "code", "textarea")


class VisibleText(HTMLParser):
    """The text of a page a person reads: no script or style, plus titles, placeholders and labels."""

    SHOWN_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN_TAGS:
            self.hidden += 1
        attrs = dict(attrs)
        for name in self.SHOWN_ATTRIBUTES:
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in HIDDEN_TAGS and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def latin_words(html, data_words=frozenset()):
    parser = VisibleText()
    parser.feed(html)
    text = NOT_WORDS.sub(" ", " ".join(parser.parts))
    return sorted({word for word in LATIN_WORD.findall(text)
                   if word.upper() not in ALLOWED_UPPER and word not in data_words})


def demo_ids():
    from marketplace.organisations.models import Requisition
    from marketplace.presales.models import PreOrder, PreSale
    from marketplace.subscriptions.models import Subscription

    """The demo's real ids, by URL parameter: each the owner's (the town's household, the coop's order…)."""
    coop_manager = db.session.scalar(select(User).where(User.email == "coop@demo.cn"))
    town_staff = db.session.scalar(select(User).where(User.email == "town@demo.cn"))
    supplier = db.session.scalar(select(User).where(User.email == "supplier@demo.cn"))
    buyer = db.session.scalar(select(User).where(User.email == "buyer@demo.cn"))
    coop_order = db.session.scalar(select(Order.id).join(OrderLine).join(Seller, Seller.id == OrderLine.seller_id)
                                   .where(Seller.cooperative_id == coop_manager.cooperative_id).limit(1))
    product = db.session.scalar(select(Product).join(Seller, Seller.id == Product.seller_id)
                                .where(Seller.cooperative_id == coop_manager.cooperative_id).limit(1))
    household = db.session.scalar(select(Household.id).join(Village).where(Village.town_id == town_staff.town_id)
                                  .order_by(Household.id).limit(1))
    # The coop's pre-sale (open) and the buyer's pre-order of it, its deposit still to pay (the pay page).
    presale = db.session.scalar(select(PreSale.id).where(PreSale.cooperative_id == coop_manager.cooperative_id)
                                .order_by(PreSale.id).limit(1))
    preorder = db.session.scalar(select(PreOrder.id).where(PreOrder.presale_id == presale,
                                                           PreOrder.buyer_id == buyer.id).limit(1))
    return {
        "presale_id": presale or 999999, "preorder_id": preorder or 999999,
        # The demo buyer's subscription box (waiting for its card: the card step's page).
        "subscription_id": db.session.scalar(select(Subscription.id).where(Subscription.buyer_id == buyer.id)
                                             .limit(1)) or 999999,
        "household_id": household, "user_id": buyer.id, "order_id": coop_order or 999999,
        "product_id": product.id, "variant_id": product.variants[0].id if product.variants else 999999,
        "slug": product.slug, "day": date.today().isoformat(),
        # The buyer's order furthest along (paid, packed, shipped, delivered: the longest timeline).
        "public_no": db.session.scalar(select(Order.public_no).where(Order.buyer_id == buyer.id)
                                       .order_by((Order.status == "delivered").desc(), Order.id).limit(1)) or "none",
        "batch_id": db.session.scalar(select(PayoutBatch.id).where(PayoutBatch.town_id == town_staff.town_id)
                                      .limit(1)) or 999999,
        "run_id": db.session.scalar(select(DeliveryRun.id).where(DeliveryRun.supplier_id == supplier.supplier_id)
                                    .limit(1)) or 999999,
        "supplier_id": supplier.supplier_id, "record_id": town_staff.town_id, "job_id": 999999,
        "membership_id": 999999, "token": "not-a-real-token", "kind": None,
        # objects of later states (a claim, its photo, a parcel): their pages' refusals, in Chinese
        "claim_id": 999999, "photo_id": 999999, "order_line_id": 999999, "shipment_id": 999999,
        "invoice_id": 999999, "acceptance_id": 999999,
        "town_slug": db.session.get(Town, town_staff.town_id).slug,
        # The demo canteen's order paid by company transfer (its page shows the transfer and the lines).
        "requisition_id": db.session.scalar(select(Requisition.id).where(Requisition.order_id.is_not(None))
                                            .order_by(Requisition.id).limit(1)) or 999999,
    }


def page_urls(app, ids):
    from flask import url_for

    urls = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_HTML or rule.endpoint.startswith(("api.", "webhooks.")):
                continue
            values = {name: ids[name] for name in rule.arguments}
            if rule.endpoint.startswith("downlink.") and "public_no" in values:
                values["public_no"] = ids["downlink_no"]
            if "kind" in values:
                values["kind"] = sorted(rule._converters["kind"].items)[0]
            if rule.endpoint == "storefront.town_impact_page":
                values["slug"] = ids["town_slug"]
            urls.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return urls


def client_as(app, email):
    client = app.test_client()
    if email:
        with app.app_context():
            session_id = db.session.scalar(select(User).filter_by(email=email)).get_id()
            db.session.remove()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
    with client.session_transaction() as session:
        session["lang"] = "zh_CN"
    return client


def data_words():
    """Latin words that are data, not the UI's: the English side of bilingual records (a product's
    English title, a town's English name, a URL slug), which admin and portal pages show as such,
    and codes a person copies as they are (a company transfer's reference).
    Names only: a story's prose would excuse any word."""
    from marketplace.catalog.models import Category, Variant
    from marketplace.coops.models import Cooperative
    from marketplace.funds.models import FixedReturnInvestment
    from marketplace.organisations.models import Requisition
    from marketplace.people.models import Supplier
    from marketplace.places.models import ServicePoint

    columns = [Product.title_en, Product.slug, Variant.name_en, Category.name_en, Category.slug, Town.name_en,
               Town.slug, Village.name_en, Cooperative.name_en, Cooperative.registration_no, Supplier.name_en,
               ServicePoint.name_en, FixedReturnInvestment.name_en, User.name, Household.display_label_en,
               Requisition.transfer_reference]  # XF + 7 random characters: all letters now and then
    words = set()
    for column in columns:
        for value in db.session.scalars(select(column)):
            words.update(LATIN_WORD.findall(value or ""))
    return frozenset(words)


@pytest.fixture
def demo_world(app):
    """The demo district and its ids, with no app context left pushed: each request then loads its
    own signed-in user (a pushed context would share `g`, and so one user, across the clients)."""
    from marketplace.demo.orders import seed_demo_orders
    from tests.demo_copy import seed_demo
    from tests.security.conftest import _owned_objects

    with app.app_context():
        seed_demo()
        seed_demo_orders()  # orders at every step, settled income paid out: as `flask seed-demo` builds
        objects = _owned_objects()  # a downlink order and delivery run of the demo agent and supplier
        ids, known = demo_ids(), data_words()
        db.session.remove()
    # The agent's pages show the agent's order, the rest the demo buyer's newest order.
    return {**ids, "run_id": objects.run_id, "downlink_no": objects.downlink_order_no}, known


def test_every_page_as_every_role_is_chinese(app, demo_world):
    ids, known = demo_world
    urls = page_urls(app, ids)
    failures, opened = [], 0
    for role, email in ROLES.items():
        client = client_as(app, email)
        for endpoint, url in urls:
            # A visitor is followed to the sign-in page and its message; a redirect's target is a page of its own.
            response = client.get(url, follow_redirects=email is None)
            opened += 1
            if response.status_code >= 500:
                failures.append(f"{role} {url}: {response.status_code}")
            if response.mimetype != "text/html" or 300 <= response.status_code < 400:
                continue
            found = latin_words(response.get_data(as_text=True), known)
            if found:
                failures.append(f"{role} {url} ({endpoint}): {' '.join(found)}")
    assert opened > 300
    assert not failures, f"{len(failures)} pages show English in Chinese:\n" + "\n".join(failures)


def test_a_refusal_with_figures_is_chinese(app, demo):
    """A domain error's message id and figures are rendered in the reader's language."""
    from flask_babel import force_locale

    from marketplace.errors import Yuan
    from marketplace.ledger.errors import InsufficientFunds

    error = InsufficientFunds("The love fund holds %(balance)s; it cannot grant %(amount)s.",
                              balance=Yuan(12_000), amount=Yuan(30_000))
    with app.test_request_context():
        with force_locale("zh_CN"):
            assert error.message == "爱心基金现有 ¥120.00，不能发放 ¥300.00。"
        with force_locale("en"):
            assert error.message == "The love fund holds ¥120.00; it cannot grant ¥300.00."


def test_the_latin_word_finder_sees_what_a_reader_sees():
    html = ('<p title="Close">订单 SX2612020A1B 已付款</p><script>var x = "hidden";</script>'
            '<input type="submit" value="Save"><input placeholder="Email"> town@demo.cn PEAR-5J')
    assert latin_words(html) == ["Close", "Email", "Save"]


def test_a_refusal_flashed_on_a_page_is_chinese(app, demo_world):
    """Asking the love fund for more than it holds: the refusal, with its figures, in Chinese."""
    ids, known = demo_world
    client = client_as(app, "town@demo.cn")
    page = client.post("/town/love-fund/grants", data={"grant-household_id": ids["household_id"],
                                                       "grant-purpose": "illness", "grant-amount": "500",
                                                       "grant-note": "大病住院"},
                       follow_redirects=True).get_data(as_text=True)
    assert "基金中尚未发放或申请的只有 ¥0.00" in page
    assert latin_words(page, known) == []
