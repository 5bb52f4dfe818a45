"""A whole village's statements as one PDF, rendered by a Celery task with visible progress."""
from marketplace.database import utcnow
from marketplace.documents import html_to_pdf
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.outbox.services import publish
from marketplace.people.models import Household
from marketplace.places.models import Village
from marketplace.places.scope import staff_town_id, village_in_town
from marketplace.statements.models import StatementJob
from marketplace.statements.gathering import village_statements
from marketplace.statements.services import check_period, render_chinese_html


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
    """Gather every household's statement in a few queries, render them as one PDF; safe to run twice."""
    job = db.session.get(StatementJob, job_id)
    if job is None or job.status == "done":
        return
    job.status = "running"
    db.session.commit()
    statements = village_statements(job.village_id, job.period_start, job.period_end)
    # Rendered before the commit below: the gathered rows expire with the transaction.
    html = render_chinese_html("documents/household_statement.html", statements=statements,
                               village=db.session.get(Village, job.village_id))
    job.done_count = job.total_count = len(statements)
    db.session.commit()  # hold no transaction while WeasyPrint works (SQLite: no write lock either)
    job.pdf = html_to_pdf(html)
    job.status = "done"
    job.finished_at = utcnow()
    db.session.commit()
