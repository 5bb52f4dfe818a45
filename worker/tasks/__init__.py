"""Every task module, imported so a worker registers them all."""
from worker.tasks import downlink, ledger, orders, outbox  # noqa: F401
