"""Signing in and out, and changing a password. Sessions end for real: each cookie carries the
user's session version, and bumping it refuses every cookie issued before."""
from sqlalchemy import func, select, update

from marketplace.api.tokens import revoke_all_tokens, tell_owner_tokens_ended
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.people.models import User
from marketplace.people.registration import check_new_password


class BadCredentials(DomainError):
    status = 401
    code = "bad_credentials"


def authenticate(email, password):
    """The active user with this e-mail and password, or BadCredentials (same message either way)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None or not user.is_active_account or not user.check_password(password or ""):
        raise BadCredentials("Wrong e-mail or password.")
    return user


def end_all_sessions(user_id):
    """Invalidate every session cookie of this user (logout everywhere, password change, deactivation)."""
    db.session.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1))
    db.session.commit()


def change_password(user_id, current_password, new_password):
    """Set a signed-in user's new password, given the current one, and end every session and API
    token of the user (the caller signs its own session in again). BadCredentials, changing nothing, if the
    current password is wrong."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active_account or not user.check_password(current_password or ""):
        raise BadCredentials("Wrong current password.")
    check_new_password(new_password)
    user.set_password(new_password)
    user.session_version = User.session_version + 1  # in SQL: a logout elsewhere at once is not lost
    revoked = revoke_all_tokens(user_id, "password_changed")
    db.session.commit()
    tell_owner_tokens_ended(user_id, revoked, "password_changed")
    return user


def set_elder_mode(user_id, on):
    """Remember a user's choice of 长辈模式 (large text, high contrast, big touch targets) on every device."""
    db.session.execute(update(User).where(User.id == user_id).values(elder_mode=bool(on)))
    db.session.commit()
