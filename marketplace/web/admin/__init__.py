from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from marketplace.web.admin import routes, routes_imports, routes_organisations, routes_people  # noqa: E402,F401
