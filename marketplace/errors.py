"""Domain errors: a code for programs, and a message id with named figures for people.

A service raises `Conflict("Only %(amount)s of this lot is awaiting funding.", amount=Yuan(fen))`:
the message id is English and extracted into the catalogs like any `gettext` call, and the
figures stay values until the error is read. `error.message` renders it in the reader's
language at the edge — a page, a flash, an API problem (the request's locale; Chinese outside
a request) — so no refusal is ever a sentence already formatted in English.
"""
from flask_babel import get_locale, gettext

from marketplace.money import format_fen


class Yuan(int):
    """An amount of fen named in a message: shown as money in the reader's locale (¥1,234.50)."""

    def __str__(self):
        try:
            locale = str(get_locale() or "zh_CN")
        except RuntimeError:
            locale = "zh_CN"
        return format_fen(int(self), "en" if locale.startswith("en") else "zh_CN")


class DomainError(Exception):
    """Base of every rule a service refuses. Views map subclasses to a message or a status."""

    status = 422
    code = "invalid"

    def __init__(self, message, code=None, field=None, **params):
        super().__init__(message)
        self.message_id = message
        self.params = params
        if code:
            self.code = code
        self.field = field

    @property
    def message(self):
        """The refusal in the reader's language, its figures formatted for them."""
        params = {key: str(value) for key, value in self.params.items()}
        if not isinstance(self.message_id, str):  # a lazy string: translated when it is read
            return str(self.message_id) % params if params else str(self.message_id)
        return gettext(self.message_id, **params)

    def __str__(self):
        """The English message id with its figures: for logs and tracebacks, not for people."""
        if not isinstance(self.message_id, str):
            return self.message
        params = {key: str(value) for key, value in self.params.items()}
        return self.message_id % params if params else self.message_id


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


def domain_error_names():
    """The names of every DomainError class: their first argument is a message id to extract."""
    found, waiting = set(), [DomainError]
    while waiting:
        cls = waiting.pop()
        found.add(cls.__name__)
        waiting.extend(cls.__subclasses__())
    return found
