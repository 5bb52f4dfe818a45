"""Organisation pages (/org/): order requests and their approval, paying by company transfer, the quota report."""
from flask import Blueprint

bp = Blueprint("org", __name__, url_prefix="/org")

from marketplace.web.org import routes  # noqa: E402,F401
