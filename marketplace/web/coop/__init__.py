"""The cooperative portal (合作社后台): listings, lots, members, rules, periods, fulfilment.

Cooperative managers work here from a phone in the field; village agents (代办) record lots
and direct listings on behalf of their village's households.
"""
from flask import Blueprint

bp = Blueprint("coop", __name__, url_prefix="/coop")

from marketplace.web.coop import (  # noqa: E402,F401
    agent, claims, fulfilment, invoices, listings, lots, members, periods, presales, routes, rules,
)
