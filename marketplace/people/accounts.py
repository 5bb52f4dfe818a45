"""Signing in and out. Sessions end for real: each cookie carries the user's session version."""
from sqlalchemy import func, select, update

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.people.models import User


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
