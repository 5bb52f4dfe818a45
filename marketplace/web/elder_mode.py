"""长辈模式 (elder mode): the pages in large text, high contrast and big touch targets, as China's
2021 ageing-friendly rules (适老化) ask: main text ≥ 18 px (here 22 px, about WeChat care mode's
1.4×), line spacing ≥ 1.3, contrast ≥ 4.5:1, touch targets ≥ 60 × 60 px, one column, no
round-up or other nudge to pay more.

The switch in every page's header posts here. The choice is kept in a long-lived cookie (so it
holds for a visitor who never signs in, and the shared page cache keys on it), and on the account
of a signed-in user, whose choice follows them to another device until a cookie there says otherwise.
"""
from urllib.parse import urlsplit

from flask import Blueprint, has_request_context, redirect, request, url_for
from flask_login import current_user

from marketplace.people.accounts import set_elder_mode

COOKIE = "elder"
COOKIE_SECONDS = 400 * 24 * 3600  # browsers keep a cookie at most 400 days
bp = Blueprint("elder_mode", __name__)


def cookie_choice():
    """True or False from the visitor's cookie, None when they never chose on this device."""
    value = request.cookies.get(COOKIE)
    return {"1": True, "0": False}.get(value)


def elder_mode_on():
    if not has_request_context():  # a document rendered by a task (a statement, a cash sheet)
        return False
    chosen = cookie_choice()
    if chosen is not None:
        return chosen
    return bool(getattr(current_user, "is_authenticated", False) and getattr(current_user, "elder_mode", False))


@bp.post("/elder-mode/<any(on, off):state>")
def switch(state):
    """The header's switch (a form with only its CSRF token, which CSRFProtect checks)."""
    on = state == "on"
    if current_user.is_authenticated:
        set_elder_mode(current_user.id, on)
    target = request.referrer or url_for("storefront.index")
    if urlsplit(target).netloc not in ("", request.host):  # only ever back to a page of this site
        target = url_for("storefront.index")
    response = redirect(target)
    response.set_cookie(COOKIE, "1" if on else "0", max_age=COOKIE_SECONDS, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response


def init_app(app):
    app.register_blueprint(bp)

    @app.context_processor
    def inject_elder_mode():
        return {"elder_mode": elder_mode_on()}
