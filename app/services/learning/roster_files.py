"""Roster files in and out: CSV and Excel (.xlsx) as people really save them, and exports
that are safe to open in a spreadsheet. Pure functions (no database, no HTTP): the
enrolment endpoints call :func:`parse_roster` on an upload and :func:`write_roster_csv` /
:func:`write_roster_xlsx` for an export.

Reading: UTF-8 with or without BOM, ``,`` or ``;`` (counted outside quotes in the header
line: spreadsheets in an Indonesian locale write ``;``), quoted fields with delimiters and
line breaks inside, CRLF or LF; the first sheet of a workbook (openpyxl ``read_only``:
cached values, never formulas; dates by their number format). Header names are English
field names or their Indonesian aliases, in any case and spacing; title lines above the
header are skipped. Whole-file problems raise a
:class:`ProblemError`; a row's problems are listed on the row, numbered as a spreadsheet
shows them (the first line is row 1).

Columns and cells: roster_cells; writing CSV and XLSX safe from formula injection:
roster_export (re-exported here).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from app.core import i18n
from app.core.errors import ProblemError
from app.services.learning.roster_cells import (
    ALIASES,
    FIELDS,
    ID_FIELDS,
    RowError,
    cell_value,
    check_ids,
    header_key,
    shown,
)
from app.services.learning.roster_export import neutralise, write_roster_csv, write_roster_xlsx

__all__ = [
    "FIELDS",
    "MAX_ROWS",
    "XLSX_TYPE",
    "ParsedRoster",
    "RosterRow",
    "RowError",
    "neutralise",
    "parse_roster",
    "read_csv_lines",
    "sniff_delimiter",
    "write_roster_csv",
    "write_roster_xlsx",
]

MAX_ROWS = 10_000
# A 10,000-row roster workbook unpacks to a few MB; anything far past this is a zip bomb.
MAX_XLSX_UNPACKED = 64 * 1024 * 1024
HEADER_SEARCH_ROWS = 10  # title lines above the header are common in agency spreadsheets
# Lines read at most, blank ones included: a sheet of a million empty rows (a few MB zipped)
# cost 25-40 s of CPU to walk before this bound; now it is refused before openpyxl opens it.
SCAN_FACTOR = 2
HEADER_SEARCH_LINES = 1_000  # blank lines included

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What browsers and clients send for a .csv file (Windows with Excel says vnd.ms-excel).
CSV_TYPES = {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}
SNIFFED_TYPES = {"", "application/octet-stream"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls of Excel 97-2003

_PRIORITY = {header_key(a): rank for names in FIELDS.values() for rank, a in enumerate(names)}
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


@dataclass(slots=True)
class RosterRow:
    number: int  # the row as a spreadsheet shows it: the header line is row 1
    fields: dict[str, str | None]
    errors: list[RowError] = field(default_factory=list)


@dataclass(slots=True)
class ParsedRoster:
    format: Literal["csv", "xlsx"]
    rows: Sequence[RosterRow]  # a CSV's are read again when walked (_ReadAgain)
    columns: dict[str, str]  # canonical field -> header as written in the file
    unknown_columns: list[str]  # headers no field knows: a warning, their cells are ignored
    header_row: int
    delimiter: str | None = None
    # a second column for a field already read: ignored header -> the header kept
    ignored_columns: dict[str, str] = field(default_factory=dict)

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """Column problems that do not stop the import, in both languages."""
        found = [
            {
                "loc": ["body", self.header_row],
                "msg": f"Column '{shown(header)}' ignored: column '{shown(kept)}' already "
                "holds the same field. Remove one of them if this is not the one you meant.",
                "msg_id": f"Kolom '{shown(header)}' diabaikan: kolom '{shown(kept)}' sudah "
                "berisi isian yang sama. Hapus salah satunya bila bukan itu yang dimaksud.",
                "type": "duplicate_column",
            }
            for header, kept in self.ignored_columns.items()
        ]
        if not self.unknown_columns:
            return found
        names = ", ".join(f"'{shown(c)}'" for c in self.unknown_columns[:20])
        if len(self.unknown_columns) > 20:
            names += ", …"
        return [
            *found,
            {
                "loc": ["body", self.header_row],
                "msg": f"Columns ignored (no field has these names): {names}. Rename them to a "
                "documented header if they hold learner data.",
                "msg_id": f"Kolom diabaikan (tidak ada isian dengan nama ini): {names}. Ganti "
                "namanya menjadi judul kolom yang terdokumentasi bila berisi data peserta.",
                "type": "unknown_column",
            },
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


def _first_delimiter(text: str) -> str:
    """Sniffed from the first of the top lines that has one (a title line may have none)."""
    start = 0
    for _ in range(HEADER_SEARCH_ROWS):
        end = text.find("\n", start)
        line = text[start : end if end >= 0 else len(text)]
        if "," in line or ";" in line:
            return sniff_delimiter(line)
        if end < 0:
            break
        start = end + 1
    return ","


def _csv_reader(data: bytes) -> tuple[Any, str]:
    """A strict ``csv.reader`` over the decoded text, and the delimiter it uses."""
    text = _decode(data)
    delimiter = None
    if text.startswith("sep=") and text[4:5] in (",", ";") and text[5:6] in ("\r", "\n"):
        delimiter = text[4]  # Excel's hint line, hidden by Excel: the next line is row 1
        text = text[6:].removeprefix("\n") if text[5] == "\r" else text[6:]
    if delimiter is None:
        delimiter = _first_delimiter(text)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), delimiter


def _csv_error(line: int, exc: csv.Error) -> ProblemError:
    return _unreadable(
        f"The CSV file cannot be read near line {line} ({exc}); check that every quote "
        "(\") that opens a field also closes it, or save the file again as 'CSV UTF-8'.",
        f"Berkas CSV tidak dapat dibaca di sekitar baris {line}; pastikan setiap tanda "
        "kutip (\") pembuka isian juga ditutup, atau simpan ulang berkas sebagai 'CSV UTF-8'.",
    )


def read_csv_lines(data: bytes, *, max_lines: int) -> list[tuple[int, list[str]]]:
    """Every record of a CSV file as (line number, cells), read as rosters are (BOM,
    ``,``/``;``, ``sep=`` hint, UTF-8 only): for other CSV files (e.g. Zoom's reports).
    More than ``max_lines`` records is a 413."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _unreadable(
            "The CSV file is empty; send the file as exported.",
            "Berkas CSV kosong; kirim berkas sebagaimana diekspor.",
        )
    reader, _ = _csv_reader(data)
    out: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if len(out) >= max_lines:
                raise ProblemError(
                    413,
                    "roster_too_many_rows",
                    f"The file has more than {max_lines:,} lines; split it and send each part.",
                    detail_id=f"Berkas berisi lebih dari {max_lines:,} baris; bagi berkas itu "
                    "lalu kirim setiap bagiannya.",
                    extra={"max_rows": max_lines},
                )
            out.append((number, cells))
    except csv.Error as exc:
        raise _csv_error(reader.line_num, exc) from None
    return out


def _parse_csv(data: bytes, max_rows: int) -> ParsedRoster:
    reader, delimiter = _csv_reader(data)

    def again() -> Iterator[tuple[int, Sequence[object]]]:
        return enumerate(_csv_reader(data)[0], start=1)

    try:
        roster = _read_rows("csv", enumerate(reader, start=1), max_rows, again=again)
    except csv.Error as exc:
        raise _csv_error(reader.line_num, exc) from None
    roster.delimiter = delimiter
    return roster


# --- XLSX --------------------------------------------------------------------------


def _parse_xlsx(data: bytes, max_rows: int) -> ParsedRoster:
    from openpyxl import load_workbook  # imported on use: most uploads are CSV

    not_xlsx = _unreadable(
        "The file is a zip archive but not an Excel workbook (.xlsx); open it in a "
        "spreadsheet and save it as 'Excel Workbook (.xlsx)' or as 'CSV UTF-8'.",
        "Berkas ini arsip zip tetapi bukan buku kerja Excel (.xlsx); buka di aplikasi lembar "
        "kerja lalu simpan sebagai 'Excel Workbook (.xlsx)' atau 'CSV UTF-8'.",
        status=415,
    )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise not_xlsx from None
    # zipfile never inflates a member past its declared size, openpyxl included: the sum
    # of the declared sizes bounds what a workbook can unpack to.
    if sum(i.file_size for i in members) > MAX_XLSX_UNPACKED:
        raise _unreadable(
            f"The workbook unpacks to more than {MAX_XLSX_UNPACKED // 2**20} MB; send only "
            f"the roster sheet, at most {MAX_ROWS:,} rows, without images.",
            f"Buku kerja ini mengembang melebihi {MAX_XLSX_UNPACKED // 2**20} MB; kirim hanya "
            f"lembar daftar peserta, paling banyak {MAX_ROWS:,} baris, tanpa gambar.",
            status=413,
        )
    # every OOXML package has _rels/.rels (.ods and plain zips do not); an .xlsx never has a
    # document type declaration, and refusing one means no entity is ever expanded
    try:
        if "_rels/.rels" not in {i.filename for i in members} or any(
            _declares_doctype(archive, i) for i in members
        ):
            raise not_xlsx
        if any(_counts_past(archive, i, _scan_limit(max_rows)) for i in members if _is_sheet(i)):
            raise _too_many_lines(max_rows)
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ProblemError:
        raise
    except Exception:  # openpyxl raises many kinds for a damaged file; all mean "save again"
        raise not_xlsx from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # trust the cells, not a stale or missing dimension
        rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        return _read_rows("xlsx", rows, max_rows)
    except ProblemError:
        raise
    except Exception:  # damaged sheet XML, a bad shared-string index: "save it again"
        raise not_xlsx from None
    finally:
        book.close()


# "<!DOCTYPE" as expat reads it: UTF-8 (and ASCII, Latin-1) or UTF-16 either way round
_DOCTYPE = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))


def _declares_doctype(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether a part holds a DOCTYPE anywhere (read in chunks, never whole)."""
    overlap = max(len(n) for n in _DOCTYPE) - 1
    tail = b""
    with archive.open(member) as part:
        while chunk := part.read(256 * 1024):
            window = tail + chunk
            if any(needle in window for needle in _DOCTYPE):
                return True
            tail = window[-overlap:]
    return False


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")


def _is_sheet(member: zipfile.ZipInfo) -> bool:
    return member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")


def _counts_past(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> bool:
    """Whether a sheet has more than ``limit`` row elements, counted as it inflates: openpyxl
    walks the whole sheet XML once on opening when it has no <dimension>, then again."""
    found = 0
    tail = b""
    with archive.open(member) as part:
        while chunk := part.read(256 * 1024):
            window = tail + chunk
            # a tag that ends inside the old tail was counted with the previous chunk
            found += sum(1 for m in _ROW_TAG.finditer(window) if m.end() > len(tail))
            if found > limit:
                return True
            tail = window[-64:]
    return False


def _scan_limit(max_rows: int) -> int:
    return SCAN_FACTOR * max_rows + HEADER_SEARCH_ROWS


def _too_many_rows(max_rows: int) -> ProblemError:
    return ProblemError(
        413,
        "roster_too_many_rows",
        f"The roster has more than {max_rows:,} learner rows; split it into files of "
        f"at most {max_rows:,} rows and send each one.",
        detail_id=f"Daftar peserta berisi lebih dari {max_rows:,} baris; bagi menjadi "
        f"beberapa berkas masing-masing paling banyak {max_rows:,} baris lalu kirim "
        "satu per satu.",
        extra={"max_rows": max_rows},
    )


def _too_many_lines(max_rows: int) -> ProblemError:
    limit = _scan_limit(max_rows)
    return ProblemError(
        413,
        "roster_too_many_rows",
        f"The roster runs past line {limit:,} (empty rows count); delete the empty rows "
        f"below the roster, or split it into files of at most {max_rows:,} rows.",
        detail_id=f"Daftar peserta melewati baris ke-{limit:,} (baris kosong ikut dihitung); "
        f"hapus baris kosong di bawah daftar, atau bagi menjadi berkas masing-masing paling "
        f"banyak {max_rows:,} baris.",
        extra={"max_rows": max_rows},
    )


# --- rows --------------------------------------------------------------------------


def _is_blank(cells: Sequence[object]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _find_header(
    rows: Iterator[tuple[int, Sequence[object]]],
) -> tuple[int, list[str | None]]:
    seen = 0
    for number, cells in rows:
        if number > HEADER_SEARCH_LINES:  # a million blank lines are not a header search
            break
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


def _map_columns(
    headers: list[str | None],
) -> tuple[dict[int, str], dict[str, str], list[str], dict[str, str]]:
    """Column index -> field, field -> header, unknown headers, ignored header -> kept one.

    Two columns for one field (``Pangkat`` 'Penata' beside ``Golongan`` 'III/c') keep the
    header listed first in FIELDS, then the leftmost; the other is ignored with a warning.
    """
    by_index: dict[int, str] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    ignored: dict[str, str] = {}
    for index, header in enumerate(headers):
        if not header:
            continue
        canonical = ALIASES.get(header_key(header))
        if canonical is None:
            if header not in unknown:
                unknown.append(header)
            continue
        kept = written.get(canonical)
        if kept is not None:
            if _PRIORITY[header_key(header)] >= _PRIORITY[header_key(kept)]:
                ignored[header] = kept
                continue
            ignored[kept] = header
            del by_index[next(i for i, f in by_index.items() if f == canonical)]
        by_index[index] = canonical
        written[canonical] = header
    return by_index, written, unknown, ignored


def _lines(
    source: Iterable[tuple[int, Sequence[object]]], max_rows: int
) -> Iterator[tuple[int, Sequence[object]]]:
    """The non-blank lines after the header; past the bounds, the whole file is refused."""
    limit = _scan_limit(max_rows)
    count = 0
    for number, cells in source:
        if number > limit:
            raise _too_many_lines(max_rows)
        if _is_blank(cells):
            continue
        if count >= max_rows:
            raise _too_many_rows(max_rows)
        count += 1
        yield number, cells


def _rows(
    lines: Iterable[tuple[int, Sequence[object]]], by_index: dict[int, str], written: dict[str, str]
) -> Iterator[RosterRow]:
    first_seen: dict[tuple[str, str], int] = {}
    for number, cells in lines:
        row = RosterRow(number, dict.fromkeys(written))
        for index, canonical in by_index.items():
            value = cells[index] if index < len(cells) else None
            row.fields[canonical] = cell_value(canonical, value, row.errors)
        check_ids(number, row.fields, row.errors, first_seen)
        yield row


class _ReadAgain(Sequence[RosterRow]):
    """A CSV roster's rows, read again from the file each time they are walked: a bulk
    import holds the rows of the chunk it is on, not all of them (10,000 rows held at once
    were 5 MB of a worker's peak; see bulk_enrollment). The first pass counted them and
    ran the whole-file checks, so walking them raises nothing. Indexing reads them all
    once and keeps them."""

    def __init__(self, read: Callable[[], Iterator[RosterRow]], count: int) -> None:
        self._read, self._count = read, count
        self._held: list[RosterRow] | None = None

    def __iter__(self) -> Iterator[RosterRow]:
        return iter(self._held) if self._held is not None else self._read()

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> RosterRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RosterRow]: ...
    def __getitem__(self, index: int | slice) -> RosterRow | Sequence[RosterRow]:
        if self._held is None:
            self._held = list(self._read())
        return self._held[index]


def _read_rows(
    kind: Literal["csv", "xlsx"],
    source: Iterable[tuple[int, Sequence[object]]],
    max_rows: int,
    *,
    again: Callable[[], Iterator[tuple[int, Sequence[object]]]] | None = None,
) -> ParsedRoster:
    """The header, then the rows: all read now, or (``again``: the same lines from the
    start, as often as asked) counted now and read again when walked."""
    rows_iter = iter(source)
    header_row, headers = _find_header(rows_iter)
    by_index, written, unknown, ignored = _map_columns(headers)
    parsed: Sequence[RosterRow]
    if again is None:
        parsed = list(_rows(_lines(rows_iter, max_rows), by_index, written))
    else:

        def read() -> Iterator[RosterRow]:
            lines = again()
            for number, _ in lines:
                if number == header_row:
                    break
            return _rows(_lines(lines, max_rows), by_index, written)

        parsed = _ReadAgain(read, sum(1 for _ in _lines(rows_iter, max_rows)))
    if not parsed:
        raise _unreadable(
            "The roster has a header line but no learner rows; add one row a learner.",
            "Daftar peserta hanya berisi baris judul kolom; tambahkan satu baris untuk setiap "
            "peserta.",
        )
    return ParsedRoster(kind, parsed, written, unknown, header_row, ignored_columns=ignored)
