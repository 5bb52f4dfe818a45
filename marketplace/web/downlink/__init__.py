"""Agent screens at a village service point (/agent/): order for villagers, receive runs, hand over."""
from flask import Blueprint

bp = Blueprint("downlink", __name__, url_prefix="/agent")

from marketplace.web.downlink import routes  # noqa: E402,F401
