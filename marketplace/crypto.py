"""Field encryption at rest (registry and bank numbers) and blind indexes for lookups.

FIELD_ENCRYPTION_KEYS is a comma-separated list of Fernet keys, newest first: data is
written with the first and read with any, so a key is rotated by putting a new one in front
and running `flask --app wsgi rotate-field-keys`.
"""
import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator


def init_app(app):
    keys = [key.strip() for key in app.config["FIELD_ENCRYPTION_KEYS"].split(",") if key.strip()]
    app.extensions["field_cipher"] = MultiFernet([Fernet(key) for key in keys])


def _cipher():
    return current_app.extensions["field_cipher"]


def blind_index(value):
    """A keyed digest that finds or de-duplicates a secret without storing it in clear."""
    key = current_app.config["SECRET_KEY"].encode() + b":blind-index"
    return hmac.new(key, value.strip().encode(), hashlib.sha256).hexdigest()


def mask(value, keep=4):
    """Show only the last `keep` characters: '3703021234' -> '******1234'."""
    value = value.strip()
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


class EncryptedText(TypeDecorator):
    """A text column stored as Fernet ciphertext."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return _cipher().encrypt(value.encode())

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return _cipher().decrypt(bytes(value)).decode()


def rotate(token):
    """Re-encrypt a stored ciphertext with the newest key."""
    return _cipher().rotate(bytes(token))
