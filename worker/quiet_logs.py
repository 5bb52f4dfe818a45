"""Log filters for the worker and beat processes (installed by worker/celery_app.py)."""
import logging

# Sweeps that beat sends every few seconds: their "sending", "received" and "succeeded" lines
# would fill most of the log. They are logged only at WARNING and above (a refusal, an error).
QUIET_SWEEPS = ("ledger.attribute_pending_payments", "ledger-attribute-pending-payments",
                "ledger.seal_entries", "ledger-seal-entries")


class QuietSweeps(logging.Filter):
    def filter(self, record):
        if record.levelno >= logging.WARNING:
            return True
        message = record.getMessage()
        return not any(name in message for name in QUIET_SWEEPS)
