"""A roster's columns and cells: the header names each field accepts (English and
Indonesian, any case and spacing), and each cell as text with its problems in both
languages: NIPs without spaces (refused when a spreadsheet turned them into numbers),
dates as YYYY-MM-DD (day first when written with slashes, Excel dates and serials too).
Learner columns (NIP, NI PPPK, learner key) are checked by the one key rule,
``keys.parse_key``, with its messages: a cell there becomes the canonical learner key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.core.errors import ProblemError
from app.models.base import utcnow
from app.services.learning.keys import PPPK_PREFIX, parse_key
from app.services.learning.roster_export import TRIGGERS

# Canonical field -> the header names accepted for it (English first, then Indonesian).
FIELDS: dict[str, tuple[str, ...]] = {
    "nip": ("nip", "nip baru", "nomor induk pegawai"),
    "ni_pppk": ("ni pppk", "nomor induk pppk"),
    "learner_key": ("learner key", "kunci peserta"),
    "name": ("name", "full name", "nama", "nama lengkap", "nama peserta"),
    "email": ("email", "e-mail", "surel", "alamat email"),
    "phone": (
        "phone",
        "phone number",
        "nomor hp",
        "no hp",
        "telepon",
        "nomor telepon",
        "no telepon",
        "hp",
    ),
    "agency": ("agency", "instansi", "nama instansi"),
    "position_title": ("position title", "position", "jabatan", "nama jabatan"),
    "rank": ("rank", "golongan", "pangkat", "pangkat/golongan", "golongan ruang"),
    "asn_type": ("asn type", "jenis asn", "status asn", "jenis pegawai"),
    "external_ref": ("external ref", "external reference", "referensi", "id eksternal"),
    "front_title": ("front title", "gelar depan"),
    "back_title": ("back title", "gelar belakang"),
    "birth_date": ("birth date", "date of birth", "tanggal lahir", "tgl lahir"),
    "gender": ("gender", "sex", "jenis kelamin"),
    "work_unit": ("work unit", "unit kerja", "satuan kerja", "satker"),
    "position_type": ("position type", "jenis jabatan"),
}
# Columns that name the learner; each cell becomes the learner key (keys.parse_key), so a
# NIP column may also hold pppk:/ext: keys, and learner_key holds any key.
ID_FIELDS = ("nip", "ni_pppk", "learner_key")
MAX_KEY = 140  # EnrollmentCreate.learner_key's bound


def header_key(name: str) -> str:
    """Headers compare without case, spaces or punctuation: 'No. HP' == 'no_hp' == 'NOHP'."""
    return re.sub(r"[\W_]+", "", name.casefold())


ALIASES: dict[str, str] = {header_key(a): f for f, names in FIELDS.items() for a in names}


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one cell, in both languages, shaped like the API's ``errors[]``."""

    field: str
    msg: str
    msg_id: str
    type: str

    def as_error(self, row: int) -> dict[str, Any]:
        return {
            "loc": ["body", row, self.field],
            "msg": self.msg,
            "msg_id": self.msg_id,
            "type": self.type,
        }


_SPACES = re.compile(r"[\s\u00a0]+")
_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")


def cell_value(canonical: str, value: object, errors: list[RowError]) -> str | None:
    """A cell as text (None when empty), problems appended to ``errors``."""
    if value is None:
        return None
    if canonical in ID_FIELDS and isinstance(value, float):
        errors.append(_scientific(canonical))
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        text = value.isoformat()  # still checked below: a date is no NIP
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif canonical == "birth_date" and isinstance(value, int | float):
        return _excel_serial(value, errors)  # a date cell that lost its date format
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in TRIGGERS:
        text = text[1:]  # our own export's neutralising quote
    if not text:
        return None
    if canonical in ID_FIELDS:
        return _learner_key(canonical, text, errors)
    if canonical == "birth_date":
        return _parse_date(text, errors)
    return text


_LABELS = {
    "nip": ("NIP", "NIP"),
    "ni_pppk": ("NI PPPK", "NI PPPK"),
    "learner_key": ("learner key", "kunci peserta"),
}


def _scientific(canonical: str) -> RowError:
    label, label_id = _LABELS[canonical]
    return RowError(
        canonical,
        f"The {label} was turned into a number (such as 1.98501E+17) and its last digits are "
        f"lost. Format the {label} column as Text in the spreadsheet, type the {label}s again "
        "and save the file once more.",
        f"{label_id} berubah menjadi angka (misalnya 1.98501E+17) dan digit terakhirnya hilang. "
        f"Format kolom {label_id} sebagai Teks di lembar kerja, ketik ulang {label_id} lalu "
        "simpan kembali berkasnya.",
        "nip_scientific",
    )


def _learner_key(canonical: str, text: str, errors: list[RowError]) -> str | None:
    """A learner cell checked as the key it names (a NIP, or a pppk:/ext: key, in the NIP
    column; an NI PPPK in its own, kept without the prefix; any key in learner_key);
    None with the problem added."""
    label, label_id = _LABELS[canonical]
    if _SCIENTIFIC.match(text.replace(" ", "")):
        errors.append(_scientific(canonical))
        return None
    if len(text) > MAX_KEY:
        errors.append(
            RowError(
                canonical,
                f"This {label} ('{shown(text)}') is longer than {MAX_KEY} characters; correct it.",
                f"{label_id} ini ('{shown(text)}') lebih dari {MAX_KEY} karakter; perbaiki.",
                "nip_invalid",
            )
        )
        return None
    raw = _SPACES.sub(" ", text)  # no-break spaces and tabs from copied cells
    if canonical == "ni_pppk" and not raw.startswith(PPPK_PREFIX):
        raw = PPPK_PREFIX + raw
    try:
        key = parse_key(raw, today=utcnow().date()).key
    except ProblemError as exc:
        errors.append(
            RowError(canonical, exc.detail or "", exc.detail_id or exc.detail or "", "nip_invalid")
        )
        return None
    if canonical == "ni_pppk" and key.startswith(PPPK_PREFIX):
        return key[len(PPPK_PREFIX) :]  # the column keeps the number; key_of adds the prefix
    return key


def key_of(canonical: str, value: str) -> str:
    """The learner key of a checked learner cell."""
    return PPPK_PREFIX + value if canonical == "ni_pppk" else value


def check_ids(
    number: int,
    fields: dict[str, str | None],
    errors: list[RowError],
    first_seen: dict[tuple[str, str], int],
) -> None:
    """Each row names a NIP or an NI PPPK, and no learner twice in one file."""
    ids = [(f, fields.get(f)) for f in ID_FIELDS]
    if all(v is None for _, v in ids):
        if not any(e.field in ID_FIELDS for e in errors):
            errors.append(
                RowError(
                    "nip",
                    "Fill in the NIP (or the NI PPPK for PPPK staff, or the learner key).",
                    "Isi NIP (atau NI PPPK untuk pegawai PPPK, atau kunci peserta).",
                    "missing",
                )
            )
        return
    for canonical, value in ids:
        if value is None:
            continue
        key = key_of(canonical, value)
        earlier = first_seen.setdefault(("key", key), number)  # one learner, any column
        if earlier != number:
            errors.append(
                RowError(
                    canonical,
                    f"This learner is already on row {earlier}; remove one of the two rows.",
                    f"Peserta ini sudah ada di baris {earlier}; hapus salah satu baris.",
                    "duplicate_row",
                )
            )
            return


def _parse_date(text: str, errors: list[RowError]) -> str | None:
    try:
        if match := _ISO_DATE.match(text):  # 1985-01-31, or with midnight from some exports
            year, month, day = (int(g) for g in match.groups())
            return date(year, month, day).isoformat()
        if match := _DAY_FIRST.match(text):  # Indonesian order: day first
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day).isoformat()
    except ValueError:
        pass
    errors.append(_bad_date(text))
    return None


def _excel_serial(value: float, errors: list[RowError]) -> str | None:
    from openpyxl.utils.datetime import from_excel

    try:
        found = from_excel(value)
    except (ValueError, OverflowError, TypeError):
        found = None
    if isinstance(found, datetime) and 1900 < found.year < 2200:
        return found.date().isoformat()
    errors.append(_bad_date(str(value)))
    return None


def _bad_date(text: str) -> RowError:
    return RowError(
        "birth_date",
        f"Write the birth date as YYYY-MM-DD or DD/MM/YYYY (got '{shown(text)}').",
        f"Tulis tanggal lahir sebagai YYYY-MM-DD atau DD/MM/YYYY (diterima: '{shown(text)}').",
        "date_format",
    )


def shown(text: str, limit: int = 40) -> str:
    """A cell quoted back in a message, cut so a huge cell cannot swell the answer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
