"""What every request pays before and after its view, cut to nothing for a plain read.

`/healthz` answered 1.77× slower than a bare Flask hello-world under the same gunicorn: the
rate limiter resolved its limits (0.7 ms) for requests that carry none, the session built its
signing serializer (a key derivation) for visitors who have no session cookie, and the security
headers were set one `setdefault` scan at a time. Here:

- `skip_hooks_for_plain_reads`: only POSTs (sign-in, sign-up, password reset, invitations) and
  the API's blueprint carry limits, so any other GET or HEAD skips the limiter's hooks
  altogether (a limit added to a storefront GET must be added to LIMITED_BLUEPRINTS); the CSRF
  check runs only for the methods it protects.
- `LeanCookieSessionInterface`: Flask's signed-cookie session, which gives a visitor without a
  session cookie an empty session at once and keeps one signing serializer per key.
- `SECURITY_HEADERS`: written in one pass, each unless the view set its own (the payment page
  widens the CSP).
- `remember_sync_checks`: Flask asks `inspect.iscoroutinefunction` of every hook and view on
  every request (nine times for `/healthz`, ≈10 % of it); the answer never changes for a given
  function, so it is asked once.
"""
import functools

from flask import request
from flask.sessions import SecureCookieSessionInterface

from marketplace.extensions import limiter

LIMITED_BLUEPRINTS = frozenset({"api"})
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_LIMITED = "marketplace.carries_limits"


def _carries_no_limit():
    return request.method in READING_METHODS and request.blueprint not in LIMITED_BLUEPRINTS


def _limited():
    """Whether this request carries limits, decided once (before, after and teardown ask)."""
    environ = request.environ
    limited = environ.get(_LIMITED)
    if limited is None:
        limited = environ[_LIMITED] = not _carries_no_limit()
    return limited


def _only_when(condition, hook, passthrough=False):
    @functools.wraps(hook)
    def wrapper(*args):
        if condition():
            return hook(*args)
        return args[0] if passthrough else None

    return wrapper


def _rewrap(registry, matches, condition, passthrough=False):
    hooks = registry.setdefault(None, [])
    hooks[:] = [_only_when(condition, hook, passthrough) if matches(hook) else hook for hook in hooks]


def skip_hooks_for_plain_reads(app):
    """Call after the extensions are bound: the limiter's three hooks run only for requests that
    carry limits, and the CSRF check only for the methods it protects."""
    limited = _limited
    from_limiter = lambda hook: getattr(hook, "__self__", None) is limiter or (  # noqa: E731
        getattr(hook, "args", None) == (limiter,))
    _rewrap(app.before_request_funcs, from_limiter, limited)
    _rewrap(app.after_request_funcs, from_limiter, limited, passthrough=True)
    _rewrap(app.teardown_request_funcs, from_limiter, limited)
    protected = app.config["WTF_CSRF_METHODS"]
    _rewrap(app.before_request_funcs, lambda hook: hook.__qualname__.startswith("CSRFProtect."),
            lambda: request.method in protected)


def remember_sync_checks(app):
    """Flask's `ensure_sync`, answered once per function instead of on every call."""
    ensure_sync = app.ensure_sync
    known = {}

    def remembered(func):
        try:
            return known[func]
        except KeyError:
            known[func] = wrapped = ensure_sync(func)
            return wrapped
        except TypeError:  # an unhashable callable: ask every time, as Flask does
            return ensure_sync(func)

    app.ensure_sync = remembered


class LeanCookieSessionInterface(SecureCookieSessionInterface):
    """Flask's session: an empty one for a visitor without a cookie, the serializer made once per key."""

    _serializers = {}

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(key)
        if serializer is None and app.secret_key:
            serializer = self._serializers[key] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app, request_):
        if app.secret_key and "HTTP_COOKIE" not in request_.environ:
            return self.session_class()
        return super().open_session(app, request_)

    def save_session(self, app, session, response):
        if not session and not session.modified:  # nothing to set or delete
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def security_headers(strict_transport):
    headers = {
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    if strict_transport:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return tuple(headers.items())
