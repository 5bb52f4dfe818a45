from tests.coops.conftest import lili, paid_order  # noqa: F401  (the coop fixtures serve fulfilment too)
