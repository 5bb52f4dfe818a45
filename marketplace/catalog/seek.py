"""Keyset (seek) pagination behind the catalogue's page numbers, so page 400 costs what page 1 costs.

A listing's order is a key of two columns that all run one way (featured: is_featured, id
descending; price: lowest price, id; newest: created_at, id descending). Page n ≥ 2 is read as
"the first `per_page` rows after the key that ended page n−1": PostgreSQL seeks into the
listing's index and stops at the page's end, where OFFSET walked (and, for the cards, built)
every row before it.

The key ending each page — the listing's *anchors* — comes from one query per listing (every
`per_page`-th row's key, numbered in the listing's order; index-only for the unfiltered
listings, the GIN index for a search). Each process keeps a listing's anchors ANCHOR_SECONDS,
and forgets them all at once when it flushes a change to products or variants. A change made in
another process therefore moves the later pages' boundaries by that product for at most
ANCHOR_SECONDS (a product can show at the end of one page and the start of the next, or be
skipped between two, for that long); page 1 is always exact, and every page is in order.
"""
import time

from sqlalchemy import bindparam, event, func, literal_column, select, tuple_

from marketplace.catalog.models import Product, Variant
from marketplace.extensions import db

ANCHOR_SECONDS = 60
MAX_LISTINGS = 4_096  # a bound on memory; forgetting only costs one query
_anchors = {}  # (database URL, listing) -> (expires at, anchors, rows in the listing)

SORT_KEYS = {  # the listing's key and whether it descends
    "featured": ((Product.is_featured, Product.id), True),
    "price_asc": ((Product.lowest_price_fen, Product.id), False),
    "price_desc": ((Product.lowest_price_fen, Product.id), True),
    "newest": ((Product.created_at, Product.id), True),
}


def key_columns(sort, sorted_in_memory=False):
    """The key of a listing sorted by `sort`, and whether it descends. `sorted_in_memory`: the
    price as `lowest_price_fen + 0`, which keeps PostgreSQL off the price index (a rare term's
    few matches are fetched through the GIN index and sorted)."""
    columns, descending = SORT_KEYS[sort]
    if sorted_in_memory and sort in ("price_asc", "price_desc"):
        columns = (Product.lowest_price_fen + literal_column("0"), Product.id)
    return columns, descending


def order_by(sort, sorted_in_memory=False):
    columns, descending = key_columns(sort, sorted_in_memory)
    return tuple(column.desc() if descending else column.asc() for column in columns)


def after_key(sort, sorted_in_memory=False):
    """The condition "after the anchor" with the anchor as bound parameters `after_0`, `after_1`
    (bound, so one prepared statement serves every page of a listing)."""
    columns, descending = key_columns(sort, sorted_in_memory)
    anchor = tuple_(*(bindparam(f"after_{index}", type_=column.type) for index, column in enumerate(columns)))
    return tuple_(*columns) < anchor if descending else tuple_(*columns) > anchor


def anchor_parameters(anchor):
    return {f"after_{index}": value for index, value in enumerate(anchor)}


def anchors(listing, matching, sort, per_page):
    """(anchors, rows): the key ending each full page of `listing` (a hashable description of
    the listing, page excluded) and how many rows it has. `matching(statement)` narrows a
    statement over products to the listing (the order is set here)."""
    key = (str(db.engine.url), listing)
    kept = _anchors.get(key)
    now = time.monotonic()
    if kept and kept[0] > now:
        return kept[1], kept[2]
    columns, descending = key_columns(sort)
    numbered = matching(select(*columns, func.row_number().over(order_by=order_by(sort)).label("n"),
                               func.count().over().label("rows"))).order_by(None).subquery()
    found = db.session.execute(
        select(*(numbered.c[index] for index in range(len(columns))), numbered.c.rows)
        .where((numbered.c.n % per_page == 0) | (numbered.c.n == numbered.c.rows))
        .order_by(numbered.c.n)).all()
    rows = found[-1][-1] if found else 0
    keys = [tuple(row[:-1]) for row in found[:rows // per_page]]  # the full pages' last keys
    if len(_anchors) >= MAX_LISTINGS:
        _anchors.clear()
    _anchors[key] = (now + ANCHOR_SECONDS, keys, rows)
    return keys, rows


def forget_anchors():
    _anchors.clear()


@event.listens_for(db.session, "before_flush")
def _forget_on_change(session_, _context, _instances):
    if _anchors and any(isinstance(obj, (Product, Variant)) for obj in (*session_.new, *session_.dirty, *session_.deleted)):
        _anchors.clear()


