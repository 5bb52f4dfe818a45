"""Links: Flask's `url_for` for templates, remembered per process, and absolute links for
anything that leaves the page (QR codes, e-mails, API fields).

An absolute link is never built from the request's Host header: a request with `Host:
evil.example` would otherwise put that host into a page the shared cache serves to everyone, or
into a password-reset e-mail. It starts with PUBLIC_BASE_URL, the site's address as configured.
"""
import functools

from flask import current_app, has_request_context, request, url_for


def public_url(endpoint, **values):
    """The absolute address of `endpoint` on the public site (PUBLIC_BASE_URL), whatever the Host."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def template_url_for(endpoint, **values):
    """`url_for` for templates. A link depends only on its endpoint, its values and where the app
    is mounted, and a page builds the same few dozen on every request (≈20 µs each), so each
    process builds one once; links with options (`_external`, `_anchor`) are built every time."""
    if not has_request_context() or any(name.startswith("_") for name in values):
        return url_for(endpoint, **values)
    try:
        return _link(request.script_root, endpoint, tuple(sorted(values.items())))
    except TypeError:  # a list of values (?label=a&label=b) cannot key the memo
        return url_for(endpoint, **values)


@functools.lru_cache(maxsize=4096)
def _link(_script_root, endpoint, values):
    return url_for(endpoint, **dict(values))
