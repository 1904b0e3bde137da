"""NIP and NI PPPK checks, part by part, each failure saying which part is wrong.

A NIP (PNS/CPNS number) is 18 digits: 1-8 the birth date (YYYYMMDD, a real date),
9-14 the start of CPNS service (YYYYMM, not in the future, after the birth date), 15 the
gender (1 male, 2 female), 16-18 a sequence from 001. People write it with spaces
("19800101 200501 1 001"); they are removed. A NI PPPK is 18 digits whose first 8 are a
real birth date; its other digits are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.core.errors import ProblemError
from app.models.learner import Gender


@dataclass(frozen=True)
class NipParts:
    digits: str
    birth_date: date
    start: tuple[int, int]  # year, month
    gender: Gender


def key_error(
    msg: str, msg_id: str, loc: tuple[str, str] = ("path", "learner_key")
) -> ProblemError:
    """422 on the learner key (or another field), in both languages."""
    return ProblemError(
        422,
        "validation_error",
        msg,
        detail_id=msg_id,
        errors=[{"loc": list(loc), "msg": msg, "msg_id": msg_id, "type": "value_error"}],
    )


def _digits(raw: str, what: str) -> str:
    digits = raw.replace(" ", "")
    bad = next((c for c in digits if not c.isascii() or not c.isdigit()), None)
    if bad is not None:
        raise key_error(
            f"The {what} may hold only digits and spaces; remove '{bad}'.",
            f"{what} hanya boleh berisi angka dan spasi; hapus '{bad}'.",
        )
    if len(digits) != 18:
        raise key_error(
            f"A {what} has 18 digits; this one has {len(digits)}.",
            f"{what} terdiri dari 18 angka; yang ini {len(digits)} angka.",
        )
    return digits


def _birth_date(digits: str, what: str, today: date) -> date:
    raw = digits[:8]
    try:
        born = date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    except ValueError:
        born = None
    if born is None or born.year < 1900:
        raise key_error(
            f"Digits 1-8 of the {what} (birth date {raw}) are not a real date; "
            "they must be the birth date as YYYYMMDD.",
            f"Angka ke-1 sampai ke-8 {what} (tanggal lahir {raw}) bukan tanggal yang ada; "
            "isinya harus tanggal lahir dengan bentuk YYYYMMDD.",
        )
    if born > today:
        raise key_error(
            f"Digits 1-8 of the {what} (birth date {born.isoformat()}) are in the future; "
            "check the number.",
            f"Angka ke-1 sampai ke-8 {what} (tanggal lahir {born.isoformat()}) ada di masa "
            "depan; periksa nomornya.",
        )
    return born


def check_nip(raw: str, *, today: date) -> NipParts:
    digits = _digits(raw, "NIP")
    born = _birth_date(digits, "NIP", today)
    year, month = int(digits[8:12]), int(digits[12:14])
    shown = f"{digits[8:12]}-{digits[12:14]}"
    if not 1 <= month <= 12 or year < 1900:
        raise key_error(
            f"Digits 9-14 of the NIP (CPNS start {digits[8:14]}) are not a year and month; "
            "they must be the start of CPNS service as YYYYMM.",
            f"Angka ke-9 sampai ke-14 NIP (TMT CPNS {digits[8:14]}) bukan tahun dan bulan; "
            "isinya harus awal masa CPNS dengan bentuk YYYYMM.",
        )
    if (year, month) > (today.year, today.month):
        raise key_error(
            f"Digits 9-14 of the NIP (CPNS start {shown}) are in the future; check the NIP.",
            f"Angka ke-9 sampai ke-14 NIP (TMT CPNS {shown}) ada di masa depan; periksa NIP.",
        )
    if (year, month) <= (born.year, born.month):
        raise key_error(
            f"Digits 9-14 of the NIP (CPNS start {shown}) are not after the birth date in "
            f"digits 1-8 ({born.isoformat()}); check the NIP.",
            f"Angka ke-9 sampai ke-14 NIP (TMT CPNS {shown}) tidak sesudah tanggal lahir pada "
            f"angka ke-1 sampai ke-8 ({born.isoformat()}); periksa NIP.",
        )
    if digits[14] not in "12":
        raise key_error(
            f"Digit 15 of the NIP (gender) is {digits[14]}; it must be 1 (male) or 2 (female).",
            f"Angka ke-15 NIP (jenis kelamin) bernilai {digits[14]}; harus 1 (laki-laki) atau "
            "2 (perempuan).",
        )
    if digits[15:] == "000":
        raise key_error(
            "Digits 16-18 of the NIP (sequence) are 000; the sequence starts at 001.",
            "Angka ke-16 sampai ke-18 NIP (nomor urut) bernilai 000; nomor urut dimulai dari 001.",
        )
    gender = Gender.male if digits[14] == "1" else Gender.female
    return NipParts(digits, born, (year, month), gender)


def check_ni_pppk(raw: str, *, today: date) -> tuple[str, date]:
    digits = _digits(raw, "NI PPPK")
    return digits, _birth_date(digits, "NI PPPK", today)
