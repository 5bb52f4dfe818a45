from tests.coops.conftest import lili, paid_order  # noqa: F401  (the coop fixtures serve fulfilment too)
from tests.ledger.conftest import district  # noqa: F401  (settlement tests build their own district)
