"""Every task module, imported so a worker registers them all."""
from worker.tasks import orders, outbox  # noqa: F401
