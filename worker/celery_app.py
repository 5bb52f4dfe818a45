"""The Celery application the worker and beat run: `celery -A worker.celery_app worker`."""
from celery.signals import after_setup_logger, worker_process_init

from marketplace import create_app
from marketplace.extensions import db
from worker.quiet_logs import QuietSweeps

flask_app = create_app()
celery_app = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs):
    # A forked child must not share the parent's database connections.
    with flask_app.app_context():
        db.engine.dispose(close=False)


@after_setup_logger.connect
def _quiet_the_sweeps(logger, **_kwargs):
    for handler in logger.handlers:
        handler.addFilter(QuietSweeps())
