"""Per-user API tokens: made and revoked by their owner, shown once, stored as a hash.

A token is 32 random bytes, so a fast SHA-256 is as safe to store as a slow password hash
and lets each request find its token with one indexed lookup.
"""
import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from marketplace.api.models import ApiToken
from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
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
