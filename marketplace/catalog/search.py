"""The catalogue's search index: each product's `search_terms`, and the terms a query must match.

Chinese is written without spaces, so a product is indexed under every character and every pair
of adjacent characters (bigram) of its titles, its village's name and its labels; English under
its lower-cased words (and their singular). A query matches a product holding all of the query's
bigrams (a one-character query: that character), so 雪梨 finds 焦氏雪梨 and 有机小米 does not find
"有机大米、小米粥" (no 机小). On PostgreSQL a GIN index over the terms answers a rare term, and a
common one is checked as the listing is walked in its order (`browse` chooses, from `rarity`);
on SQLite a LIKE per term over the same column does.

Beyond the bigrams, every Chinese run is also indexed under the pinyin of its words (segmented by
jieba), of its bigrams and of the whole run, in full and as initials (焦氏雪梨: xueli, xl, jiaoshi,
js, jiaoshixueli, jsxl), so a buyer typing pinyin first finds it; and under the bigrams and pinyin
of the synonyms of any produce name it holds (`marketplace.catalog.synonyms`: 马铃薯 is found by
土豆 and tudou). A query's terms are unchanged by this: 雪梨 is still the bigram 雪梨, xl the word xl.

A second column, `title_terms`, holds the same terms of the titles alone: ranking (`browse`)
tells a match in the title from a match through the village, cooperative or a label with it.

The terms are kept by a flush listener whenever a product (or its cooperative's name) is added or
edited through the ORM; the scale generator (`marketplace.demo.scale`) writes them with the same
function, and `flask catalog reindex` rewrites them all after the synonym table changes.
"""
import functools
import logging
import re
import time
from dataclasses import dataclass

import jieba

from sqlalchemy import event, func, literal, literal_column, text
from sqlalchemy.dialects import postgresql

from marketplace.catalog.models import Product
from marketplace.catalog.synonyms import SYNONYMS
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


jieba.setLogLevel(logging.WARNING)
MAX_PINYIN_RUN = 12  # a longer run (a sentence, not a name) is indexed by its words' pinyin only


def words_of(run):
    """The words of a Chinese run, as jieba segments it (有机小米 → 有机, 小米)."""
    return [word for word in jieba.lcut(run, HMM=False) if HAN.fullmatch(word)]


def _pinyin(text):
    """Full pinyin and initials of Chinese `text`: 雪梨 → xueli, xl."""
    # Imported when first needed: pypinyin's phrase dictionary costs every process 56 MB, and the
    # ledger's commands, the Celery workers and most requests never read a pinyin.
    from pypinyin import lazy_pinyin

    full = lazy_pinyin(text, errors="ignore")
    return "".join(full), "".join(syllable[0] for syllable in full if syllable)


def _bigrams(run):
    return [run[i:i + 2] for i in range(len(run) - 1)]


@functools.lru_cache(maxsize=65_536)
def _run_terms(run):
    """The terms of one Chinese run: characters, bigrams, the pinyin of its words, bigrams and whole,
    and the bigrams and pinyin of its produce names' synonyms."""
    terms = set(run)
    terms.update(_bigrams(run))
    named = set(_bigrams(run)) | set(words_of(run))
    if len(run) <= MAX_PINYIN_RUN:
        named.add(run)
    for name, others in SYNONYMS.items():
        if name in run:
            for other in others:
                terms.update(_bigrams(other))
                named.add(other)
    for name in named:
        if len(name) > 1:
            terms.update(_pinyin(name))
    terms.discard("")
    return frozenset(terms)


def index_terms(*texts):
    """The sorted, space-separated terms stored for these texts (with a space at each end)."""
    terms = set()
    for text in texts:
        for run in HAN.findall(text or ""):
            terms.update(_run_terms(run))
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


def query_words(text):
    """The words of a search, for its any-word results: what spaces separate, and a Chinese run
    of three characters or more cut into its words (山楂蜂蜜 → 山楂, 蜂蜜). Each is a list of terms."""
    words = []
    for token in text.split():
        for run in HAN.findall(token):
            pieces = words_of(run) if len(run) > 2 else [run]
            words.extend(query_terms(piece) for piece in (pieces or [run]))
        for word in WORD.findall(token.lower()):
            words.append(query_terms(word))
    unique = []
    for terms in words:
        if terms and terms not in unique:
            unique.append(terms)
    return unique[:MAX_QUERY_TERMS]


def product_terms(title_zh, title_en, village_zh="", village_en="", labels=(), cooperative_zh="", cooperative_en=""):
    """`labels` are the names of the product's true label columns."""
    return index_terms(title_zh, title_en, village_zh, village_en, cooperative_zh, cooperative_en,
                       *(LABEL_WORDS[label] for label in labels))


def title_terms(title_zh, title_en):
    return index_terms(title_zh, title_en)


def terms_of(product, village=None, cooperative=None):
    """(search terms, title terms) of `product`."""
    village = village if village is not None else product.origin_village
    labels = [label for label in LABEL_WORDS if getattr(product, label)]
    terms = product_terms(product.title_zh, product.title_en, village.name_zh if village else "",
                          village.name_en if village else "", labels,
                          cooperative.name_zh if cooperative else "", cooperative.name_en if cooperative else "")
    return terms, title_terms(product.title_zh, product.title_en)


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


def _cooperative_of(session_, seller_id):
    from marketplace.catalog.models import Seller

    seller = session_.get(Seller, seller_id) if seller_id else None
    return seller.cooperative if seller is not None and seller.cooperative_id else None


def _reindex(session_, product):
    from marketplace.places.models import Village

    village = session_.get(Village, product.origin_village_id) if product.origin_village_id else None
    terms, in_title = terms_of(product, village, _cooperative_of(session_, product.seller_id))
    if product.search_terms != terms:
        product.search_terms = terms
    if product.title_terms != in_title:
        product.title_terms = in_title


@event.listens_for(db.session, "before_flush")
def _keep_terms(session_, _context, _instances):
    from marketplace.catalog.models import Seller
    from marketplace.coops.models import Cooperative

    renamed = [obj.id for obj in session_.dirty if isinstance(obj, Cooperative) and obj.id is not None
               and session_.is_modified(obj, include_collections=False)]
    products = [obj for obj in (*session_.new, *session_.dirty) if isinstance(obj, Product)]
    if renamed:
        with session_.no_autoflush:
            products += session_.scalars(db.select(Product).join(Seller, Seller.id == Product.seller_id)
                                         .where(Seller.cooperative_id.in_(renamed))).all()
    with session_.no_autoflush:
        for product in products:
            _reindex(session_, product)


def reindex_all(batch=1_000):
    """Rewrite every product's terms (after the synonym table or the indexing changed); returns how many."""
    from marketplace.catalog.models import Seller
    from marketplace.coops.models import Cooperative
    from marketplace.places.models import Village

    statement = (db.select(Product.id, Product.title_zh, Product.title_en, Village.name_zh, Village.name_en,
                           Cooperative.name_zh, Cooperative.name_en, *(getattr(Product, label) for label in LABEL_WORDS))
                 .outerjoin(Village, Village.id == Product.origin_village_id)
                 .join(Seller, Seller.id == Product.seller_id)
                 .outerjoin(Cooperative, Cooperative.id == Seller.cooperative_id).order_by(Product.id))
    values = []
    for id_, title_zh, title_en, village_zh, village_en, coop_zh, coop_en, *flags in db.session.execute(statement):
        labels = [label for label, flag in zip(LABEL_WORDS, flags) if flag]
        values.append({"id": id_, "search_terms": product_terms(title_zh, title_en, village_zh or "", village_en or "",
                                                                labels, coop_zh or "", coop_en or ""),
                       "title_terms": title_terms(title_zh, title_en)})
    for start in range(0, len(values), batch):
        db.session.execute(db.update(Product), values[start:start + batch])
    db.session.commit()
    return len(values)
