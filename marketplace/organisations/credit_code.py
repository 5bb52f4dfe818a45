"""The unified social credit code (统一社会信用代码, GB 32100-2015) and its check character.

18 characters from a 31-character alphabet (digits and capitals without I, O, S, V, Z):
registration authority, organisation kind, a 6-digit administrative division, the 9-character
organisation code, and a check character. The check is 31 − (Σ value × 3^i mod 31) mod 31 over
the first 17 characters (3^i taken mod 31), written with the same alphabet (31 becomes 0).
"""
import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def normalised(code):
    """Upper case, spaces and dashes removed: the form the code is stored and compared in."""
    return re.sub(r"[\s-]", "", code or "").upper()


def check_character(first_seventeen):
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first_seventeen, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code):
    """Whether `code` is a well-formed unified social credit code whose check character agrees."""
    code = normalised(code)
    return bool(SHAPE.match(code)) and check_character(code[:17]) == code[17]
