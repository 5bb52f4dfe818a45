from cryptography.fernet import Fernet
from sqlalchemy import LargeBinary, select, type_coerce

from marketplace.audit.models import AuditLog
from marketplace.crypto import init_app
from marketplace.extensions import db
from marketplace.people.models import Household


def test_rotating_keys_reencrypts_every_number_with_the_newest_key(app, demo, runner):
    old_keys = app.config["FIELD_ENCRYPTION_KEYS"]
    new_key = Fernet.generate_key().decode()
    household = db.session.scalar(select(Household).where(Household.bank_account.is_not(None)))
    number, account = household.registry_no, household.bank_account
    db.session.remove()
    try:
        app.config["FIELD_ENCRYPTION_KEYS"] = f"{new_key},{old_keys}"
        init_app(app)
        result = runner.invoke(args=["rotate-field-keys"])
        assert result.exit_code == 0, result.output
        assert "households.registry_no: 68 re-encrypted" in result.output
        # Only the new key is needed now.
        app.config["FIELD_ENCRYPTION_KEYS"] = new_key
        init_app(app)
        db.session.remove()
        household = db.session.get(Household, household.id)
        assert (household.registry_no, household.bank_account) == (number, account)
        raw = db.session.scalar(select(type_coerce(Household.registry_no, LargeBinary)).where(Household.id == household.id))
        assert Fernet(new_key.encode()).decrypt(bytes(raw)).decode() == number
        assert db.session.scalar(select(AuditLog).filter_by(action="crypto.keys_rotated")) is not None
    finally:
        app.config["FIELD_ENCRYPTION_KEYS"] = old_keys
        init_app(app)
