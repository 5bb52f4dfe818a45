"""One input layer for whole numbers and money (marketplace/web/security/fields.py): every form
and API schema takes its numbers through it, so a new field cannot forget the bounds."""
import re
from pathlib import Path

import pytest
from wtforms import DecimalField, FloatField, IntegerField, SelectField, SelectMultipleField

from marketplace.web.forms import Form
from marketplace.web.security.fields import (LARGEST_WHOLE_NUMBER, MoneyField, WholeNumberField, column_bounds,
                                             parse_whole_number)

WEB = Path(__file__).resolve().parents[2] / "marketplace" / "web"


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def unbound_fields(app):
    with app.test_request_context():
        for form_class in all_subclasses(Form):
            for name in dir(form_class):
                field = getattr(form_class, name, None)
                if getattr(field, "field_class", None) is not None:
                    yield form_class, name, field


@pytest.mark.parametrize("text", ["²", "①", "٣", "１２", "1e3", "0x10", "1.5", "", " ", "2147483648", "-2147483649",
                                  "9" * 400, "12\x00", "1_000"])
def test_what_is_not_a_whole_number_for_an_integer_column_is_refused(text):
    with pytest.raises(ValueError):
        parse_whole_number(text)


def test_whole_numbers_in_ascii_digits_within_the_column_are_read():
    from sqlalchemy import BigInteger, SmallInteger

    assert [parse_whole_number(text) for text in ("0", " 12 ", "-5", "+7", str(LARGEST_WHOLE_NUMBER))] == \
        [0, 12, -5, 7, LARGEST_WHOLE_NUMBER]
    assert parse_whole_number("2147483648", BigInteger()) == 2147483648
    assert column_bounds(SmallInteger()) == (-32768, 32767)


def test_every_number_field_of_every_form_is_the_shared_one(app):
    offenders = []
    for form_class, name, field in unbound_fields(app):
        kind = field.field_class
        if issubclass(kind, (IntegerField, DecimalField, FloatField)) and not issubclass(kind, WholeNumberField):
            offenders.append(f"{form_class.__name__}.{name}: {kind.__name__}")
        if issubclass(kind, (SelectField, SelectMultipleField)) and field.kwargs.get("coerce") in (int, float):
            offenders.append(f"{form_class.__name__}.{name}: coerce={field.kwargs['coerce'].__name__}")
    assert offenders == [], "use WholeNumberField / MoneyField / coerce=whole_number"
    kinds = {field.field_class for _form, _name, field in unbound_fields(app)}
    assert WholeNumberField in kinds and MoneyField in kinds


def test_no_view_reads_a_number_or_an_amount_around_the_layer():
    """`int(...)` of request text, `.isdigit()`, `type=int` and `yuan_to_fen` in a view would each
    bypass the layer (`"²".isdigit()` is true; `int("²")` raises)."""
    bypass = re.compile(r"\.isdigit\(\)|type=int\b|coerce=int\b|yuan_to_fen\(|int\(request\.|int\(form\.")
    offenders = [f"{path.relative_to(WEB)}:{number}" for path in WEB.rglob("*.py") if path.name != "fields.py"
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if bypass.search(line)]
    assert offenders == []


def test_every_number_an_api_schema_takes_is_bounded_by_its_column(app):
    import typing

    from marketplace.web.api import schemas
    from marketplace.web.api.schemas import catalog, coop, shop, town  # noqa: F401 — every schema module

    checked, offenders = 0, []
    for base in (schemas.Input, schemas.QueryInput):
        for model in all_subclasses(base):
            for name, info in model.model_fields.items():
                annotation = info.annotation
                inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
                metadata = list(info.metadata)
                if inner and typing.get_origin(inner[0]) is typing.Annotated:
                    metadata += list(typing.get_args(inner[0])[1].metadata)
                    annotation = typing.get_args(inner[0])[0]
                if annotation is not int:
                    continue
                checked += 1
                lowest = next((m.ge for m in metadata if hasattr(m, "ge")), None)
                highest = next((m.le for m in metadata if hasattr(m, "le")), None)
                if lowest is None or highest is None or lowest < -LARGEST_WHOLE_NUMBER - 1 or highest > LARGEST_WHOLE_NUMBER:
                    offenders.append(f"{model.__name__}.{name}")
    assert offenders == [] and checked >= 20
