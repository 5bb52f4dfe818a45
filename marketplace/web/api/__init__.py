"""The public JSON API v1 (`/api/v1`) for mini-programs and partner platforms, and the account
page where people make and revoke their API tokens.

The API authenticates only by bearer token, never by the session cookie, so CSRF does not
apply to it (`csrf.exempt`); the token page is an ordinary form page and keeps CSRF.
"""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
account_bp = Blueprint("api_tokens", __name__)

from marketplace.web.api import (  # noqa: E402,F401
    catalog, claims, coop, limits, openapi, organisation, shop, tokens_page, town,
)
