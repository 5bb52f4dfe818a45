"""Browsing and searching the buyer catalogue: filters, sort and pages over active uplink products.

Search goes through the products' `search_terms` (character bigrams and words, see
`marketplace.catalog.search`): a GIN index on PostgreSQL, so a two-character Chinese term such as
雪梨 never scans the titles. Results here keep the catalogue's order (featured, then newest):
ranking every match would read them all (3,334 products for 小米 among 50,000, 75 ms), while the
catalogue's order lets PostgreSQL walk ix_products_listing and stop at the page's end for a common
term, and take the GIN index for a rare one (`_search_plan` chooses). The storefront's relevance
order (`marketplace.catalog.ranking`) scores only the first matches this order finds.

A page is fetched as `per_page + 1` rows: the extra row says whether there is a next page, so no
COUNT(*) over the matches is run (the API asks for `total`, which counts only then). The
storefront's pages after the first are read by seeking past the key that ended the page before
(`marketplace.catalog.seek`), not by OFFSET: a deep page costs what the first does.
"""
import functools
import time
from dataclasses import dataclass, replace

from sqlalchemy import event, exists, func, literal, or_, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.catalog import search, seek
from marketplace.catalog.models import Category, Product, ProductPhoto, Seller, SupplyLot
from marketplace.coops.models import Cooperative
from marketplace.extensions import db
from marketplace.places.models import Town, Village

PAGE_SIZE = 12
SORTS = ("featured", "price_asc", "price_desc", "newest")
LABEL_COLUMNS = {
    "selenium": Product.label_selenium_rich,
    "organic": Product.label_organic,
    "poor_direct": Product.label_poor_household_direct,
}


@dataclass(frozen=True)
class CatalogueQuery:
    """What a buyer asked for; every field optional. Prices are fen."""

    text: str = ""
    category_id: int | None = None
    town_id: int | None = None
    village_id: int | None = None
    cooperative_id: int | None = None
    household_id: int | None = None
    labels: tuple[str, ...] = ()
    min_price_fen: int | None = None
    max_price_fen: int | None = None
    sort: str = "featured"
    page: int = 1
    per_page: int = PAGE_SIZE


@dataclass(frozen=True)
class Card:
    """A product card of the storefront's listings: one row of the listing query, no ORM object."""

    product_id: int
    slug: str
    title_zh: str
    title_en: str
    label_selenium_rich: bool
    label_organic: bool
    label_poor_household_direct: bool
    village_name_zh: str | None
    village_name_en: str | None
    lowest_price_fen: int | None
    thumbnail: str | None

    def title(self, locale="zh"):
        return (self.title_en or self.title_zh) if str(locale).startswith("en") else self.title_zh

    def chinese_only(self, locale="zh"):
        """Shown in Chinese to an English reader: the seller gave no English title."""
        return str(locale).startswith("en") and not self.title_en

    def village_name(self, locale="zh"):
        return self.village_name_en if str(locale).startswith("en") else self.village_name_zh


CARD_COLUMNS = (Product.id, Product.slug, Product.title_zh, Product.title_en, Product.label_selenium_rich,
                Product.label_organic, Product.label_poor_household_direct, Village.name_zh, Village.name_en)


@dataclass
class Page:
    """One page of results (`items`: products for the API, cards for the storefront) and whether there are pages
    before and after it."""

    items: list
    page: int
    per_page: int
    has_next: bool
    _statement: object = None

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1

    @functools.cached_property
    def total(self):
        """How many products match in all (a COUNT: only asked for by the API)."""
        return db.session.scalar(select(func.count()).select_from(self._statement.order_by(None).subquery()))


def _inline(number):
    """A number written into the SQL text, not bound. Prepared with LIMIT $1, the listing's generic
    plan is costed as if it read a tenth of the products, so PostgreSQL would plan it again on
    every request (1–2 ms, more than running it); a page size and offset it can see keep one plan."""
    return literal(number, literal_execute=True)


def _first_thumbnail():
    return (
        select(ProductPhoto.thumbnail).where(ProductPhoto.product_id == Product.id)
        .order_by(ProductPhoto.position, ProductPhoto.id).limit(_inline(1))
        .correlate(Product).scalar_subquery()
    )


def _matching(statement, query, plan=(None, ())):
    """`statement` (which selects from products) narrowed to the active uplink products for sale
    (with an active variant: a lowest price) matching `query`, in the order it asks for, the
    search made as `plan` (see `_search_plan`) says."""
    how, walk_terms = plan
    lowest = Product.lowest_price_fen
    statement = statement.where(Product.status == "active", Product.direction == "uplink", lowest.is_not(None))
    if how == WALK:
        statement = statement.where(search.matches(walk_terms, walk=True))
    elif query.text.strip():
        terms = search.query_terms(query.text)  # none: only punctuation, nothing to find
        statement = statement.where(search.matches(terms) if terms else Product.id.is_(None))
    if query.category_id:
        statement = statement.where(Product.category_id == query.category_id)
    if query.village_id:
        statement = statement.where(Product.origin_village_id == query.village_id)
    if query.town_id:
        statement = statement.where(Product.origin_village_id.in_(select(Village.id).where(Village.town_id == query.town_id)))
    if query.cooperative_id:
        statement = statement.where(Product.seller_id.in_(
            select(Seller.id).where(Seller.cooperative_id == query.cooperative_id)))
    if query.household_id:
        statement = statement.where(or_(
            Product.seller_id.in_(select(Seller.id).where(Seller.household_id == query.household_id)),
            Product.id.in_(select(SupplyLot.product_id).where(SupplyLot.household_id == query.household_id)),
        ))
    for label in query.labels:
        statement = statement.where(LABEL_COLUMNS[label].is_(True))
    if query.min_price_fen is not None:
        statement = statement.where(lowest >= query.min_price_fen)
    if query.max_price_fen is not None:
        statement = statement.where(lowest <= query.max_price_fen)
    return statement.order_by(*_order(query, how))


# How a search on PostgreSQL finds its page. The planner cannot choose well by itself: it takes
# the bigrams of one word as independent (for 有机小米 it expects 10 matches instead of 833), and it
# walks an ordered index expecting matches to be spread evenly along it (雪梨 sorted by price:
# 44 ms, pears being dear). The choice is made here from `search.rarity`:
WALK = "walk"  # walk ix_products_listing (it includes the terms) checking each entry: common terms
GATHER = "gather"  # fetch every match through the GIN index, then sort them: rare terms by price
WALK_ROW_COST = 0.25  # µs to check one index entry of the walk (measured at 50,000 products)
GIN_ROW_COST = 1.2  # µs to fetch and recheck one product the GIN index returns
GATHER_MAX_MATCHES = 5_000  # ≈ 6 ms of fetches; a commoner term is met soon along the price index


def _search_plan(query, dialect_name):
    """WALK, GATHER or None (PostgreSQL's own plan), and the terms rarest first."""
    terms = search.query_terms(query.text)
    if dialect_name != "postgresql" or not terms:
        return None, ()
    rarity = search.rarity(terms)
    if rarity is None:
        return None, ()
    if query.sort == "featured" and not _narrowed(query):
        walked = (query.page * query.per_page + 1) / rarity.share
        if walked * WALK_ROW_COST <= rarity.matches * GIN_ROW_COST:
            return WALK, rarity.terms
    if query.sort in ("price_asc", "price_desc") and rarity.matches <= GATHER_MAX_MATCHES:
        return GATHER, ()
    return None, ()


def _narrowed(query):
    """Whether another filter narrows a search (the walk's length is then unknown)."""
    return bool(query.category_id or query.town_id or query.village_id or query.cooperative_id
                or query.household_id or query.labels or query.min_price_fen is not None
                or query.max_price_fen is not None)


def _order(query, how=None):
    """Featured first, then the newest listing: a backward walk of ix_products_listing, no sort;
    by price: walks of ix_products_by_price, forwards and backwards; a GATHERed search sorts
    the matches it fetched (`+ 0` keeps PostgreSQL off the price index)."""
    return seek.order_by(query.sort, sorted_in_memory=how == GATHER)


def _page(statement, query, how=None, seeking=False):
    """`statement` limited to the query's page, fetched as `per_page + 1` rows (the extra one says
    whether a next page exists): past the anchor bound as `after_*` when `seeking`, else by OFFSET."""
    statement = statement.limit(_inline(query.per_page + 1))
    if seeking:
        return statement.where(seek.after_key(query.sort, sorted_in_memory=how == GATHER))
    return statement.offset(_inline((query.page - 1) * query.per_page)) if query.page > 1 else statement


def search_cards(query):
    """One `Page` of the storefront's product cards matching `query`: one query, plain rows.

    A card needs a dozen columns of the product and its village, its lowest price and first
    thumbnail; loading whole ORM products (stories, search terms) cost the listing pages more
    than the database did."""
    connection = db.session.connection()  # plain rows: nothing of the ORM session is needed
    dialect_name = connection.dialect.name
    listing = replace(query, page=1)  # every page of a listing shares its statement and its plan
    plan = _search_plan(listing, dialect_name)
    parameters = _seek_parameters(query, listing)
    if parameters is None:  # past the listing's last page
        return Page(items=[], page=query.page, per_page=query.per_page, has_next=False)
    statement = _card_statement(listing, dialect_name, plan, seeking=bool(parameters))
    rows = connection.execute(statement, parameters).all()
    return Page(items=[Card(*row) for row in rows[:query.per_page]], page=query.page, per_page=query.per_page,
                has_next=len(rows) > query.per_page)


def _seek_parameters(query, listing):
    """The bound anchor a page after the first seeks past ({} for page 1, None past the last page)."""
    if query.page == 1:
        return {}
    anchors, _rows = seek.anchors(listing, lambda statement: _matching(statement, listing), query.sort, query.per_page)
    if query.page - 2 >= len(anchors):
        return None
    return seek.anchor_parameters(anchors[query.page - 2])


@functools.lru_cache(maxsize=1024)
def _card_statement(query, dialect_name, plan, seeking=False):
    """The cards' statement for `query` on one kind of database (search conditions differ), built
    once per process: building it took longer than PostgreSQL takes to run it, and the home page,
    the catalogue's first pages and the common searches ask the same few queries all day."""
    cards = select(*CARD_COLUMNS, Product.lowest_price_fen, _first_thumbnail()).outerjoin(
        Village, Village.id == Product.origin_village_id)
    if query.text.strip() and dialect_name == "postgresql":
        # A common term's page walks the listing and checks a dozen rows for each match. Picking
        # the page's ids from ix_products_listing alone (it includes the terms and the lowest
        # price: an index-only walk) and only then reading those products halves the search.
        page_ids = _page(_matching(select(Product.id), query, plan), query, plan[0], seeking).subquery()
        return cards.join(page_ids, page_ids.c.id == Product.id).order_by(*_order(query))
    return _page(_matching(cards, query, plan), query, plan[0], seeking)


def search_products(query):
    """One `Page` of active uplink products matching `query` (for the API), with their village,
    variants and photos, in a fixed number of queries."""
    listing = replace(query, page=1)
    plan = _search_plan(listing, db.engine.dialect.name)
    statement = _matching(select(Product), listing, plan)
    parameters = _seek_parameters(query, listing)
    if parameters is None:  # past the listing's last page
        return Page(items=[], page=query.page, per_page=query.per_page, has_next=False, _statement=statement)
    page = _page(statement, query, plan[0], seeking=bool(parameters)).options(
        joinedload(Product.origin_village), selectinload(Product.variants), selectinload(Product.photos))
    products = db.session.scalars(page, parameters).all()
    return Page(items=products[:query.per_page], page=query.page, per_page=query.per_page,
                has_next=len(products) > query.per_page, _statement=statement)


def towns_with_products():
    """Towns that have at least one active uplink product, for the home page and filters."""
    has_products = exists().where(Product.origin_village_id == Village.id, Product.status == "active",
                                  Product.direction == "uplink")
    return db.session.scalars(
        select(Town).where(Town.id.in_(select(Village.town_id).where(has_products))).order_by(Town.id)
    ).all()


def selling_cooperatives():
    return db.session.scalars(
        select(Cooperative).where(Cooperative.id.in_(
            select(Seller.cooperative_id).join(Product, Product.seller_id == Seller.id)
            .where(Product.status == "active", Product.direction == "uplink")))
        .order_by(Cooperative.id)
    ).all()


@dataclass(frozen=True)
class Choice:
    """A category or town as the filters and the home page show it (plain values, safe to keep)."""

    id: int
    slug: str
    name_zh: str
    name_en: str

    def name(self, locale="zh"):
        return self.name_en if str(locale).startswith("en") else self.name_zh


CHOICES_SECONDS = 10
_choices = {}  # database URL -> (expires at, categories, towns)


def filter_choices():
    """The uplink categories and the towns with products, as `Choice`s.

    Every listing page shows them and they change a few times a year: each process keeps them
    CHOICES_SECONDS, and forgets them at once when it flushes a change to categories, towns,
    villages or products."""
    key = str(db.engine.url)
    kept = _choices.get(key)
    if kept and kept[0] > time.monotonic():
        return kept[1], kept[2]
    categories = [Choice(*row) for row in db.session.execute(
        select(Category.id, Category.slug, Category.name_zh, Category.name_en)
        .where(Category.direction == "uplink").order_by(Category.id))]
    towns = [Choice(town.id, town.slug, town.name_zh, town.name_en) for town in towns_with_products()]
    _choices[key] = (time.monotonic() + CHOICES_SECONDS, categories, towns)
    return categories, towns


@event.listens_for(db.session, "before_flush")
def _forget_choices(session_, _context, _instances):
    if _choices and any(isinstance(obj, (Category, Town, Village, Product))
                        for obj in (*session_.new, *session_.dirty, *session_.deleted)):
        _choices.clear()
