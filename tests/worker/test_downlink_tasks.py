from sqlalchemy import func, select

from marketplace.downlink.models import DeliveryRun
from marketplace.extensions import db


def test_the_beat_task_consolidates_runs_and_running_it_twice_changes_nothing(app, dl, place, celery_worker):
    place({dl.oil: 1}, "cash")
    db.session.remove()  # SQLite: the worker's transaction needs the write lock

    for _ in range(2):
        celery_worker.celery.send_task("downlink.consolidate_runs")
    celery_worker.celery.send_task("downlink.flag_unpicked")

    assert celery_worker.wait_for(lambda: db.session.scalar(select(func.count()).select_from(DeliveryRun)) == 1)
