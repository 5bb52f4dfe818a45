from marketplace.audit.models import AuditLog
from marketplace.extensions import db


def record(action, actor_id=None, obj=None, town_id=None, on_behalf_of_household_id=None, **details):
    """Add an audit row to the current transaction; the caller's commit makes it durable."""
    db.session.add(AuditLog(
        action=action,
        actor_id=actor_id,
        object_type=type(obj).__tablename__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        town_id=town_id,
        on_behalf_of_household_id=on_behalf_of_household_id,
        details=details,
    ))
