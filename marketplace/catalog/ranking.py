"""Relevance-ranked search for the storefront: the order a buyer who typed words expects.

How a search's page is found, within the listing's budget (`browse` explains the index):
1. **Candidates**: the first RANK_CANDIDATES products holding every term of the search, taken in
   the catalogue's order through the same plans as any search (the GIN index, or a walk of
   ix_products_listing for a common term): never every match (小米 holds 3,334 of 50,000).
2. **Score** of each candidate, in SQL, from columns of that row only, highest first:
   - 4 for each word of the search written in the title as typed (adjacent: 有机小米 in
     「有机小米500g」, not scattered as in 「有机大米、小米粥」 — the bigram index cannot tell them apart);
   - 2 for each word whose terms the title holds (its pinyin, its synonyms, an English plural):
     a match in the title ranks above one through the village, the cooperative or a label;
   - 1 when a variant is in stock;
   then the catalogue's order (featured, then newest) among equals.
3. Pages past the candidates carry on in the catalogue's order (they hold no better matches of
   the title than the candidates' tail, only the ones the cap did not score), so every match can be reached.

With several words, the products holding all of them come first; when they fit on the first
page, products holding only some of the words follow there, labelled (`any_word_cards`). A
search that finds nothing in English may be a typo: `did_you_mean` offers the nearest words of
the titles, and the storefront shows what they find. While the buyer types, `suggestions` offers
the titles of the best-ranked matches of what is typed so far (pinyin and synonyms included).
"""
import difflib
import functools
import time
from dataclasses import dataclass, replace

from sqlalchemy import and_, case, event, exists, func, not_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.catalog import browse, search
from marketplace.catalog.models import Product, Variant
from marketplace.extensions import db

RELEVANCE = "relevance"
# Ten pages of 12. Scoring 600 took 9–12 ms of PostgreSQL per search at 50,000 products (a walk of
# 6,000 listing entries for a common word, 600 rows scored); 120 take about 3 ms.
RANK_CANDIDATES = 120
ANY_WORD_LIMIT = 12
SUGGESTIONS = 6
TITLE_AS_TYPED, TITLE_HOLDS, IN_STOCK = 4, 2, 1
VOCABULARY_SECONDS = 300
_vocabulary = {}  # database URL -> (expires at, English words of the titles)


def _tokens(text):
    """The words of a search as (how it is written, its index terms): Chinese runs and English words."""
    tokens = []
    for run in search.HAN.findall(text):
        tokens.append((run, "zh", search.query_terms(run)))
    for word in search.WORD.findall(text.lower()):
        tokens.append((word, "en", search.query_terms(word)))
    return [token for token in tokens if token[2]][:search.MAX_QUERY_TERMS]


def _holds(column, terms):
    return and_(*(column.contains(f" {term} ", autoescape=True) for term in terms))


def score(text):
    """The relevance of a product to the search `text`, as an SQL expression over its row."""
    parts = []
    for written, language, terms in _tokens(text):
        title = Product.title_zh if language == "zh" else func.lower(Product.title_en)
        parts.append(case((title.contains(written, autoescape=True), TITLE_AS_TYPED), else_=0))
        parts.append(case((_holds(Product.title_terms, terms), TITLE_HOLDS), else_=0))
    in_stock = exists().where(Variant.product_id == Product.id, Variant.is_active.is_(True), Variant.stock_available > 0)
    parts.append(case((in_stock, IN_STOCK), else_=0))
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _candidates(query, dialect_name, condition=None):
    """The ids of the first RANK_CANDIDATES matches in the catalogue's order, as a subquery."""
    listing = replace(query, sort="featured", page=RANK_CANDIDATES // query.per_page)
    plan = browse._search_plan(listing, dialect_name) if condition is None else (None, ())
    statement = browse._matching(select(Product.id), replace(listing, text="") if condition is not None else listing, plan)
    if condition is not None:
        statement = statement.where(condition)
    return statement.limit(browse._inline(RANK_CANDIDATES)).subquery()


@functools.lru_cache(maxsize=1024)
def ranked_statement(query, dialect_name):
    """The cards of `query`'s page ranked by `score` among its candidates, built once per process
    (as `browse._card_statement`: the common searches are asked all day)."""
    candidates = _candidates(query, dialect_name)
    return _scored(query, candidates, query.per_page + 1).offset(browse._inline((query.page - 1) * query.per_page))


def _scored(query, candidates, limit):
    from marketplace.places.models import Village

    return (select(*browse.CARD_COLUMNS, Product.lowest_price_fen, browse._first_thumbnail())
            .join(candidates, candidates.c.id == Product.id)
            .outerjoin(Village, Village.id == Product.origin_village_id)
            .order_by(score(query.text).desc(), Product.is_featured.desc(), Product.id.desc())
            .limit(browse._inline(limit)))


def ranked_cards(query):
    """One `browse.Page` of cards for a search in relevance order (see the module's docstring)."""
    connection = db.session.connection()
    first_row = (query.page - 1) * query.per_page
    if first_row >= RANK_CANDIDATES:  # past the scored candidates: the catalogue's order
        return browse.search_cards(replace(query, sort="featured"))
    rows = connection.execute(ranked_statement(replace(query, sort=RELEVANCE), connection.dialect.name)).all()
    has_next = len(rows) > query.per_page
    if not has_next and first_row + len(rows) == RANK_CANDIDATES:  # the last scored page: are there more?
        more = browse.search_cards(replace(query, sort="featured", page=RANK_CANDIDATES // query.per_page + 1))
        has_next = bool(more.items)
    return browse.Page(items=[browse.Card(*row) for row in rows[:query.per_page]], page=query.page,
                       per_page=query.per_page, has_next=has_next)


def ranked_products(query):
    """`ranked_cards` as products with their village, variants and photos: the API's page."""
    page = ranked_cards(query)
    ids = [card.product_id for card in page.items]
    products = {product.id: product for product in db.session.scalars(
        select(Product).where(Product.id.in_(ids)).options(
            joinedload(Product.origin_village), selectinload(Product.variants), selectinload(Product.photos)))}
    listing = replace(query, sort="featured", page=1)
    matching = browse._matching(select(Product), listing, browse._search_plan(listing, db.engine.dialect.name))
    return replace(page, items=[products[product_id] for product_id in ids], _statement=matching)


def suggestions(text):
    """The search box's offers for what is typed so far: the best-ranked matches' cards (at most
    SUGGESTIONS), none while the text holds no word the index knows."""
    if not search.query_terms(text):
        return []
    return ranked_cards(browse.CatalogueQuery(text=text, sort=RELEVANCE)).items[:SUGGESTIONS]


def any_word_cards(query, limit=ANY_WORD_LIMIT):
    """Cards of products holding some but not all of a search's words (none for a one-word search),
    those holding more of the words first."""
    words = search.query_words(query.text)
    if len(words) < 2:
        return []
    every = search.query_terms(query.text)
    some = or_(*(search.matches(terms) for terms in words))
    candidates = _candidates(query, db.session.connection().dialect.name,
                             condition=and_(some, not_(search.matches(every))))
    words_held = [case((_holds(Product.search_terms, terms), 8), else_=0) for terms in words]
    statement = _scored(query, candidates, limit)
    ordering = words_held[0]
    for part in words_held[1:]:
        ordering = ordering + part
    statement = statement.order_by(None).order_by((ordering + score(query.text)).desc(),
                                                  Product.is_featured.desc(), Product.id.desc())
    return [browse.Card(*row) for row in db.session.execute(statement)]


@dataclass
class Results:
    """What a storefront search shows: the page (all the words), then, on the first page, products
    holding some of the words, and the corrected search when the typed one found nothing."""

    page: object
    some_words: list
    corrected: str | None = None


def search_ranked(query):
    """The storefront's search in relevance order, with its any-word results and typo correction
    (a search holding a word no title has, and finding nothing with all its words, is searched
    again with the nearest words the titles hold)."""
    page = ranked_cards(query)
    corrected = did_you_mean(query.text) if not page.items else None
    if corrected:
        fixed = replace(query, text=corrected)
        fixed_page = ranked_cards(fixed)
        if fixed_page.items:
            query, page = fixed, fixed_page
        else:
            corrected = None
    some_words = any_word_cards(query) if query.page == 1 and not page.has_next else []
    return Results(page, some_words, corrected)


def did_you_mean(text):
    """`text` with each English word the titles do not hold replaced by the nearest one they do,
    or None when no word needs it (or none is near)."""
    vocabulary = _english_words()
    changed, words = False, []
    for word in text.split():
        lower = word.lower()
        if not search.WORD.fullmatch(lower) or lower.isnumeric() or lower in vocabulary:
            words.append(word)
            continue
        singular = lower[:-1] if len(lower) > 3 and lower.endswith("s") else lower
        if singular in vocabulary:
            words.append(word)
            continue
        near = difflib.get_close_matches(lower, vocabulary, n=1, cutoff=0.75)
        if near:
            words.append(near[0])
            changed = True
        else:
            words.append(word)
    return " ".join(words) if changed else None


def _english_words():
    key = str(db.engine.url)
    kept = _vocabulary.get(key)
    if kept and kept[0] > time.monotonic():
        return kept[1]
    words = set()
    for title in db.session.scalars(select(Product.title_en).where(Product.status == "active",
                                                                   Product.direction == "uplink").distinct()):
        words.update(search.WORD.findall((title or "").lower()))
    vocabulary = sorted(words)
    _vocabulary[key] = (time.monotonic() + VOCABULARY_SECONDS, vocabulary)
    return vocabulary


@event.listens_for(db.session, "before_flush")
def _forget_vocabulary(session_, _context, _instances):
    if _vocabulary and any(isinstance(obj, Product) for obj in (*session_.new, *session_.dirty, *session_.deleted)):
        _vocabulary.clear()
