"""Every task module, imported so a worker registers them all."""
from worker.tasks import ledger, outbox, reconciliation, statements  # noqa: F401
