"""Small pure helpers shared by the catalogue models: JP units, search text, Roman numerals."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

JPNumber = int | float


def jp_to_halves(value: Decimal | int | float) -> int:
    """JP (in steps of 0.5) as integer half-JP units: exact sums, no float equality."""
    halves = Decimal(str(value)) * 2
    if halves != halves.to_integral_value():
        raise ValueError("JP must be a multiple of 0.5")
    return int(halves)


def halves_to_jp(halves: int) -> JPNumber:
    """73 for 146 half-units, 1.5 for 3: JSON numbers without a needless '.0'."""
    return halves // 2 if halves % 2 == 0 else halves / 2


def jp_hours(jp_halves: int, minutes_per_jp: int) -> JPNumber:
    """Hours of ``jp_halves`` half-JP at ``minutes_per_jp``: 146 halves x 45 min -> 54.75."""
    hours = jp_halves * minutes_per_jp / 120
    return int(hours) if hours == int(hours) else round(hours, 4)


def to_centi(value: Decimal | int | float) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def from_centi(value: int) -> JPNumber:
    return value // 100 if value % 100 == 0 else value / 100


def search_text(*parts: str | None) -> str:
    """Lowercase, accents stripped (NFKD), whitespace collapsed: for LIKE matching on any engine."""
    joined = " ".join(p for p in parts if p)
    decomposed = unicodedata.normalize("NFKD", joined)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def roman(number: int) -> str:
    """1 -> 'I', 14 -> 'XIV', 88 -> 'LXXXVIII', 3999 -> 'MMMCMXCIX'; outside 1..3999 refused."""
    if not 1 <= number <= 3999:
        raise ValueError("Roman numerals are written for 1 to 3999")
    out = []
    for value, letters in _ROMAN:
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)
