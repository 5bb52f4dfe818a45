"""The town's audit log, filtered."""
from flask import render_template, request
from sqlalchemy import select

from marketplace.audit.queries import town_audit, town_audit_actions
from marketplace.audit.sentences import ACTIONS
from marketplace.extensions import db
from marketplace.people.models import User
from marketplace.web.town import bp
from marketplace.web.town.forms import AuditFilterForm
from marketplace.web.town.routes import my_town_id, staff_only


@bp.get("/audit")
@staff_only
def audit_log():
    town_id = my_town_id()
    staff = db.session.scalars(select(User).where(User.town_id == town_id).order_by(User.name)).all()
    form = AuditFilterForm(request.args)
    form.action.choices = [("", "—"), *((a, ACTIONS.get(a, a)) for a in town_audit_actions(town_id))]
    form.actor_id.choices = [(0, "—"), *((u.id, u.name) for u in staff)]
    valid = form.validate()
    rows = town_audit(town_id, form.action.data or None, form.actor_id.data or None,
                      form.start.data, form.end.data) if valid else []
    names = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_({r.actor_id for r in rows})))}
    return render_template("town/audit.html", form=form, rows=rows, names=names), 200 if valid else 422
