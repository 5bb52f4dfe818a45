"""Supplier screens (/supplier/): daily goods, delivery areas, delivery runs and pick lists."""
from flask import Blueprint

bp = Blueprint("supplier", __name__, url_prefix="/supplier")

from marketplace.web.supplier import routes  # noqa: E402,F401
