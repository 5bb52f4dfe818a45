"""Money is an int of fen (分). Rates are Decimal. This module is the only place that splits."""
import functools
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale
from babel.numbers import parse_pattern


class MoneyError(ValueError):
    pass


def split_largest_remainder(total_fen, weights):
    """Split `total_fen` into parts proportional to `weights` that sum exactly to the total.

    `weights` is a list of (key, weight) with non-negative int or Decimal weights. Each part
    gets the floor of its exact share; the fen left over go one each to the largest
    remainders, ties broken by the order of `weights` (callers pass them sorted by id).
    Returns a dict key -> fen. A zero total weight puts nothing anywhere and is an error
    unless the total is zero too.
    """
    if not isinstance(total_fen, int):
        raise MoneyError("total must be an int of fen")
    weights = [(key, Decimal(w)) for key, w in weights]
    if any(w < 0 for _, w in weights):
        raise MoneyError("weights must not be negative")
    weight_sum = sum((w for _, w in weights), Decimal(0))
    if weight_sum == 0:
        if total_fen == 0:
            return {key: 0 for key, _ in weights}
        raise MoneyError("cannot split a non-zero amount over zero weight")
    sign = -1 if total_fen < 0 else 1
    magnitude = abs(total_fen)
    parts, remainders = {}, []
    for index, (key, weight) in enumerate(weights):
        exact = Decimal(magnitude) * weight / weight_sum
        floor = int(exact)
        parts[key] = floor
        remainders.append((exact - floor, -index, key))
    left_over = magnitude - sum(parts.values())
    for _, _, key in sorted(remainders, reverse=True)[:left_over]:
        parts[key] += 1
    return {key: sign * fen for key, fen in parts.items()}


def apply_rate(amount_fen, rate):
    """`amount_fen` × `rate`, rounded half up to a whole fen."""
    return int((Decimal(amount_fen) * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


THOUSANDS = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


def yuan_to_fen(text):
    """Parse what a person typed in yuan ("12.5", "¥1,234.50") into fen; at most two decimals."""
    cleaned = str(text).strip().replace("¥", "").replace("￥", "").replace("元", "")
    if "," in cleaned and not THOUSANDS.fullmatch(cleaned):
        raise MoneyError("a comma only between thousands")  # "5,00" is not 500 yuan
    cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
        if not value.is_finite() or value != value.quantize(Decimal("0.01")):
            raise MoneyError("at most two decimal places")
    except InvalidOperation as error:
        raise MoneyError("not an amount of money") from error
    return int(value * 100)


@functools.lru_cache(maxsize=16)
def _yuan_pattern(locale):
    # Parsing the locale and the pattern costs more than formatting: a page of prices did it per price.
    return parse_pattern("#,##0.00"), Locale.parse(locale)


def format_percent(rate):
    """`Decimal("0.0350")` -> `3.5%`: a rate as people read it, for templates and exports only."""
    percent = f"{Decimal(rate) * 100:f}"
    return (percent.rstrip("0").rstrip(".") if "." in percent else percent) + "%"


def format_fen(amount_fen, locale="zh_CN"):
    """`123450` -> `¥1,234.50`: for templates and exports only."""
    return _formatted(amount_fen, str(locale))


@functools.lru_cache(maxsize=8192)
def _formatted(amount_fen, locale):
    # Babel takes ≈40 µs a price and a catalogue page shows a dozen; the same prices come back all day.
    sign = "-" if amount_fen < 0 else ""
    pattern, parsed_locale = _yuan_pattern(locale)
    return f"{sign}¥{pattern.apply(Decimal(abs(amount_fen)) / 100, parsed_locale)}"
