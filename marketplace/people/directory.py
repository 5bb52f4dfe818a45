"""The admin's directory of accounts: finding people, deactivating and reactivating them."""
from sqlalchemy import func, or_, select

from marketplace.api.tokens import revoke_all_tokens, tell_owner_tokens_ended
from marketplace.audit.services import record
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.people.accounts import end_all_sessions
from marketplace.people.models import ROLES, User


def search_users(text="", role=""):
    query = select(User).order_by(User.id)
    text = (text or "").strip()[:80]
    if text:
        query = query.where(or_(func.lower(User.email).contains(text.lower(), autoescape=True),
                                User.name.contains(text, autoescape=True)))
    if role in ROLES:
        query = query.where(User.role == role)
    return query


def set_user_active(user_id, active, actor_id):
    """Deactivate (every session and API token ends at once, sign-in refused) or reactivate an account."""
    actor = db.session.get(User, actor_id)
    if actor is None or actor.role != "admin":
        raise Forbidden("Only the platform admin deactivates accounts.")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such account.")
    if user.id == actor_id and not active:
        raise DomainError("You cannot deactivate your own account.")
    user.is_active_account = bool(active)
    record("user.activated" if active else "user.deactivated", actor_id, user, town_id=user.town_id,
           email=user.email)
    # Tokens end with the deactivation, so a reactivation does not bring them back.
    revoked = 0 if active else revoke_all_tokens(user.id, "deactivated")
    db.session.commit()
    if not active:
        end_all_sessions(user.id)
        tell_owner_tokens_ended(user.id, revoked, "deactivated")
    return user
