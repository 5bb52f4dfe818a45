"""The catalogue's search index: each product's `search_terms`, and the terms a query must match.

Chinese is written without spaces, so a product is indexed under every character and every pair
of adjacent characters (bigram) of its titles, its village's name and its labels; English under
its lower-cased words (and their singular). A query matches a product holding all of the query's
bigrams (a one-character query: that character), so 雪梨 finds 焦氏雪梨 and 有机小米 does not find
"有机大米、小米粥" (no 机小). On PostgreSQL a GIN index over the terms answers a rare term, and a
common one is checked as the listing is walked in its order (`browse` chooses, from `rarity`);
on SQLite a LIKE per term over the same column does.

The terms are kept by a flush listener whenever a product is added or edited through the ORM; the
scale generator (`marketplace.demo.scale`) writes them with the same function.
"""
import re
import time
from dataclasses import dataclass

from sqlalchemy import event, func, literal, literal_column, text
from sqlalchemy.dialects import postgresql

from marketplace.catalog.models import Product
from marketplace.database import is_postgres
from marketplace.extensions import db

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[a-z0-9]+")
LABEL_WORDS = {
    "label_selenium_rich": "富硒 selenium-rich",
    "label_organic": "有机 organic",
    "label_poor_household_direct": "扶贫直供 poor-household direct",
}
MAX_QUERY_TERMS = 12


def _words(text):
    for word in WORD.findall(text.lower()):
        yield word
        if len(word) > 3 and word.endswith("s"):
            yield word[:-1]  # "pears" is found by "pear"


def index_terms(*texts):
    """The sorted, space-separated terms stored for these texts (with a space at each end)."""
    terms = set()
    for text in texts:
        for run in HAN.findall(text or ""):
            terms.update(run)
            terms.update(run[i:i + 2] for i in range(len(run) - 1))
        terms.update(_words(text or ""))
    return f" {' '.join(sorted(terms))} " if terms else ""


def query_terms(text):
    """The terms a product must hold to match the search `text` (all of them), at most MAX_QUERY_TERMS."""
    terms = []
    for run in HAN.findall(text):
        terms.extend([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
    for word in WORD.findall(text.lower()):
        terms.append(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]


def product_terms(title_zh, title_en, village_zh="", village_en="", labels=()):
    """`labels` are the names of the product's true label columns."""
    return index_terms(title_zh, title_en, village_zh, village_en, *(LABEL_WORDS[label] for label in labels))


def terms_of(product, village=None):
    village = village if village is not None else product.origin_village
    labels = [label for label in LABEL_WORDS if getattr(product, label)]
    return product_terms(product.title_zh, product.title_en, village.name_zh if village else "",
                         village.name_en if village else "", labels)


def terms_array(column):
    """The expression the GIN index is built on (PostgreSQL). The separator is written out: bound,
    a prepared statement's condition would no longer be the index's expression."""
    return func.string_to_array(column, literal_column("' '"))


def matches(terms, walk=False):
    """The condition that a product holds every one of `terms`, for the session's database.

    On PostgreSQL the terms are written into the SQL text, not bound, so a search asked again
    (the common ones are asked all day) reuses its prepared plan. `walk=False` is the GIN
    index's containment test, for rare terms. `walk=True` is a plain substring test per term
    (rarest first), for a listing walked in its own order: ix_products_listing INCLUDEs the
    terms, so each product is checked without reading it, ten times cheaper than splitting its
    terms into an array. The terms are only Han characters, letters and digits (HAN, WORD):
    nothing that needs quoting beyond what SQLAlchemy does."""
    if is_postgres():
        if walk:
            return db.and_(*(func.strpos(Product.search_terms, literal(f" {term} ", literal_execute=True)) > 0
                             for term in terms))
        return terms_array(Product.search_terms).op("@>")(
            literal(terms, type_=postgresql.ARRAY(db.Text), literal_execute=True))
    return db.and_(*(Product.search_terms.contains(f" {term} ", autoescape=True) for term in terms))


STATS_SECONDS = 300  # statistics change only when PostgreSQL analyses the table
_statistics = {}  # database URL -> (expires at, {term: share of products}, share of an untracked term, products)


@dataclass(frozen=True)
class Rarity:
    """How rare a search's terms are, from PostgreSQL's statistics of the GIN index (pg_stats:
    right, where its estimate for several bigrams of one word, taken as independent, is not)."""

    terms: tuple  # rarest first
    share: float  # of the products, holding the rarest term
    products: int

    @property
    def matches(self):
        """At most this many products match (about this many, for the bigrams of one word)."""
        return self.share * self.products


def rarity(terms):
    """The `Rarity` of `terms`; None while PostgreSQL has no statistics of the index."""
    shares, untracked, products = _term_statistics()
    if not shares:
        return None
    ordered = tuple(sorted(terms, key=lambda term: shares.get(term, untracked)))
    return Rarity(ordered, shares.get(ordered[0], untracked), products)


def _term_statistics():
    key = str(db.engine.url)
    kept = _statistics.get(key)
    if kept and kept[0] > time.monotonic():
        return kept[1:]
    row = db.session.execute(text(
        "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples"
        " FROM pg_stats s JOIN pg_class c ON c.oid = 'products'::regclass"
        " WHERE s.schemaname = current_schema() AND s.tablename = 'ix_products_search_terms'")).first()
    if row and row[0]:
        terms, shares, products = row
        # The shares end with the lowest and highest share kept and the share of NULLs: a term
        # not kept is rarer than the rarest kept one.
        kept = (time.monotonic() + STATS_SECONDS, dict(zip(terms, shares)), shares[-3] / 2, max(products, 1))
    else:
        kept = (time.monotonic() + STATS_SECONDS, {}, 0.0, 0)
    _statistics[key] = kept
    return kept[1:]


@event.listens_for(db.session, "before_flush")
def _keep_terms(session_, _context, _instances):
    from marketplace.places.models import Village

    for obj in (*session_.new, *session_.dirty):
        if isinstance(obj, Product):
            village = session_.get(Village, obj.origin_village_id) if obj.origin_village_id else None
            terms = terms_of(obj, village)
            if obj.search_terms != terms:
                obj.search_terms = terms
