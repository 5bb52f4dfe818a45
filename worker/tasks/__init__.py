"""Every task module, imported so a worker registers them all."""
from worker.tasks import ledger, outbox  # noqa: F401
