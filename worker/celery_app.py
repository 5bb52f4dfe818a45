"""The Celery application the worker and beat run: `celery -A worker.celery_app worker`."""
from celery.signals import worker_process_init

from marketplace import create_app
from marketplace.extensions import db

flask_app = create_app()
celery_app = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs):
    # A forked child must not share the parent's database connections.
    with flask_app.app_context():
        db.engine.dispose(close=False)
