from tests.town.fixtures import lingzi  # noqa: F401
