from sqlalchemy import func, select

from marketplace.downlink.models import DeliveryRun
from marketplace.extensions import db


def test_the_beat_task_makes_the_delivery_runs(app, dl, place, celery_worker):
    place({dl.oil: 1}, "cash")
    db.session.remove()  # SQLite: the worker's transaction needs the write lock

    celery_worker.celery.send_task("downlink.consolidate_runs")

    assert celery_worker.wait_for(lambda: db.session.scalar(select(func.count()).select_from(DeliveryRun)) == 1)
