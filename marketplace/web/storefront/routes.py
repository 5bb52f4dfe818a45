import functools
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, render_template, request, send_from_directory, session, url_for
from flask_babel import get_locale
from sqlalchemy import select

from marketplace.catalog import browse, ranking
from marketplace.catalog.models import Category, Product
from marketplace.catalog.provenance import product_for_buyers
from marketplace.coops.models import Cooperative
from marketplace.database import reads_only
from marketplace.documents import qr_svg
from marketplace.extensions import db
from marketplace.orders.cart import item_count
from marketplace.people.models import Household
from marketplace.places.models import Town, Village
from marketplace.web.links import public_url
from marketplace.presales.pages import offers_for_variants
from marketplace.web.page_cache import cached_page, shows_presales, shows_stock_of
from marketplace.web.storefront import bp
from marketplace.web.storefront.forms import BrowseForm
from marketplace.web.storefront.session_cart import visitor_cart


@bp.context_processor
def cart_badge():
    cart = visitor_cart()
    return {"cart_count": item_count(cart.id) if cart else 0}


FEATURED_ON_HOME = 8


@bp.get("/")
@cached_page
@reads_only
def index():
    featured = browse.search_cards(browse.CatalogueQuery(per_page=FEATURED_ON_HOME))
    categories, towns = browse.filter_choices()
    return render_template("storefront/index.html", featured=featured.items, towns=towns, categories=categories)


def _browse_heading(form):
    """What the buyer is browsing by, for the page heading."""
    for field, model in (("category", Category), ("town", Town), ("village", Village), ("cooperative", Cooperative)):
        if form[field].data:
            found = db.session.get(model, form[field].data)
            if found is None:
                abort(404)
            return found.name
    if form.household.data:
        household = db.session.get(Household, form.household.data)
        if household is None:
            abort(404)
        return household.public_label
    return None


@bp.get("/products")
@cached_page
@reads_only
def browse_products():
    form = BrowseForm(request.args)
    categories, towns = browse.filter_choices()
    if not form.validate():
        return render_template("storefront/browse.html", form=form, page=None, heading=None,
                               categories=categories, towns=towns), 400
    heading = _browse_heading(form)
    query = browse.CatalogueQuery(
        text=form.q.data or "", category_id=form.category.data, town_id=form.town.data, village_id=form.village.data,
        cooperative_id=form.cooperative.data, household_id=form.household.data, labels=tuple(form.label.data or ()),
        min_price_fen=form.min_price_fen, max_price_fen=form.max_price_fen, sort=form.chosen_sort,
        page=form.page.data or 1)
    if query.sort == ranking.RELEVANCE:
        results = ranking.search_ranked(query)
    else:
        results = ranking.Results(browse.search_cards(query), [])
    return render_template("storefront/browse.html", form=form, page=results.page, results=results, heading=heading,
                           categories=categories, towns=towns, sort=query.sort,
                           page_url=lambda number: url_for("storefront.browse_products", page=number,
                                                           **_multi(request.args)))


@bp.get("/search/suggestions")
@reads_only
def search_suggestions():
    """What the search box offers while the buyer types (static/js/search_suggestions.js): the
    titles of the best-ranked matches, each with its product page."""
    locale = str(get_locale())
    return {"suggestions": [{"title": card.title(locale), "url": url_for("storefront.product", slug=card.slug)}
                            for card in ranking.suggestions(request.args.get("q", "")[:100])]}


def _multi(args):
    return {key: args.getlist(key) for key in args if key != "page"}


@bp.get("/products/<slug>")
@cached_page
@reads_only
def product(slug):
    product = product_for_buyers(slug)
    shows_stock_of(variant.id for variant in product.variants)
    offers = offers_for_variants(variant.id for variant in product.variants)
    shows_presales(offer.presale.id for offer in offers)
    link = public_url("storefront.product", slug=slug)
    # The add-to-cart form is written out in the template (it posts to AddToCartForm): building a
    # WTForms form only to print its CSRF field cost ≈0.5 ms of a 7 ms page.
    return render_template("storefront/product.html", product=product, link=link, presale_offers=offers)


QR_MAX_AGE = 24 * 3600


@bp.get("/products/<slug>/qr.svg")
@reads_only
def product_qr(slug):
    """The QR code leading to a product's page, as an image the browser keeps: inline it was 9 of
    the page's 13 KB, sent again on every visit."""
    db.first_or_404(select(Product.id).where(Product.slug == slug))
    response = current_app.response_class(_qr_code(public_url("storefront.product", slug=slug)),
                                          mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = QR_MAX_AGE
    return response


@functools.lru_cache(maxsize=2048)
def _qr_code(link):
    """A link's QR code never changes: made once per process."""
    return qr_svg(link)


@bp.get("/lang/<code>")
def set_language(code):
    if code in ("zh_CN", "en"):
        session["lang"] = code
    target = request.referrer or url_for("storefront.index")
    # Only ever go back to a page of this site.
    if urlsplit(target).netloc not in ("", request.host):
        target = url_for("storefront.index")
    return redirect(target)


@bp.get("/media/<path:filename>")
def media(filename):
    """Uploaded and generated pictures, served from UPLOAD_DIR (re-encoded JPEGs only). Claim photos are
    evidence about a buyer's order: only `claim_photo` serves them, to those who may see the claim."""
    if filename.startswith("claims/") or "/claims/" in filename:
        abort(404)
    return send_from_directory(current_app.config["UPLOAD_DIR"], filename, max_age=3600)
