from celery import shared_task

from marketplace.outbox.services import mark_processed
from marketplace.statements.village import render_village_statements


@shared_task(name="statements.render_village", autoretry_for=(ConnectionError,), retry_backoff=True,
             retry_jitter=True, max_retries=5)
def render_village(job_id, outbox_id=None):
    """Render a village's statements into one PDF (progress is committed as it goes)."""
    render_village_statements(job_id)
    mark_processed(outbox_id)
