"""The audit log reads as sentences: the action by name, amounts as money, households by name, no ids or codes."""
from types import SimpleNamespace

from flask_babel import force_locale

from marketplace.audit.sentences import ACTIONS, describe


def row(action, **details):
    return SimpleNamespace(action=action, details=details, on_behalf_of_household_id=None)


def test_a_payout_approval_reads_as_a_sentence_without_ids(app):
    approval = row("payout_batch.approve", amount_fen=30_000, batch_id=7, household_id=None, count=2)
    with app.test_request_context():
        with force_locale("zh_CN"):
            assert str(describe(approval)) == "批准了发放批次（金额：¥300.00；数量：2）"
        with force_locale("en"):
            assert str(describe(approval)) == "approved a payout batch (amount ¥300.00; count 2)"


def test_every_recorded_action_has_a_name():
    import pathlib
    import re

    source = "\n".join(path.read_text() for path in pathlib.Path("marketplace").rglob("*.py"))
    recorded = set(re.findall(r"record\(\s*\"([a-z_.]+)\"", source))
    assert recorded and recorded <= set(ACTIONS)
