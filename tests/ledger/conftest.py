import pytest

from tests.conftest import WorkerHandle
from tests.ledger.builders import District


@pytest.fixture
def district(app_ctx):
    """A town with a provincial poor village, committed; build more with its methods."""
    return District()


@pytest.fixture
def waiter(app):
    """`waiter.wait_for(condition)`: poll inside an app context until true (no worker needed)."""
    return WorkerHandle(app, None)
