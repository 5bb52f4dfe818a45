"""Who the visitor is for an order: a signed-in buyer, or a guest known by a proven mobile number.

A guest proves a number with a one-time code (the session then holds it for GUEST_SESSION_HOURS),
or opens the signed link of one order (the session then holds that order's number)."""
from datetime import datetime, timedelta, timezone
from functools import wraps

from flask import current_app, session
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from marketplace.orders.checkout import order_for_visitor

GUEST_SESSION_HOURS = 24
LINK_DAYS = 180


def guest_phone():
    """The mobile number this session proved lately, or None."""
    phone, since = session.get("guest_phone"), session.get("guest_since")
    if not phone or not isinstance(since, (int, float)):
        return None
    if datetime.now(timezone.utc).timestamp() - since > GUEST_SESSION_HOURS * 3600:
        return None
    return phone


def remember_guest(phone):
    session["guest_phone"] = phone
    session["guest_since"] = datetime.now(timezone.utc).timestamp()


def is_guest():
    return not current_user.is_authenticated and bool(guest_phone() or session.get("guest_orders"))


def visitor_order(public_no):
    """The order for whoever is visiting, or NotFound."""
    if current_user.is_authenticated:
        return order_for_visitor(public_no, buyer_id=current_user.id)
    return order_for_visitor(public_no, guest_phone=guest_phone(), guest_order_nos=session.get("guest_orders", ()))


def buyer_or_guest(view):
    """Like login_required, but a guest with a proven number or an order's link may pass."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated and not is_guest():
            return current_app.login_manager.unauthorized()
        return view(*args, **kwargs)
    return wrapped


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="guest-order")


def order_link_token(public_no):
    return _serializer().dumps(public_no)


def order_no_of_link(token):
    """The order number a signed link names, or None (tampered, foreign or older than LINK_DAYS)."""
    try:
        return _serializer().loads(token, max_age=timedelta(days=LINK_DAYS).total_seconds())
    except BadSignature:
        return None
