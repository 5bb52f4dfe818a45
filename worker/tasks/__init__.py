"""Every task module, imported so a worker registers them all."""
from worker.tasks import api, downlink, imports, ledger, orders, outbox, reconciliation, statements  # noqa: F401
