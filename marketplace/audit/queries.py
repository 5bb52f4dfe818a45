"""Reading the audit log: filtered, newest first. (Writing is `services.record`; rows never change.)"""

from sqlalchemy import func, select

from marketplace.audit.models import AuditLog
from marketplace.extensions import db
from marketplace.local_time import day_bounds_utc
from marketplace.people.models import User


def search_audit(action="", actor_email="", object_type="", town_id=None, since=None, until=None, actor_id=None):
    """A query of audit rows matching every filter given; `since`/`until` are dates, inclusive."""
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action.startswith(action.strip()[:60], autoescape=True))
    if actor_email:
        query = query.join(User, User.id == AuditLog.actor_id).where(
            func.lower(User.email).contains(actor_email.strip().lower()[:254], autoescape=True))
    if actor_id:
        query = query.where(AuditLog.actor_id == actor_id)
    if object_type:
        query = query.where(AuditLog.object_type == object_type.strip()[:40])
    if town_id:
        query = query.where(AuditLog.town_id == town_id)
    if since:  # the district's calendar days
        query = query.where(AuditLog.at >= day_bounds_utc(since)[0])
    if until:
        query = query.where(AuditLog.at < day_bounds_utc(until)[1])
    return query


def town_audit(town_id, action=None, actor_id=None, start=None, end=None, limit=200):
    """The town's audit rows, newest first, optionally by action, staff member and date range."""
    query = search_audit(action=action or "", town_id=town_id, since=start, until=end, actor_id=actor_id)
    return db.session.scalars(query.limit(limit)).all()


def town_audit_actions(town_id):
    return db.session.scalars(select(AuditLog.action).where(AuditLog.town_id == town_id)
                              .distinct().order_by(AuditLog.action)).all()
