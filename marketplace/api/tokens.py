"""Per-user API tokens: made and revoked by their owner, shown once, stored as a hash.

A token is 32 random bytes, so a fast SHA-256 is as safe to store as a slow password hash
and lets each request find its token with one indexed lookup.
"""
import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update

from marketplace.api.models import ApiToken
from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
from marketplace.mail import send_mail
from marketplace.people.models import User

TOKEN_PREFIX = "mp_"
MAX_ACTIVE_TOKENS = 10
TOUCH_EVERY = timedelta(minutes=5)


def token_hash(plaintext):
    return hashlib.sha256(plaintext.encode()).hexdigest()


def user_tokens(user_id):
    """The user's tokens that still work, newest first."""
    return db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id.desc())
    ).all()


def create_token(user_id, name):
    """Make a token for the user, scoped to their role; returns (token, plaintext shown once)."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active_account:
        raise NotFound(_("No such account."))
    name = (name or "").strip()
    if not 1 <= len(name) <= 60:
        raise DomainError(_("Give the token a name of up to 60 characters."), field="name")
    active = db.session.scalar(select(func.count(ApiToken.id)).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)))
    if active >= MAX_ACTIVE_TOKENS:
        raise DomainError(_("You have %(count)d tokens already; revoke one first.", count=MAX_ACTIVE_TOKENS),
                          code="too_many_tokens")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, name=name, role=user.role, token_hash=token_hash(plaintext),
                     prefix=plaintext[:10])
    db.session.add(token)
    db.session.flush()
    record("api_token.created", actor_id=user_id, obj=token, name=name, role=user.role)
    db.session.commit()
    return token, plaintext


def revoke_token(user_id, token_id):
    """Revoke one of the user's own tokens; another user's token does not exist for them."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id or token.revoked_at is not None:
        raise NotFound(_("No such token."))
    token.revoked_at = utcnow()
    record("api_token.revoked", actor_id=user_id, obj=token)
    db.session.commit()


# Why every token of an account ends, in the owner's e-mail (both languages, as every mail).
ENDED_BECAUSE = {
    "password_changed": "您的密码已修改 / your password was changed",
    "password_reset": "您的密码已通过邮件重设 / your password was reset by e-mail",
    "deactivated": "您的账户已被停用 / your account was deactivated",
}


def revoke_all_tokens(user_id, reason):
    """Revoke every working token of the user, in the caller's transaction; the number revoked.

    Called where a browser session ends for good (password changed or reset, account
    deactivated): a token must not outlive what ended the session, nor come back when the
    account is reactivated. The caller commits, then calls `tell_owner_tokens_ended`."""
    revoked = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if revoked:
        record("api_token.all_revoked", actor_id=None, obj=db.session.get(User, user_id), reason=reason,
               count=revoked)
    return revoked


def tell_owner_tokens_ended(user_id, revoked, reason):
    """E-mail the owner that their `revoked` API tokens stopped working, and why (none: no mail)."""
    if not revoked:
        return
    user = db.session.get(User, user_id)
    send_mail(user.email, "API 令牌已失效 / Your API tokens were revoked",
              f"因为{ENDED_BECAUSE[reason]}，您的 {revoked} 个 API 令牌已全部失效。"
              f"如仍需要，请登录后在“API 令牌”页面重新创建。\n\n"
              f"Because {ENDED_BECAUSE[reason].split(' / ')[1]}, your {revoked} API token(s) no longer work. "
              "Sign in and make new ones on the API tokens page if you still need them.\n")


def user_for_token(plaintext):
    """The active user a presented token belongs to, or None.

    None when the token is unknown or revoked, the account is deactivated, or the user's role is
    no longer the role the token was made for.
    """
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    user = token.user
    if not user.is_active_account or user.role != token.role:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
        db.session.commit()
    return user
