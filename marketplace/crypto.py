"""Field encryption at rest (registry and bank numbers) and blind indexes for lookups.

FIELD_ENCRYPTION_KEYS is a comma-separated list of Fernet keys, newest first: data is
written with the first and read with any, so a key is rotated by putting a new one in front
and running `flask --app wsgi rotate-field-keys`.
"""
import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app
from sqlalchemy import LargeBinary, bindparam, select, type_coerce, update
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


class EncryptedBytes(TypeDecorator):
    """A binary column (an uploaded file) stored as Fernet ciphertext."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return _cipher().encrypt(bytes(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return _cipher().decrypt(bytes(value))


ENCRYPTED_TYPES = (EncryptedText, EncryptedBytes)


def rotate(token):
    """Re-encrypt a stored ciphertext with the newest key."""
    return _cipher().rotate(bytes(token))


def rotate_stored_values():
    """Re-encrypt every encrypted value of every table with the newest key, in one transaction.

    Run after putting a new key first in FIELD_ENCRYPTION_KEYS; once it has run, the old keys
    can be dropped. Returns how many values were re-encrypted per `table.column`.
    """
    from marketplace.extensions import db

    counts = {}
    for table in db.metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, ENCRYPTED_TYPES)]
        if not columns:
            continue
        key = table.primary_key.columns.values()[0]
        # Read and write the raw ciphertext: LargeBinary bypasses the decrypting type.
        raw = [type_coerce(column, LargeBinary).label(column.name) for column in columns]
        statement = (
            update(table).where(key == bindparam("row_key"))
            .values({column.name: bindparam(f"new_{column.name}", type_=LargeBinary) for column in columns})
        )
        rows = db.session.execute(select(key.label("row_key"), *raw)).mappings().all()
        params = [
            {"row_key": row["row_key"],
             **{f"new_{column.name}": rotate(row[column.name]) if row[column.name] is not None else None
                for column in columns}}
            for row in rows
        ]
        if params:
            db.session.execute(statement, params)
        for column in columns:
            counts[f"{table.name}.{column.name}"] = sum(1 for row in rows if row[column.name] is not None)
    db.session.commit()
    return counts
