from tests.town.fixtures import lingzi  # noqa: F401
from tests.downlink.conftest import dl, place  # noqa: F401  (suppliers' payouts need the downlink)
