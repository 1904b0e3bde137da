"""Roster files in and out: CSV and Excel (.xlsx) as people really save them, and exports
that are safe to open in a spreadsheet. Pure functions (no database, no HTTP): the
enrolment endpoints call :func:`parse_roster` on an upload and :func:`write_roster_csv` /
:func:`write_roster_xlsx` for an export.

Reading: UTF-8 with or without BOM, ``,`` or ``;`` (counted outside quotes in the header
line: spreadsheets in an Indonesian locale write ``;``), quoted fields with delimiters and
line breaks inside, CRLF or LF; the first sheet of a workbook (openpyxl ``read_only``,
cached values rather than formulas). Header names are English field names or their
Indonesian aliases, in any case and spacing. Whole-file problems raise a
:class:`ProblemError`; a row's problems are listed on the row, numbered as a spreadsheet
shows them (the first line is row 1).

Writing: CSV in UTF-8 with a BOM (Excel then reads the accents right) and ``,`` as the
delimiter (the RFC 4180 one; Excel in an Indonesian locale splits it with Data > From
Text/CSV), XLSX with openpyxl ``write_only``. A text cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's CSV-injection
advice) so a spreadsheet never runs it as a formula; reading a roster strips that ``'``
again, so an export imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from app.core import i18n
from app.core.errors import ProblemError

MAX_ROWS = 10_000
# A 10,000-row roster workbook unpacks to a few MB; anything far past this is a zip bomb.
MAX_XLSX_UNPACKED = 64 * 1024 * 1024
HEADER_SEARCH_ROWS = 10  # title lines above the header are common in agency spreadsheets

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What browsers and clients send for a .csv file (Windows with Excel says vnd.ms-excel).
CSV_TYPES = {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}
SNIFFED_TYPES = {"", "application/octet-stream", "multipart/form-data"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls of Excel 97-2003

# Canonical field -> the header names accepted for it (English first, then Indonesian).
FIELDS: dict[str, tuple[str, ...]] = {
    "nip": ("nip", "nip baru", "nomor induk pegawai"),
    "ni_pppk": ("ni pppk", "nomor induk pppk"),
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
ID_FIELDS = ("nip", "ni_pppk")


def header_key(name: str) -> str:
    """Headers compare without case, spaces or punctuation: 'No. HP' == 'no_hp' == 'NOHP'."""
    return re.sub(r"[\W_]+", "", name.casefold())


ALIASES: dict[str, str] = {header_key(a): f for f, names in FIELDS.items() for a in names}
ACCEPTED_ID_HEADERS = ", ".join(f"'{a}'" for f in ID_FIELDS for a in FIELDS[f])

i18n.MESSAGES.update(
    {
        "roster_unreadable": {
            "en": ("Roster file not readable", "Save the roster as CSV UTF-8 or .xlsx."),
            "id": (
                "Berkas peserta tidak terbaca",
                "Simpan daftar peserta sebagai CSV UTF-8 atau .xlsx.",
            ),
        },
        "roster_too_many_rows": {
            "en": ("Too many roster rows", "Split the roster into smaller files."),
            "id": ("Baris peserta terlalu banyak", "Bagi daftar peserta menjadi beberapa berkas."),
        },
    }
)


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


@dataclass(slots=True)
class RosterRow:
    number: int  # the row as a spreadsheet shows it: the header line is row 1
    fields: dict[str, str | None]
    errors: list[RowError] = field(default_factory=list)


@dataclass(slots=True)
class ParsedRoster:
    format: Literal["csv", "xlsx"]
    rows: list[RosterRow]
    columns: dict[str, str]  # canonical field -> header as written in the file
    unknown_columns: list[str]  # headers no field knows: a warning, their cells are ignored
    header_row: int
    delimiter: str | None = None

    @property
    def warnings(self) -> list[dict[str, Any]]:
        if not self.unknown_columns:
            return []
        names = ", ".join(f"'{c}'" for c in self.unknown_columns)
        return [
            {
                "loc": ["body", self.header_row],
                "msg": f"Columns ignored (no field has these names): {names}. Rename them to a "
                "documented header if they hold learner data.",
                "msg_id": f"Kolom diabaikan (tidak ada isian dengan nama ini): {names}. Ganti "
                "namanya menjadi judul kolom yang terdokumentasi bila berisi data peserta.",
                "type": "unknown_column",
            }
        ]


def _unreadable(en: str, id_: str, status: int = 422) -> ProblemError:
    return ProblemError(status, "roster_unreadable", en, detail_id=id_)


def _unsupported(shown: str) -> ProblemError:
    return ProblemError(
        415,
        "unsupported_media_type",
        f"A roster is a CSV file (text/csv) or an Excel workbook (.xlsx, {XLSX_TYPE}); got "
        f"{shown}. Save the spreadsheet as 'CSV UTF-8' or as 'Excel Workbook (.xlsx)'.",
        detail_id=f"Daftar peserta harus berkas CSV (text/csv) atau buku kerja Excel (.xlsx, "
        f"{XLSX_TYPE}); diterima: {shown}. Simpan lembar kerja sebagai 'CSV UTF-8' atau "
        "'Excel Workbook (.xlsx)'.",
    )


def parse_roster(data: bytes, content_type: str, *, max_rows: int = MAX_ROWS) -> ParsedRoster:
    """Read a CSV or XLSX roster; raise a :class:`ProblemError` for a whole-file problem."""
    media = content_type.split(";")[0].strip().lower()
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _unreadable(
            "The roster file is empty; send a file with a header line and one row a learner.",
            "Berkas daftar peserta kosong; kirim berkas dengan baris judul kolom dan satu "
            "baris untuk setiap peserta.",
        )
    if data.startswith(ZIP_MAGIC):
        return _parse_xlsx(data, max_rows)
    if data.startswith(OLE_MAGIC):
        raise _unsupported("an Excel 97-2003 workbook (.xls)")
    if media == XLSX_TYPE:
        raise _unreadable(
            "The file is not a valid .xlsx workbook; open it in a spreadsheet and save it "
            "again as 'Excel Workbook (.xlsx)'.",
            "Berkas ini bukan buku kerja .xlsx yang valid; buka di aplikasi lembar kerja lalu "
            "simpan ulang sebagai 'Excel Workbook (.xlsx)'.",
        )
    if media in CSV_TYPES or media in SNIFFED_TYPES:
        return _parse_csv(data, max_rows)
    raise _unsupported(media or "no Content-Type")


# --- CSV ---------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _not_utf8("it is UTF-16 ('Unicode Text')")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _not_utf8(f"line {line} has bytes that are not UTF-8", line) from None


def _not_utf8(why: str, line: int | None = None) -> ProblemError:
    why_id = (
        f"baris {line} berisi byte yang bukan UTF-8"
        if line is not None
        else "berkas ini UTF-16 ('Unicode Text')"
    )
    return _unreadable(
        f"The CSV file is not UTF-8: {why}. In Excel choose File > Save As > 'CSV UTF-8 "
        "(Comma delimited) (*.csv)'; in LibreOffice tick 'Edit filter settings' and choose "
        "'Unicode (UTF-8)'. Then upload it again.",
        f"Berkas CSV bukan UTF-8: {why_id}. Di Excel pilih File > Save As > 'CSV UTF-8 "
        "(Comma delimited) (*.csv)'; di LibreOffice centang 'Edit filter settings' lalu pilih "
        "'Unicode (UTF-8)'. Kemudian unggah ulang.",
    )


def sniff_delimiter(header_line: str) -> str:
    """``;`` or ``,``, whichever occurs more often outside quotes in the header line."""
    counts = {",": 0, ";": 0}
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return ";" if counts[";"] > counts[","] else ","


def _parse_csv(data: bytes, max_rows: int) -> ParsedRoster:
    text = _decode(data)
    start = len(text) - len(text.lstrip("\r\n"))
    first_line = text[start:].split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        roster = _read_rows("csv", enumerate(reader, start=1), max_rows)
    except csv.Error as exc:
        line = reader.line_num
        raise _unreadable(
            f"The CSV file cannot be read near line {line} ({exc}); check that every quote "
            "(\") that opens a field also closes it, or save the file again as 'CSV UTF-8'.",
            f"Berkas CSV tidak dapat dibaca di sekitar baris {line}; pastikan setiap tanda "
            "kutip (\") pembuka isian juga ditutup, atau simpan ulang berkas sebagai 'CSV UTF-8'.",
        ) from None
    roster.delimiter = delimiter
    return roster


# --- XLSX --------------------------------------------------------------------------


def _parse_xlsx(data: bytes, max_rows: int) -> ParsedRoster:
    from openpyxl import load_workbook  # imported on use: most requests never need it

    not_xlsx = _unreadable(
        "The file is a zip archive but not an Excel workbook (.xlsx); open it in a "
        "spreadsheet and save it as 'Excel Workbook (.xlsx)' or as 'CSV UTF-8'.",
        "Berkas ini arsip zip tetapi bukan buku kerja Excel (.xlsx); buka di aplikasi lembar "
        "kerja lalu simpan sebagai 'Excel Workbook (.xlsx)' atau 'CSV UTF-8'.",
        status=415,
    )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = {i.filename for i in archive.infolist()}
        unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise not_xlsx from None
    if "xl/workbook.xml" not in names:
        raise not_xlsx
    if unpacked > MAX_XLSX_UNPACKED:
        raise _unreadable(
            f"The workbook unpacks to more than {MAX_XLSX_UNPACKED // 2**20} MB; send only "
            f"the roster sheet, at most {MAX_ROWS:,} rows, without images.",
            f"Buku kerja ini mengembang melebihi {MAX_XLSX_UNPACKED // 2**20} MB; kirim hanya "
            f"lembar daftar peserta, paling banyak {MAX_ROWS:,} baris, tanpa gambar.",
            status=413,
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file; all mean "save again"
        raise not_xlsx from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # trust the cells, not a stale A1:XFD1048576 dimension
        rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        return _read_rows("xlsx", rows, max_rows)
    except ProblemError:
        raise
    except Exception:
        raise not_xlsx from None
    finally:
        book.close()


# --- rows --------------------------------------------------------------------------


def _is_blank(cells: Sequence[object]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _find_header(
    rows: Iterator[tuple[int, Sequence[object]]],
) -> tuple[int, list[str | None]]:
    seen = 0
    for number, cells in rows:
        if _is_blank(cells):
            continue
        seen += 1
        keys = [ALIASES.get(header_key(str(c))) if c is not None else None for c in cells]
        if any(k in ID_FIELDS for k in keys):
            return number, [str(c).strip() if c is not None else None for c in cells]
        if seen >= HEADER_SEARCH_ROWS:
            break
    if seen == 0:
        raise _unreadable(
            "The roster file has no rows; send a header line and one row a learner.",
            "Berkas daftar peserta tidak berisi baris; kirim baris judul kolom dan satu "
            "baris untuk setiap peserta.",
        )
    raise _unreadable(
        f"No NIP column found in the first {HEADER_SEARCH_ROWS} rows; name the column of "
        f"NIPs (or NI PPPK) with one of: {ACCEPTED_ID_HEADERS}.",
        f"Kolom NIP tidak ditemukan pada {HEADER_SEARCH_ROWS} baris pertama; beri judul "
        f"kolom NIP (atau NI PPPK) salah satu dari: {ACCEPTED_ID_HEADERS}.",
    )


def _map_columns(headers: list[str | None]) -> tuple[dict[int, str], dict[str, str], list[str]]:
    by_index: dict[int, str] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    for index, header in enumerate(headers):
        if not header:
            continue
        canonical = ALIASES.get(header_key(header))
        if canonical is None:
            if header not in unknown:
                unknown.append(header)
            continue
        if canonical in written:
            raise _unreadable(
                f"Columns '{written[canonical]}' and '{header}' both hold {canonical}; keep "
                "one of them.",
                f"Kolom '{written[canonical]}' dan '{header}' sama-sama berisi {canonical}; "
                "pertahankan salah satunya.",
            )
        by_index[index] = canonical
        written[canonical] = header
    return by_index, written, unknown


def _read_rows(
    kind: Literal["csv", "xlsx"], source: Iterable[tuple[int, Sequence[object]]], max_rows: int
) -> ParsedRoster:
    rows_iter = iter(source)
    header_row, headers = _find_header(rows_iter)
    by_index, written, unknown = _map_columns(headers)
    parsed: list[RosterRow] = []
    first_seen: dict[tuple[str, str], int] = {}
    for number, cells in rows_iter:
        if _is_blank(cells):
            continue
        if len(parsed) >= max_rows:
            raise ProblemError(
                413,
                "roster_too_many_rows",
                f"The roster has more than {max_rows:,} learner rows; split it into files of "
                f"at most {max_rows:,} rows and send each one.",
                detail_id=f"Daftar peserta berisi lebih dari {max_rows:,} baris; bagi menjadi "
                f"beberapa berkas masing-masing paling banyak {max_rows:,} baris lalu kirim "
                "satu per satu.",
                extra={"max_rows": max_rows},
            )
        row = RosterRow(number, dict.fromkeys(written))
        for index, canonical in by_index.items():
            value = cells[index] if index < len(cells) else None
            row.fields[canonical] = _cell(canonical, value, row)
        _check_ids(row, first_seen)
        parsed.append(row)
    if not parsed:
        raise _unreadable(
            "The roster has a header line but no learner rows; add one row a learner.",
            "Daftar peserta hanya berisi baris judul kolom; tambahkan satu baris untuk setiap "
            "peserta.",
        )
    return ParsedRoster(kind, parsed, written, unknown, header_row)


_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]00:00(?::00)?)?$")


def _cell(canonical: str, value: object, row: RosterRow) -> str | None:
    if value is None:
        return None
    if canonical in ID_FIELDS and isinstance(value, float):
        row.errors.append(_scientific(canonical))
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif canonical == "birth_date" and isinstance(value, int | float):
        return _excel_serial(value, row)  # a date cell that lost its date format
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in _TRIGGERS:
        text = text[1:]  # our own export's neutralising quote
    if not text:
        return None
    if canonical in ID_FIELDS:
        return _normalise_id(canonical, text, row)
    if canonical == "birth_date":
        return _parse_date(text, row)
    return text


def _scientific(canonical: str) -> RowError:
    label = "NIP" if canonical == "nip" else "NI PPPK"
    return RowError(
        canonical,
        f"The {label} was turned into a number (such as 1.98501E+17) and its last digits are "
        f"lost. Format the {label} column as Text in the spreadsheet, type the {label}s again "
        "and save the file once more.",
        f"{label} berubah menjadi angka (misalnya 1.98501E+17) dan digit terakhirnya hilang. "
        f"Format kolom {label} sebagai Teks di lembar kerja, ketik ulang {label} lalu simpan "
        "kembali berkasnya.",
        "nip_scientific",
    )


def _normalise_id(canonical: str, text: str, row: RosterRow) -> str | None:
    # TODO(learners): replace with the shared NIP validator in app/services/learning/nip.py
    # once it lands; this one only strips spaces and checks for 18 digits.
    if _SCIENTIFIC.match(text.replace(" ", "")):
        row.errors.append(_scientific(canonical))
        return None
    digits = re.sub(r"[\s\u00a0]+", "", text)
    if not (len(digits) == 18 and digits.isascii() and digits.isdigit()):
        label = "NIP" if canonical == "nip" else "NI PPPK"
        row.errors.append(
            RowError(
                canonical,
                f"A {label} is 18 digits (spaces allowed); this one is '{text}'. Correct it.",
                f"{label} terdiri atas 18 digit (boleh berspasi); nilai ini '{text}'. Perbaiki.",
                "nip_invalid",
            )
        )
        return None
    return digits


def _check_ids(row: RosterRow, first_seen: dict[tuple[str, str], int]) -> None:
    ids = [(f, row.fields.get(f)) for f in ID_FIELDS]
    if all(v is None for _, v in ids):
        if not any(e.field in ID_FIELDS for e in row.errors):
            row.errors.append(
                RowError(
                    "nip",
                    "Fill in the NIP (or the NI PPPK for PPPK staff).",
                    "Isi NIP (atau NI PPPK untuk pegawai PPPK).",
                    "missing",
                )
            )
        return
    for canonical, value in ids:
        if value is None:
            continue
        earlier = first_seen.setdefault((canonical, value), row.number)
        if earlier != row.number:
            row.errors.append(
                RowError(
                    canonical,
                    f"This learner is already on row {earlier}; remove one of the two rows.",
                    f"Peserta ini sudah ada di baris {earlier}; hapus salah satu baris.",
                    "duplicate_row",
                )
            )


def _parse_date(text: str, row: RosterRow) -> str | None:
    try:
        if _ISO_DATE.match(text):  # 1985-01-31, or with a midnight time from some exports
            return date.fromisoformat(text[:10]).isoformat()
        if match := _DAY_FIRST.match(text):  # Indonesian order: day first
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day).isoformat()
    except ValueError:
        pass
    row.errors.append(_bad_date(text))
    return None


def _excel_serial(value: float, row: RosterRow) -> str | None:
    from openpyxl.utils.datetime import from_excel

    try:
        found = from_excel(value)
    except (ValueError, OverflowError, TypeError):
        found = None
    if isinstance(found, datetime) and 1900 < found.year < 2200:
        return found.date().isoformat()
    row.errors.append(_bad_date(str(value)))
    return None


def _bad_date(text: str) -> RowError:
    return RowError(
        "birth_date",
        f"Write the birth date as YYYY-MM-DD or DD/MM/YYYY (got '{text}').",
        f"Tulis tanggal lahir sebagai YYYY-MM-DD atau DD/MM/YYYY (diterima: '{text}').",
        "date_format",
    )


# --- export ------------------------------------------------------------------------

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(neutralise(value))


def write_roster_csv(rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> bytes:
    """UTF-8 with BOM, ``,``-delimited, CRLF (RFC 4180), header = the column names."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow([_text(row.get(c)) for c in columns])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def write_roster_xlsx(rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> bytes:
    """One sheet; text stays text (an 18-digit NIP never becomes 1.98501E+17), dates are dates."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Roster")
    sheet.append([str(neutralise(c)) for c in columns])
    for row in rows:
        cells: list[Any] = []
        for column in columns:
            value = row.get(column)
            if isinstance(value, datetime):
                value = value.replace(tzinfo=None)
            if isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
                continue
            if value is not None and not isinstance(value, bool | int | float):
                value = ILLEGAL_CHARACTERS_RE.sub("", str(neutralise(str(value))))
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # never a formula, whatever it starts with
                value = cell
            cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
