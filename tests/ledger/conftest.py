import pytest
import redis

from tests.conftest import WorkerHandle
from tests.ledger.builders import District
from tests.reliability.processes import QUEUE, WorkerProcess


@pytest.fixture
def district(app_ctx):
    """A town with a provincial poor village, committed; build more with its methods."""
    return District()


@pytest.fixture
def waiter(app):
    """`waiter.wait_for(condition)`: poll inside an app context until true (no worker needed)."""
    return WorkerHandle(app, None)


@pytest.fixture
def start_worker(database_url, tmp_path, waiter):
    """`start_worker(broker_url, concurrency=1)`: a real `celery worker` process, ready, stopped after the test."""
    started = []

    def start(broker_url, concurrency=1):
        redis.Redis.from_url(broker_url).delete(QUEUE)  # nothing left over from an earlier run
        worker = WorkerProcess(database_url, broker_url, concurrency, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        waiter.wait_for(lambda: " ready." in worker.output() or worker.process.poll() is not None, timeout=60)
        assert worker.process.poll() is None, worker.output()
        return worker

    yield start
    for worker in started:
        worker.stop()
