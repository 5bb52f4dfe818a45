from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from marketplace.web.admin import (  # noqa: E402,F401
    routes, routes_imports, routes_organisations, routes_people, routes_unpaid_orders,
)
