"""Reading Stripe balance transactions and payouts, from the API or an export file, as staging rows.

An export is either JSON lines (one BalanceTransaction or Payout object a line) or Stripe's list
shape (`{"object": "list", "data": [...]}`, or a bare JSON array). Both are read incrementally:
a million transactions never sit in memory at once.
"""
import json
from datetime import datetime, timedelta

from marketplace.errors import Conflict

CHUNK_CHARS = 1 << 20
FIRST_LINE_CHARS = 1 << 16


EPOCH = datetime(1970, 1, 1)


def staging_row(obj):
    """(id, object_type, reporting_category, source_id, amount, fee, currency, created_at) of one
    Stripe object as a dict (the library's objects: `.to_dict()`). A payout is an outflow, so its
    amount is negative, as on its balance transaction; its source is itself."""
    created_at = EPOCH + timedelta(seconds=obj["created"])  # naive UTC, as stored
    if obj.get("object") == "payout":
        return obj["id"], "payout", "payout", obj["id"], -int(obj["amount"]), 0, obj["currency"], created_at
    return (obj["id"], "balance_transaction", obj.get("reporting_category") or obj["type"], obj.get("source") or "",
            int(obj["amount"]), int(obj.get("fee") or 0), obj["currency"], created_at)


def read_export(stream):
    """Yield the staging row of each object in a text `stream` (JSON lines or a JSON list)."""
    first = stream.readline(FIRST_LINE_CHARS)
    while first and not first.strip():
        first = stream.readline(FIRST_LINE_CHARS)
    if not first:
        return
    try:
        obj = json.loads(first) if first.endswith("\n") or len(first) < FIRST_LINE_CHARS else None
    except json.JSONDecodeError:
        obj = None
    if isinstance(obj, dict) and obj.get("object") != "list":
        yield from _lines(first, stream)
    else:
        yield from _list_items(first, stream)


def _not_stripe(where, number):
    if where == "line":
        return Conflict("Line %(number)s is not a Stripe balance transaction or payout.", number=number)
    return Conflict("Item %(number)s is not a Stripe balance transaction or payout.", number=number)


def _checked(obj, where, number):
    """`obj` as a staging row; refused, naming the file's line or the list's item, if it is not Stripe's."""
    try:
        row = staging_row(obj)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise _not_stripe(where, number) from error
    if not (isinstance(row[0], str) and isinstance(row[6], str)):
        raise _not_stripe(where, number)
    return row


def _lines(first, stream):
    number = 1
    for line in _chain(first, stream):
        if line.strip():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise Conflict("Line %(number)s is not JSON.", number=number) from error
            yield _checked(obj, "line", number)
        number += 1


def _chain(first, stream):
    yield first
    yield from stream


def _list_items(head, stream):
    """The objects of the first JSON array in the stream, decoded one at a time from a rolling buffer."""
    decoder = json.JSONDecoder()
    buffer = head
    while "[" not in buffer:
        more = stream.read(CHUNK_CHARS)
        if not more:
            raise Conflict("The file is neither JSON lines nor a Stripe list.")
        buffer += more
    position, number = buffer.index("[") + 1, 0
    while True:
        while position < len(buffer) and buffer[position] in " \t\r\n,":
            position += 1
        if position < len(buffer) and buffer[position] == "]":
            return
        try:
            obj, end = decoder.raw_decode(buffer, position) if position < len(buffer) else (None, None)
        except json.JSONDecodeError:
            end = None
        if end is None:  # the object runs past the buffer: read on
            more = stream.read(CHUNK_CHARS)
            if not more:
                raise Conflict("The list ends inside item %(number)s.", number=number + 1)
            buffer, position = buffer[position:] + more, 0
            continue
        number += 1
        yield _checked(obj, "item", number)
        position = end
