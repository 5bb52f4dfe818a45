"""Every task module, imported so a worker registers them all."""
from worker.tasks import (  # noqa: F401
    api, downlink, imports, ledger, orders, organisations, outbox, payments, presales, reconciliation, statements,
    subscriptions,
)
