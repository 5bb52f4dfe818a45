"""A shared, short-lived cache of public catalogue pages, in Redis (every gunicorn worker sees it).

A page is kept for PAGE_CACHE_SECONDS (1 s by default), so a stock or price change, however it
was made (an ORM edit or checkout's conditional UPDATE), shows within that second. Edits made
through the ORM also bump `catalogue:version` after commit, which retires every cached page at
once. Only anonymous visitors without flashed messages get cached pages; the CSRF token of the
page is swapped for the visitor's own when served. Without CACHE_REDIS_URL nothing is cached.
"""
import functools

import redis
from flask import current_app, g, request, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event

from marketplace.extensions import db

VERSION_KEY = "catalogue:version"
CSRF_MARK = b"\x00csrf\x00"
_CHANGED = "catalogue_changed"
# What an anonymous visitor's session may hold and still see the shared page: the language is
# part of the key and the CSRF token is swapped in. A cart, a sign-in or a flash skip the cache.
SHAREABLE_SESSION_KEYS = {"lang", "csrf_token", "_permanent", "_fresh"}


def init_app(app):
    url = app.config.get("CACHE_REDIS_URL")
    app.extensions["page_cache"] = redis.Redis.from_url(url, socket_timeout=0.5) if url else None


def _store():
    return current_app.extensions.get("page_cache")


def cached_page(view):
    """Serve the view's HTML from the shared cache for anonymous GETs, for PAGE_CACHE_SECONDS."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        store = _store()
        if store is None or not SHAREABLE_SESSION_KEYS.issuperset(session.keys()):
            return view(*args, **kwargs)
        key = f"page:{get_locale()}:{request.full_path}"
        try:
            version, cached = store.mget(VERSION_KEY, key)
        except redis.RedisError:
            return view(*args, **kwargs)
        version = version or b"0"
        if cached is not None:
            stored_version, _, body = cached.partition(b"|")
            if stored_version == version:
                return _respond(body)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and response.mimetype == "text/html" and not response.direct_passthrough:
            body = response.get_data()
            token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
            if token:  # the page has a form: each visitor gets a token of their own
                body = body.replace(token.encode(), CSRF_MARK)
            try:
                store.set(key, version + b"|" + body,
                          px=int(current_app.config["PAGE_CACHE_SECONDS"] * 1000))
            except redis.RedisError:
                pass  # the cache is an optimisation: a page is still served without it
        return response

    return wrapper


def _respond(body):
    if CSRF_MARK in body:
        body = body.replace(CSRF_MARK, generate_csrf().encode())
    return current_app.response_class(body, mimetype="text/html")


def bump_catalogue_version():
    """Retire every cached catalogue page now (called after a commit that changed products)."""
    store = _store()
    if store is not None:
        try:
            store.incr(VERSION_KEY)
        except redis.RedisError:
            pass  # pages still expire within PAGE_CACHE_SECONDS


@event.listens_for(db.session, "before_flush")
def _note_catalogue_change(session_, _context, _instances):
    from marketplace.catalog.models import Product, Variant

    if any(isinstance(obj, (Product, Variant)) for obj in (*session_.new, *session_.dirty, *session_.deleted)):
        session_.info[_CHANGED] = True


@event.listens_for(db.session, "after_commit")
def _bump_after_commit(session_):
    if session_.info.pop(_CHANGED, False):
        bump_catalogue_version()
