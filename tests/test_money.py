from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import MoneyError, apply_rate, format_fen, split_largest_remainder, yuan_to_fen


@given(
    total=st.integers(min_value=-10**12, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
)
def test_parts_always_sum_to_the_whole_and_stay_within_one_fen_of_exact(total, weights):
    parts = split_largest_remainder(total, list(enumerate(weights)))
    assert sum(parts.values()) == total
    weight_sum = sum(weights)
    for key, weight in enumerate(weights):
        exact = Decimal(total) * weight / weight_sum
        assert abs(parts[key] - exact) < 1


def test_ties_break_by_the_order_given():
    assert split_largest_remainder(1, [("a", 1), ("b", 1), ("c", 1)]) == {"a": 1, "b": 0, "c": 0}
    assert split_largest_remainder(2, [("b", 1), ("a", 1), ("c", 1)]) == {"b": 1, "a": 1, "c": 0}


def test_zero_weight_cannot_take_money():
    with pytest.raises(MoneyError):
        split_largest_remainder(100, [("a", 0)])
    assert split_largest_remainder(0, [("a", 0)]) == {"a": 0}


def test_rates_round_half_up_to_whole_fen():
    assert apply_rate(9000, Decimal("0.30")) == 2700
    assert apply_rate(5, Decimal("0.5")) == 3


@pytest.mark.parametrize("typed, fen", [("12.5", 1250), ("¥1,234.50", 123450), ("8元", 800), ("0.01", 1)])
def test_typed_yuan_become_fen(typed, fen):
    assert yuan_to_fen(typed) == fen


@pytest.mark.parametrize("typed", ["1.234", "abc", "", "NaN", "1e400"])
def test_bad_amounts_are_refused(typed):
    with pytest.raises(MoneyError):
        yuan_to_fen(typed)


def test_formatting_is_for_people():
    assert format_fen(123450) == "¥1,234.50"
    assert format_fen(3990, "en") == "¥39.90"
