"""Beat's every-second sweep and WeasyPrint's layout steps do not fill the log; warnings still show."""
import logging

from worker.quiet_logs import QuietSweeps


def record(message, level=logging.INFO):
    return logging.LogRecord("celery.beat", level, __file__, 1, message, None, None)


def test_the_sweeps_routine_lines_are_dropped_and_their_warnings_kept():
    quiet = QuietSweeps()
    assert not quiet.filter(record("Scheduler: Sending due task ledger-attribute-pending-payments "
                                   "(ledger.attribute_pending_payments)"))
    assert not quiet.filter(record("Task ledger.seal_entries[1f2e] succeeded in 0.01s: 0"))
    assert quiet.filter(record("Task ledger.attribute_pending_payments[1f2e] raised", logging.ERROR))
    assert quiet.filter(record("Task ledger.attribute_payment[77] succeeded in 0.2s"))


def test_weasyprint_logs_only_warnings():
    import marketplace.documents  # noqa: F401  (sets the levels)

    # The logger's own level (isEnabledFor would also read a logging.disable() left by another test).
    assert logging.getLogger("weasyprint").getEffectiveLevel() == logging.WARNING
