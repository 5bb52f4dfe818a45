"""A shared cache of public catalogue pages, in Redis (every gunicorn worker sees it).

A cached page carries the versions of what it shows; a hit is served only while they are all
unchanged, so a change shows on the very next request, and a page otherwise lives
PAGE_CACHE_SECONDS (a backstop for what no version tracks, such as lots drawn down by attribution).

- `catalogue:version` retires every page: bumped after a commit that added or changed products,
  variants (prices, going off sale), photos or new lots through the ORM, or that ran an UPDATE
  statement on variants setting anything but stock.
- `catalogue:stock:<variant id>`: bumped after a commit that ran an UPDATE statement changing only
  that variant's stock (checkout's conditional UPDATE, a reservation given back, `add_stock`).
  Only pages that show stock (the product page) depend on it; listing pages show prices only.
- `catalogue:changes` counts every bump: a page rendered while something changed is not stored.

A hit is one Redis round trip (a Lua script compares the versions) before any SQL and before the
user is loaded. Only anonymous visitors without a cart or flashed messages get cached pages; the
language and elder mode are part of the key and the page's CSRF token is swapped for the visitor's own.
Without CACHE_REDIS_URL nothing is cached.
"""
import functools
import time

import redis
from flask import current_app, g, request, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

from marketplace.extensions import db
from marketplace.ledger.figures import RETIRE_AFTER_COMMIT

VERSION_KEY = "catalogue:version"
CHANGES_KEY = "catalogue:changes"
STOCK_KEY = "catalogue:stock:{}"
PRESALE_KEY = "catalogue:presale:{}"
CSRF_MARK = b"\x00csrf\x00"
_CHANGED = "catalogue_changed"
_STOCK_CHANGED = "catalogue_stock_changed"
# What an anonymous visitor's session may hold and still see the shared page: the language is
# part of the key and the CSRF token is swapped in. A cart, a sign-in or a flash skip the cache.
SHAREABLE_SESSION_KEYS = {"lang", "csrf_token", "_permanent", "_fresh"}

# KEYS: the page, CHANGES_KEY. An entry is "<dependency keys>\n<their versions>\n<html>".
# Returns {html or "", changes counter, the entry's dependency keys, their versions now}.
_LOOKUP = """
local entry = redis.call('GET', KEYS[1])
local changes = redis.call('GET', KEYS[2]) or '0'
if not entry then return {'', changes, '', ''} end
local keys_end = string.find(entry, '\\n', 1, true)
local stamp_end = string.find(entry, '\\n', keys_end + 1, true)
local keys_line = string.sub(entry, 1, keys_end - 1)
local keys = {}
for key in string.gmatch(keys_line, '%S+') do keys[#keys + 1] = key end
local now = redis.call('MGET', unpack(keys))
for i = 1, #keys do now[i] = now[i] or '0' end
local stamp = table.concat(now, ' ')
if stamp == string.sub(entry, keys_end + 1, stamp_end - 1) then
  return {string.sub(entry, stamp_end + 1), changes, keys_line, stamp}
end
return {'', changes, keys_line, stamp}
"""


def init_app(app):
    url = app.config.get("CACHE_REDIS_URL")
    store = redis.Redis.from_url(url, socket_timeout=0.5) if url else None
    app.extensions["page_cache"] = store


@functools.cache
def _lookup_script(store):
    return store.register_script(_LOOKUP)  # run by its SHA1 (EVALSHA), loaded on first use


def _store():
    return current_app.extensions.get("page_cache")


def shows_stock_of(variant_ids):
    """Called by a view whose page shows these variants' stock: a stock change retires the page."""
    depends_on(STOCK_KEY.format(variant_id) for variant_id in sorted(variant_ids))


def shows_presales(presale_ids):
    """Called by a view whose page shows these pre-sales' committed units: a pre-order retires the page."""
    depends_on(PRESALE_KEY.format(presale_id) for presale_id in sorted(presale_ids))


def depends_on(keys):
    """Called by a view whose page shows what these version keys track: bumping one retires the page."""
    g.page_cache_keys = [*g.get("page_cache_keys", []), *keys]


def cached_page(view):
    """Serve the view's HTML from the shared cache for anonymous GETs while what it shows is unchanged."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        store = _store()
        if store is None or not SHAREABLE_SESSION_KEYS.issuperset(session.keys()):
            return view(*args, **kwargs)
        key = f"page:{get_locale()}:{_elder_key()}:{request.full_path}"
        try:
            body, changes, old_keys, old_stamp = _lookup_script(store)(keys=[key, CHANGES_KEY])
        except redis.RedisError:
            return view(*args, **kwargs)
        if body:
            return _respond(body)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and response.mimetype == "text/html" and not response.direct_passthrough \
                and not _rendered_for_a_user():
            _keep(store, key, response, changes, old_keys.decode(), old_stamp.decode())
        return response

    return wrapper


def _elder_key():
    """Elder mode changes the page (marketplace.web.elder_mode): an anonymous visitor's cookie says it."""
    from marketplace.web.elder_mode import COOKIE

    return "elder" if request.cookies.get(COOKIE) == "1" else "std"


def _rendered_for_a_user():
    """Whether the view loaded a signed-in user (however they signed in): their page is theirs alone."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    return user is not None and user.is_authenticated


def _keep(store, key, response, changes_before, old_keys, old_stamp):
    keys = " ".join([VERSION_KEY, *g.get("page_cache_keys", [])])
    try:
        if keys == old_keys:
            stamp = old_stamp  # read before the page was rendered: a change during the render retires it
        else:
            *versions, changes_now = store.mget(*keys.split(), CHANGES_KEY)
            if (changes_now or b"0") != changes_before:
                return  # something changed while rendering: the page may show the old state
            stamp = " ".join((version or b"0").decode() for version in versions)
        body = response.get_data()
        token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        if token:  # the page has a form: each visitor gets a token of their own
            body = body.replace(token.encode(), CSRF_MARK)
        store.set(key, f"{keys}\n{stamp}\n".encode() + body, px=int(current_app.config["PAGE_CACHE_SECONDS"] * 1000))
    except redis.RedisError:
        pass  # the cache is an optimisation: the page is still served without it


def _respond(body):
    if CSRF_MARK in body:
        body = body.replace(CSRF_MARK, _visitors_csrf_token().encode())
    return current_app.response_class(body, mimetype="text/html")


TOKEN_REUSE_SECONDS = 60
_signed_tokens = {}  # (secret key, the session's raw CSRF token) -> (its signed token, reused until)


def _visitors_csrf_token():
    """The visitor's signed CSRF token, as `generate_csrf` makes it. Signing it (an HMAC and a
    timestamp) was a sixth of a cached product page, so each process reuses a visitor's token for
    TOKEN_REUSE_SECONDS: it stays valid for WTF_CSRF_TIME_LIMIT less at most that, and it is
    theirs alone (it signs their session's own random token)."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    key = (current_app.secret_key, session.get(field))
    kept = _signed_tokens.get(key)
    now = time.monotonic()
    if key[1] and kept and kept[1] > now:
        return kept[0]
    token = generate_csrf()  # gives a new visitor's session its raw token
    if len(_signed_tokens) >= 10_000:
        _signed_tokens.clear()  # a bound on memory; forgetting only costs signing again
    _signed_tokens[(current_app.secret_key, session.get(field))] = (token, now + TOKEN_REUSE_SECONDS)
    return token


def bump(keys):
    """Retire the pages that depend on `keys` (called after the commit that changed them)."""
    store = _store()
    if store is None:
        return
    try:
        with store.pipeline(transaction=False) as pipe:
            for key in (*keys, CHANGES_KEY):
                pipe.incr(key)
            pipe.execute()
    except redis.RedisError:
        pass  # pages still expire within PAGE_CACHE_SECONDS


def bump_catalogue_version():
    """Retire every cached catalogue page now."""
    bump([VERSION_KEY])


@event.listens_for(db.session, "before_flush")
def _note_catalogue_change(session_, _context, _instances):
    from marketplace.catalog.models import Product, ProductPhoto, SupplyLot, Variant
    from marketplace.presales.models import PreOrder, PreSale

    edited = (Product, Variant, ProductPhoto, PreSale)  # a pre-sale opening or closing shows on its product
    changed = (*session_.new, *session_.dirty)
    presales = {obj.presale_id for obj in changed if isinstance(obj, PreOrder)}
    if presales:  # a pre-order placed, paid or closed changes what its pre-sale shows as committed
        session_.info.setdefault(RETIRE_AFTER_COMMIT, set()).update(PRESALE_KEY.format(i) for i in presales)
    # Lots drawn down by attribution change on every payment: only a new lot retires pages.
    if any(isinstance(obj, edited) for obj in (*session_.dirty, *session_.deleted)) or any(
            isinstance(obj, (*edited, SupplyLot)) for obj in session_.new):
        session_.info[_CHANGED] = True


@event.listens_for(db.session, "do_orm_execute")
def _note_variant_update(state):
    """An UPDATE statement on variants: stock-only with known ids retires those variants' pages,
    anything else (a price, going off sale) every page."""
    if not state.is_update:
        return
    statement = state.statement
    if getattr(statement, "table", None) is None or statement.table.name != "variants":
        return
    columns = {getattr(column, "key", column) for column in getattr(statement, "_values", None) or {}}
    variant_ids = _variant_ids(statement) if columns == {"stock_available"} else None
    if variant_ids:
        state.session.info.setdefault(_STOCK_CHANGED, set()).update(variant_ids)
    else:
        state.session.info[_CHANGED] = True


def _variant_ids(statement):
    """The variant ids an UPDATE's WHERE names (`Variant.id == x` or `.in_([...])`), or None."""
    if statement.whereclause is None:
        return None
    id_column = statement.table.c.id
    for node in visitors.iterate(statement.whereclause):
        if isinstance(node, BinaryExpression) and isinstance(node.right, BindParameter) \
                and node.left.compare(id_column):
            if node.operator is operators.eq:
                return {node.right.value}
            if node.operator is operators.in_op:
                return set(node.right.value)
    return None


@event.listens_for(db.session, "after_commit")
def _bump_after_commit(session_):
    keys = [STOCK_KEY.format(variant_id) for variant_id in sorted(session_.info.pop(_STOCK_CHANGED, ()))]
    if session_.info.pop(_CHANGED, False):
        keys.append(VERSION_KEY)
    keys.extend(sorted(session_.info.pop(RETIRE_AFTER_COMMIT, ())))  # e.g. a town's figures folded in
    if keys:
        bump(keys)
