from flask import Blueprint

bp = Blueprint("invitations", __name__)

from marketplace.web.invitations import routes  # noqa: E402,F401
