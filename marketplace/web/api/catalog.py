"""Public catalogue operations: products (search, filters), product detail with provenance, towns and their impact."""
from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.catalog import browse, ranking
from marketplace.catalog.provenance import product_for_buyers
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.ledger.figures import town_figures
from marketplace.places.models import Town
from marketplace.web.api.framework import operation
from marketplace.web.api.pagination import BadCursor, decode_cursor, encode_cursor
from marketplace.web.api.schemas import catalog as schemas
from marketplace.web.links import public_url

LABELS = {"selenium": "label_selenium_rich", "organic": "label_organic", "poor_direct": "label_poor_household_direct"}


def _place(place):
    return schemas.Place(id=place.id, name_zh=place.name_zh, name_en=place.name_en) if place else None


def _photo_url(filename):
    return public_url("storefront.media", filename=filename)


def _summary_fields(product):
    return dict(
        id=product.id, slug=product.slug, title_zh=product.title_zh, title_en=product.title_en,
        category_id=product.category_id, origin_village=_place(product.origin_village),
        seller_kind=product.seller.kind, lowest_price_fen=product.lowest_price_fen,
        labels=[label for label, column in LABELS.items() if getattr(product, column)],
        photo_url=_photo_url(product.photos[0].thumbnail) if product.photos else None)


@operation("GET", "/products", tag="Catalogue", summary="List and search products", query=schemas.CatalogueQuery,
           response=schemas.ProductPage)
def list_products(query):
    """Active farm products, filtered and sorted as on the storefront, `limit` at a time; the cursor
    keeps the page size it was made with."""
    page_number, per_page = decode_cursor(query.cursor, (int, int)) or (1, query.limit)
    if not (1 <= page_number <= 10_000 and 1 <= per_page <= 100):
        raise BadCursor(_("This cursor is not one this API gave out."), field="cursor")
    ranked = query.sort == "relevance" and query.q.strip()
    catalogue_query = browse.CatalogueQuery(
        text=query.q, category_id=query.category_id, town_id=query.town_id, village_id=query.village_id,
        cooperative_id=query.cooperative_id, household_id=query.household_id, labels=tuple(dict.fromkeys(query.label)),
        min_price_fen=query.min_price_fen, max_price_fen=query.max_price_fen,
        sort=ranking.RELEVANCE if ranked else ("featured" if query.sort == "relevance" else query.sort),
        page=page_number, per_page=per_page)
    page = ranking.ranked_products(catalogue_query) if ranked else browse.search_products(catalogue_query)
    return schemas.ProductPage(items=[schemas.ProductSummary(**_summary_fields(product)) for product in page.items],
                               total=page.total or 0, next_cursor=encode_cursor([page.page + 1, per_page]) if page.has_next else None)


@operation("GET", "/search/suggestions", tag="Catalogue", summary="Suggestions while typing a search",
           query=schemas.SuggestionQuery, response=schemas.SuggestionList)
def search_suggestions(query):
    """The titles of the best-ranked matches of what is typed so far (at most six), as the
    storefront's search box offers them: pinyin (`xueli`, `xl`) and other names of produce count."""
    return schemas.SuggestionList(items=[schemas.Suggestion(slug=card.slug, title_zh=card.title_zh, title_en=card.title_en)
                                         for card in ranking.suggestions(query.q)])


@operation("GET", "/products/<slug>", tag="Catalogue", summary="A product with its variants and provenance",
           response=schemas.ProductDetail)
def product_detail(slug):
    """The product, its variants with stock, and where it comes from: village, seller, floor price,
    and the households that supplied the lots on sale (by consented label only)."""
    product = product_for_buyers(slug)
    return schemas.ProductDetail(
        **_summary_fields(product), story_zh=product.story_zh, story_en=product.story_en,
        photo_urls=[_photo_url(photo.filename) for photo in product.photos],
        variants=[schemas.Variant.model_validate(variant) for variant in product.variants],
        provenance=schemas.Provenance(
            village=_place(product.origin_village), town=_place(product.town),
            seller_name_zh=product.seller.name_zh, seller_name_en=product.seller.name_en,
            floor_price_fen=product.floor_price_fen, supplying_households=product.supplying_households,
            supplier_labels_zh=product.supplier_labels_zh, supplier_labels_en=product.supplier_labels_en))


def _town(town):
    return schemas.Town(id=town.id, slug=town.slug, name_zh=town.name_zh, name_en=town.name_en)


@operation("GET", "/towns", tag="Catalogue", summary="Towns with products for sale", response=schemas.TownList)
def list_towns():
    return schemas.TownList(items=[_town(town) for town in browse.towns_with_products()])


@operation("GET", "/towns/<slug>/impact", tag="Impact", summary="A town's public impact figures",
           response=schemas.TownImpact)
def town_impact_figures(slug):
    """How many of the town's households earned through the platform, how much, by which mechanism,
    and its love fund: the figures of the storefront's impact page."""
    town = db.session.scalar(select(Town).where(Town.slug == slug))
    if town is None:
        raise NotFound(_("No such town."))
    impact = town_figures(town.id)  # kept as the ledger grows: see marketplace.ledger.figures
    return schemas.TownImpact(
        town=_town(town), households_reached=impact.households_reached, income_fen=impact.income_fen,
        by_mechanism_fen=impact.by_mechanism, households_by_mechanism=impact.households_by_mechanism,
        love_fund_received_fen=impact.love_fund_received_fen, love_fund_granted_fen=impact.love_fund_granted_fen,
        love_fund_balance_fen=impact.love_fund_balance_fen)
