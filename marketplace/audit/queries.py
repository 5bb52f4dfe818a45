"""Reading the audit log: a town's money actions, filtered."""
from datetime import datetime, time, timedelta

from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.extensions import db


def town_audit(town_id, action=None, actor_id=None, start=None, end=None, limit=200):
    """The town's audit rows, newest first, optionally by action, staff member and date range."""
    query = select(AuditLog).where(AuditLog.town_id == town_id)
    if action:
        query = query.where(AuditLog.action == action)
    if actor_id:
        query = query.where(AuditLog.actor_id == actor_id)
    if start:
        query = query.where(AuditLog.at >= datetime.combine(start, time.min))
    if end:
        query = query.where(AuditLog.at < datetime.combine(end + timedelta(days=1), time.min))
    return db.session.scalars(query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)).all()


def town_audit_actions(town_id):
    return db.session.scalars(select(AuditLog.action).where(AuditLog.town_id == town_id)
                              .distinct().order_by(AuditLog.action)).all()
