import pytest

from tests.ledger.builders import District


@pytest.fixture
def district(app_ctx):
    """A town with a provincial poor village, committed; build more with its methods."""
    return District()
