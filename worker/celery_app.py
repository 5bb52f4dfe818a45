"""The Celery application the worker and beat run: `celery -A worker.celery_app worker`."""
import logging

from celery.signals import worker_process_init

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


# On the loggers that announce tasks only, set once at import: hooking Celery's logging setup
# (after_setup_logger) cost the consumer its reconnection lines after a broker outage.
for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(QuietSweeps())
