"""Buyers signing up, and resetting a forgotten password by e-mail.

A reset token is signed with SECRET_KEY, expires after RESET_TOKEN_SECONDS and carries a
fingerprint of the current password hash: once the password changes, every earlier token
(this one included) stops working, so each is single-use.
"""
import hashlib

from flask import current_app
from flask_babel import lazy_gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.api.tokens import revoke_all_tokens, tell_owner_tokens_ended
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.mail import send_mail
from marketplace.people.models import User

RESET_TOKEN_SECONDS = 3600
MIN_PASSWORD_LENGTH = 8


class BadResetToken(DomainError):
    status = 400
    code = "bad_reset_token"


def check_new_password(password):
    """A password long enough and not absurdly long; DomainError on the password field otherwise."""
    if not MIN_PASSWORD_LENGTH <= len(password or "") <= 200:
        raise DomainError(_("Choose a password of at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="password")


def sign_up(email, name, password):
    """A new buyer account; Conflict if the e-mail is taken (compared without case)."""
    email = (email or "").strip().lower()
    check_new_password(password)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(_("An account with this e-mail already exists. Sign in or reset your password."), field="email")
    user = User(email=email, name=(name or "").strip()[:80] or email.split("@")[0], role="buyer")
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(_("An account with this e-mail already exists. Sign in or reset your password."),
                       field="email") from error
    return user


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _fingerprint(user):
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def request_password_reset(email, link_for_token):
    """E-mail a reset link if an active account has this e-mail; silent either way, so the form
    never tells a stranger which addresses have accounts. `link_for_token(token)` builds the URL."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None or not user.is_active_account:
        return
    token = _serializer().dumps({"user": user.id, "fingerprint": _fingerprint(user)})
    link = link_for_token(token)
    send_mail(user.email, "重设密码 / Reset your password",
              f"请在一小时内打开下面的链接重设密码（只能使用一次）：\n{link}\n\n"
              f"Open this link within an hour to choose a new password (it works once):\n{link}\n\n"
              "如果不是您本人操作，请忽略此邮件。 If you did not ask for this, ignore this e-mail.\n")


def user_for_reset_token(token):
    """The user a valid, unused, unexpired token belongs to; BadResetToken otherwise."""
    try:
        data = _serializer().loads(token, max_age=RESET_TOKEN_SECONDS)
    except SignatureExpired as error:
        raise BadResetToken(_("This reset link has expired. Ask for a new one.")) from error
    except BadSignature as error:
        raise BadResetToken(_("This reset link is not valid. Ask for a new one.")) from error
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.is_active_account or data.get("fingerprint") != _fingerprint(user):
        raise BadResetToken(_("This reset link was already used. Ask for a new one."))
    return user


def reset_password(token, new_password):
    """Set a new password with a reset token; ends every session and API token of the user."""
    user = user_for_reset_token(token)
    check_new_password(new_password)
    user.set_password(new_password)
    user.session_version = User.session_version + 1  # in SQL: a logout elsewhere at once is not lost
    revoked = revoke_all_tokens(user.id, "password_reset")
    db.session.commit()
    tell_owner_tokens_ended(user.id, revoked, "password_reset")
    return user
