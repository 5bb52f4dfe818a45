"""Rate limits on the API: one per token and one per client address (Flask-Limiter).

The counters live where RATELIMIT_STORAGE_URI says: memory in development, Redis in
production (several web processes must share them). A refused request gets a 429 problem with
Retry-After in seconds.
"""
import hashlib
import time

from flask import current_app
from flask_babel import lazy_gettext as _
from flask_limiter.util import get_remote_address

from marketplace.extensions import limiter
from marketplace.web.api import bp
from marketplace.web.api.framework import bearer_token
from marketplace.web.api.problems import problem


def token_key():
    """The presented token, hashed: the counter never holds a token in clear."""
    return "token:" + hashlib.sha256(bearer_token().encode()).hexdigest()[:32]


def _no_token():
    return not bearer_token()


def _too_many(request_limit):
    retry_after = max(1, int(request_limit.reset_at - time.time()))
    return problem(429, "rate_limited", _("Too many requests; try again later."),
                   headers={"Retry-After": str(retry_after)})


def _per_token():
    return current_app.config["API_RATE_LIMIT_PER_TOKEN"]


def _per_ip():
    return current_app.config["API_RATE_LIMIT_PER_IP"]


limiter.shared_limit(_per_token, "api-token", key_func=token_key, exempt_when=_no_token, on_breach=_too_many)(bp)
limiter.shared_limit(_per_ip, "api-ip", key_func=get_remote_address, on_breach=_too_many)(bp)
