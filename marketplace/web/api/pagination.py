"""Opaque cursors: a page's last position, base64-encoded JSON, handed back as `next_cursor`.

Clients pass the cursor back untouched; a cursor that does not decode is a 400 on `cursor`.
"""
import base64
import binascii
import json

from flask_babel import lazy_gettext as _

from marketplace.errors import DomainError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class BadCursor(DomainError):
    status = 400
    code = "bad_cursor"


def encode_cursor(position):
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor, shape):
    """The position a cursor carries, checked against `shape` (a tuple of types); None for no cursor."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        position = None
    if (not isinstance(position, list) or len(position) != len(shape)
            or not all(isinstance(value, kind) and not isinstance(value, bool) for value, kind in zip(position, shape))):
        raise BadCursor(_("This cursor is not one this API gave out."), field="cursor")
    return tuple(position)


def page_of(items, limit, position_of):
    """(the first `limit` of `items`, the cursor after them or None). Fetch `limit + 1` items to know."""
    shown = items[:limit]
    more = len(items) > limit
    return shown, encode_cursor(position_of(shown[-1])) if more and shown else None


def decode_keyset(cursor, parsers):
    """A keyset cursor's position, each value run through its parser (e.g. `datetime.fromisoformat`)."""
    position = decode_cursor(cursor, tuple(str if parser is not int else int for parser in parsers))
    if position is None:
        return None
    try:
        return tuple(parser(value) for parser, value in zip(parsers, position))
    except ValueError as error:
        raise BadCursor(_("This cursor is not one this API gave out."), field="cursor") from error
