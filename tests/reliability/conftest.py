import pytest

from tests.conftest import free_port
from tests.ledger.conftest import district, start_worker, waiter  # noqa: F401 — shared with the ledger's fault tests
from tests.reliability.processes import PrivateRedis


@pytest.fixture
def private_redis():
    """A broker of this test's own: workers of tests running in parallel never take each other's tasks."""
    server = PrivateRedis(free_port()).start()
    yield server
    server.stop()


