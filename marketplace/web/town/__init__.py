from flask import Blueprint

bp = Blueprint("town", __name__, url_prefix="/town")

from marketplace.web.town import (  # noqa: E402,F401
    audit, claims, deliveries, funding, households, love_fund, payouts, reconciliation, reports, routes,
)
