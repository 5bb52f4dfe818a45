"""Every task module, imported so a worker registers them all."""
from worker.tasks import api, ledger, orders, outbox, reconciliation, statements  # noqa: F401
