"""Celery bound to a Flask app: every task runs inside the app context (Flask's own pattern)."""
from celery import Celery, Task
from celery.schedules import crontab

BEAT_SCHEDULE = {
    "outbox-resend": {"task": "outbox.resend_unprocessed", "schedule": 30.0},
    "ledger-attribute-pending-payments": {"task": "ledger.attribute_pending_payments", "schedule": 1.0},
    "orders-release-expired": {"task": "orders.release_expired_reservations", "schedule": 60.0},
    # Settlement: hourly sweeps; each moves only what is due, in chunks, and is safe to run twice.
    "orders-auto-confirm-deliveries": {"task": "orders.auto_confirm_deliveries", "schedule": crontab(minute=5)},
    "orders-settle-shipments": {"task": "orders.settle_shipments", "schedule": crontab(minute=10)},
    "orders-escalate-overdue-claims": {"task": "orders.escalate_overdue_claims", "schedule": crontab(minute="*/15")},
    # Pre-sales: balance reminders and deadlines, every quarter of an hour.
    "presales-expire-unpaid-balances": {"task": "presales.expire_unpaid_balances", "schedule": crontab(minute="*/15")},
    # Subscription boxes: due deliveries become orders, declined cards are retried (hourly, at :25).
    "subscriptions-run-due-renewals": {"task": "subscriptions.run_due_renewals", "schedule": crontab(minute=25)},
    "ledger-seal-entries": {"task": "ledger.seal_entries", "schedule": 5.0},
    "ledger-checkpoint": {"task": "ledger.write_checkpoint", "schedule": crontab(hour=0, minute=5)},
    "ledger-fixed-returns": {"task": "ledger.run_fixed_returns", "schedule": crontab(hour=3, minute=15)},
    # Downlink: consolidate runs twice a day (before the morning and afternoon loads), flag unpicked goods daily.
    "downlink-consolidate-runs": {"task": "downlink.consolidate_runs", "schedule": crontab(hour="7,14", minute=0)},
    "downlink-flag-unpicked": {"task": "downlink.flag_unpicked", "schedule": crontab(hour=8, minute=30)},
    # Company-transfer orders: a reminder before the deadline, a notice when one lapsed (hourly, at :20).
    "organisations-payment-reminders": {"task": "organisations.send_payment_reminders",
                                        "schedule": crontab(minute=20)},
    "stripe-reconciliation": {"task": "reconciliation.sync_stripe", "schedule": 900.0},
    "api-purge-idempotency-keys": {"task": "api.purge_idempotency_keys", "schedule": 3600.0},
}


def celery_init_app(app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask, include=["worker.tasks"])
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.conf.beat_schedule = {**BEAT_SCHEDULE, **app.config["CELERY"].get("beat_schedule", {})}
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
