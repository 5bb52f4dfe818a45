"""The Celery application the worker and beat run: `celery -A worker.celery_app worker`."""
import logging

from celery.signals import after_setup_logger, worker_process_init

from marketplace import create_app
from marketplace.extensions import db

flask_app = create_app()
celery_app = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs):
    # A forked child must not share the parent's database connections.
    with flask_app.app_context():
        db.engine.dispose(close=False)


# Sweeps that beat sends every few seconds: their "sending", "received" and "succeeded" lines
# would fill most of the log. They are logged only at WARNING and above (a refusal, an error).
QUIET_SWEEPS = ("ledger.attribute_pending_payments", "ledger-attribute-pending-payments",
                "ledger.seal_entries", "ledger-seal-entries")


class QuietSweeps(logging.Filter):
    def filter(self, record):
        if record.levelno >= logging.WARNING:
            return True
        message = record.getMessage()
        return not any(name in message for name in QUIET_SWEEPS)


@after_setup_logger.connect
def _quiet_the_sweeps(logger, **_kwargs):
    for handler in logger.handlers:
        handler.addFilter(QuietSweeps())
