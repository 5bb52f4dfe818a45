from celery import shared_task

from marketplace.imports import services
from marketplace.outbox.services import mark_processed


@shared_task(name="imports.check")
def check_import(job_id, outbox_id=None):
    """The dry run of an uploaded registry file: read it and report every row; writes no household."""
    services.run_check(job_id)
    mark_processed(outbox_id)


@shared_task(name="imports.apply")
def apply_import(job_id, outbox_id=None):
    """Apply a checked registry import in one transaction; a second run finds it claimed or done."""
    services.run_apply(job_id)
    mark_processed(outbox_id)
