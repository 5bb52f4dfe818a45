"""The one input layer for whole numbers and money, used by every form and API schema.

A number a person or a client sends is refused unless it is written in ASCII digits (not `²`,
`①` or `٣`, which Python's `int()` and `str.isdigit()` treat differently), and unless it fits
the database column it is stored in: the bounds come from the column's type (SMALLINT, INTEGER,
BIGINT), so a value the database would reject with an error (a 500) is a plain message instead.
A field's business range (a stock of at most 1,000,000) is checked as well, by its validators.

- forms: `WholeNumberField`, `MoneyField` and `whole_number` (the `coerce` of a SelectField of ids);
- values read straight from `request.form` (`qty-<variant id>`): `whole_number_or_none`;
- API schemas (pydantic): `api_whole_number`;
- ids in URLs (`<int:order_id>`): `WholeNumberConverter`, the app's `int` converter, so an id no
  INTEGER column holds is a 404 like any unknown id.
`tests/security/test_input_layer.py` fails when a form or schema takes a number any other way.
"""
import re
from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import Field
from sqlalchemy import BigInteger, Integer, SmallInteger
from werkzeug.routing import IntegerConverter
from wtforms import IntegerField, StringField
from wtforms.validators import ValidationError

from marketplace.money import MoneyError, yuan_to_fen

# The largest value an INTEGER column holds (PostgreSQL int4): the bound of a field without a column.
LARGEST_WHOLE_NUMBER = 2_147_483_647
_LARGEST_OF_TYPE = ((BigInteger, 2**63 - 1), (SmallInteger, 2**15 - 1), (Integer, LARGEST_WHOLE_NUMBER))
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,19}")

NUMBER_MESSAGE = _l("Enter a whole number.")
SMALLER_MESSAGE = _l("Enter a smaller number.")
MONEY_MESSAGE = _l("Enter an amount in yuan, like 12.50.")


def column_bounds(column=None):
    """(lowest, highest) a column (or column type) of this integer type can store; INTEGER's without one."""
    column_type = getattr(column, "type", column)
    for kind, largest in _LARGEST_OF_TYPE:
        if isinstance(column_type, kind):
            return -largest - 1, largest
    return -LARGEST_WHOLE_NUMBER - 1, LARGEST_WHOLE_NUMBER


def parse_whole_number(text, column=None):
    """The int written in `text` (ASCII digits, an optional sign), within the column's bounds.

    ValueError with a message a person can read otherwise."""
    text = str(text).strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ValueError(NUMBER_MESSAGE)
    number = int(text)
    lowest, highest = column_bounds(column)
    if not lowest <= number <= highest:
        raise ValueError(SMALLER_MESSAGE)
    return number


def whole_number(value):
    """A SelectField's `coerce` for ids: ids within INTEGER, refused (invalid choice) otherwise."""
    if isinstance(value, int):
        return value
    return parse_whole_number(value)


def whole_number_or_none(text, column=None):
    """A whole number read straight from the request, or None when it is not one (blank included)."""
    try:
        return parse_whole_number(text, column)
    except ValueError:
        return None


class WholeNumberField(IntegerField):
    """An integer form field: ASCII digits only, within the bounds of `column`'s type."""

    def __init__(self, label=None, validators=None, column=None, message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.column = column
        self.message = message

    def process_formdata(self, valuelist):
        if not valuelist or valuelist[0] in ("", None):
            return
        try:
            self.data = parse_whole_number(valuelist[0], self.column)
        except ValueError as error:
            self.data = None
            raise ValueError(self.message or error.args[0]) from error


class MoneyField(StringField):
    """An amount typed in yuan ("12.5", "¥38", "1,234.50"); `fen` holds it as an int of fen.

    Refused unless it is at most two decimals, written in ASCII digits, and from `minimum_fen` to
    `maximum_fen` (never beyond what `column` stores)."""

    fen = None

    def __init__(self, label=None, validators=None, column=None, minimum_fen=0, maximum_fen=None, message=None,
                 range_message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        lowest, highest = column_bounds(column)
        self.minimum_fen = max(lowest, minimum_fen)
        self.maximum_fen = highest if maximum_fen is None else min(highest, maximum_fen)
        self.message = message or MONEY_MESSAGE
        self.range_message = range_message or self.message

    def pre_validate(self, form):
        self.fen = None
        if (self.data or "").strip():
            self.fen = parse_yuan(self.data, self.minimum_fen, self.maximum_fen, self.message, self.range_message)


def parse_yuan(text, minimum_fen=0, maximum_fen=LARGEST_WHOLE_NUMBER, message=MONEY_MESSAGE, range_message=None):
    """The fen of an amount typed in yuan, from `minimum_fen` to `maximum_fen`; ValidationError otherwise."""
    text = str(text).strip()
    try:
        fen = yuan_to_fen(text)
    except MoneyError as error:
        raise ValidationError(message) from error
    if not text.isascii():
        raise ValidationError(message)
    if not minimum_fen <= fen <= maximum_fen:
        raise ValidationError(range_message or message)
    return fen


def api_whole_number(column=None, ge=None, le=None, **field_options):
    """An int of an API schema, bounded by `column`'s type and by `ge`/`le` within it."""
    lowest, highest = column_bounds(column)
    return Annotated[int, Field(ge=lowest if ge is None else max(ge, lowest),
                                le=highest if le is None else min(le, highest), **field_options)]


class WholeNumberConverter(IntegerConverter):
    """`<int:…>` in every route: at most INTEGER's largest value unless the rule says otherwise."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=LARGEST_WHOLE_NUMBER, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
