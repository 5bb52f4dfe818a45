from flask import Blueprint

bp = Blueprint("storefront", __name__)

from marketplace.web.storefront import routes  # noqa: E402,F401
