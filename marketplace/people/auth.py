"""Loading the signed-in user from the session cookie, refusing cookies of ended sessions."""
from marketplace.extensions import db
from marketplace.people.models import User


def load_user(session_user_id):
    user_id, _, version = str(session_user_id).partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or not user.is_active_account:
        return None
    return user
