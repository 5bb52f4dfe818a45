"""A whole village's statements as one PDF, rendered by a Celery task with visible progress."""
from sqlalchemy import select

from marketplace.database import utcnow
from marketplace.documents import html_to_pdf
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.outbox.services import publish
from marketplace.people.models import Household
from marketplace.places.models import Village
from marketplace.places.scope import staff_town_id, village_in_town
from marketplace.statements.models import StatementJob
from marketplace.statements.services import check_period, render_chinese_html, statement_for


def request_village_statements(actor_id, village_id, start, end):
    """Queue the village's statements for [start, end]; the task starts after this commits."""
    town_id = staff_town_id(actor_id)
    village = village_in_town(village_id, town_id)
    check_period(start, end)
    total = db.session.query(Household).filter_by(village_id=village.id).count()
    job = StatementJob(town_id=town_id, village_id=village.id, period_start=start, period_end=end,
                       total_count=total, requested_by_id=actor_id)
    db.session.add(job)
    db.session.flush()
    publish("statements.render_village", job_id=job.id)
    db.session.commit()
    return job


def job_in_town(job_id, town_id):
    job = db.session.get(StatementJob, job_id)
    if job is None or job.town_id != town_id:
        raise NotFound("No such statement file in your town.")
    return job


def render_village_statements(job_id):
    """Render every household's statement, committing progress after each; safe to run twice."""
    job = db.session.get(StatementJob, job_id)
    if job is None or job.status == "done":
        return
    households = db.session.scalars(
        select(Household.id).where(Household.village_id == job.village_id).order_by(Household.head_name, Household.id)
    ).all()
    job.status, job.done_count, job.total_count = "running", 0, len(households)
    db.session.commit()
    statements = []
    for household_id in households:
        statements.append(statement_for(job.town_id, household_id, job.period_start, job.period_end))
        job.done_count += 1
        db.session.commit()
    html = render_chinese_html("documents/household_statement.html", statements=statements,
                               village=db.session.get(Village, job.village_id))
    db.session.commit()  # hold no transaction while WeasyPrint works (SQLite: no write lock either)
    job.pdf = html_to_pdf(html)
    job.status = "done"
    job.finished_at = utcnow()
    db.session.commit()
