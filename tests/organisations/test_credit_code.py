import pytest

from marketplace.organisations.credit_code import check_character, is_valid, normalised


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "12370302MB2840352P",
                                  "9111 0000-6000 3734 1l"])
def test_real_codes_pass_their_check(code):
    assert is_valid(code)


@pytest.mark.parametrize("code", [
    "91350100M000100Y44",   # wrong check character
    "91350100M000100Y4",    # 17 characters
    "91350100M000100Y433",  # 19 characters
    "9135010OM000100Y43",   # the letter O is not in the alphabet
    "913501A0M000100Y43",   # the division code must be digits
    "", None,
])
def test_codes_that_fail_are_refused(code):
    assert not is_valid(code)


def test_one_changed_character_is_always_caught():
    good = "91350100M000100Y43"
    for position in range(17):
        for replacement in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if replacement != good[position]:
                changed = good[:position] + replacement + good[position + 1:]
                assert check_character(changed[:17]) != good[17]


def test_normalised_drops_spaces_and_dashes_and_upper_cases():
    assert normalised(" 9111-0000 600037341l ") == "91110000600037341L"
