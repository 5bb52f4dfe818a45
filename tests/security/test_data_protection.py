"""Household registry and bank numbers: encrypted at rest, and never in clear in a page, an
export, an e-mail or a log; no card data or secret in the logs either."""
import logging

from sqlalchemy import select, text

from marketplace.extensions import db
from marketplace.people.models import Household
from tests.security.conftest import OUTSIDERS
from tests.security.test_authorization_matrix import cells, client_as

EVERYONE = [email for email in OUTSIDERS.values() if email] + ["agent@demo.cn", "supplier@demo.cn", "coop@demo.cn",
                                                               "town@demo.cn", "admin@demo.cn"]
CARD = "4242424242424242"


class Collected(logging.Handler):
    """Every log record of a run, formatted with its arguments and any traceback."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def _secrets_of(app):
    with app.app_context():
        households = db.session.scalars(select(Household)).all()
        registry = [h.registry_no for h in households]
        banks = [h.bank_account for h in households if h.bank_account]
        stored = db.session.execute(text("SELECT registry_no, bank_account FROM households")).all()
        db.session.remove()
    return registry, banks, stored


def test_registry_and_bank_numbers_are_encrypted_at_rest(app, world):
    registry, banks, stored = _secrets_of(app)
    assert registry and banks
    raw = " ".join(str(value) for row in stored for value in row)
    assert not any(number in raw for number in registry + banks)


def test_no_page_export_mail_or_log_shows_a_full_registry_or_bank_number_or_a_secret(app, world):
    registry, banks, _stored = _secrets_of(app)
    handler = Collected()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    bodies = []
    try:
        for email in EVERYONE:
            client = client_as(app, email)
            for endpoint, method, url, _data, _parametrised in cells(app, world):
                if method == "GET" and endpoint != "static":
                    bodies.append((email, url, client.get(url).get_data()))
            client.post("/login", data={"email": email, "password": "wrong password"})
        app.test_client().post("/password/forgot", data={"email": "buyer@demo.cn"})
        app.test_client().post("/stripe/webhook", data=f'{{"card": "{CARD}"}}', content_type="application/json",
                               headers={"Stripe-Signature": "t=1,v1=forged"})
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    with open(app.config["MAIL_LOG_PATH"], encoding="utf-8") as mail:
        bodies.append(("mail", "mail log", mail.read().encode()))
    logs = "\n".join(handler.lines)
    secrets = [app.config[name] for name in ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
                                             "FIELD_ENCRYPTION_KEYS")]
    for who, url, body in bodies:
        text_of_body = body.decode("utf-8", "replace")
        for number in registry + banks:
            assert number not in text_of_body, f"{who} sees a full number on {url}"
        for secret in secrets:
            assert secret not in text_of_body, f"{who} sees a secret on {url}"
    for number in registry + banks + secrets + [CARD, "demo1234", "wrong password"]:
        assert number not in logs, "a full number, a secret, card data or a password was logged"
    assert len(bodies) > 200
