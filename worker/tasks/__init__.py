"""Every task module, imported so a worker registers them all."""
from worker.tasks import ledger, orders, outbox  # noqa: F401
