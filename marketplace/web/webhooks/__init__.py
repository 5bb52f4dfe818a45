"""Endpoints called by machines, not people: no session, no CSRF token, a signature instead."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from marketplace.web.webhooks import routes  # noqa: E402,F401
