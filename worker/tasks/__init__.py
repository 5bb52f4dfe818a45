"""Every task module, imported so a worker registers them all."""
from worker.tasks import downlink, imports, ledger, orders, outbox, reconciliation, statements  # noqa: F401
from worker.tasks import api, ledger, orders, outbox, reconciliation, statements  # noqa: F401
