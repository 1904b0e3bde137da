"""The first sheet of an .xlsx workbook as ``(row number, cell values)``, streamed.

A fast path with a figure (bench/roster_parse.py, 10,000 rows x 16 columns, shared
strings as Excel writes them, this 2-core machine under load): openpyxl ``read_only``
took 1.4-2.8 s (0.8 s of it loading the shared strings, each through its object
model); this reader, expat over the same XML, about a tenth of that. openpyxl still
decides which number formats are dates and converts Excel serials (1900 leap-year bug,
1904 epoch), and writes the exports.

Only what a roster needs: the cached value of each cell (never a formula), shared and
inline strings (phonetic runs skipped), booleans, error values as their text, numbers
as ``int`` when written without a point or exponent (an exact 18-digit NIP stays an int)
and ``float`` otherwise, dates as ``datetime`` when the cell's number format is a date
format. A document type declaration is refused (an .xlsx never has one): no entity
expansion, no external entities.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

CHUNK = 64 * 1024
Handler = Callable[[str, dict[str, str]], None]


class NotAWorkbook(Exception):
    """The archive is not a readable .xlsx workbook."""


def _local(name: str) -> str:
    return name.rpartition(":")[2]  # 'x:c' -> 'c': namespaces are not processed (faster)


def _no_doctype(*_: object) -> None:
    raise NotAWorkbook("document type declarations are not allowed")


def _parser(start: Handler | None = None, end: Callable[[str], None] | None = None) -> Any:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.EntityDeclHandler = _no_doctype
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    return parser


def _parse_whole(archive: zipfile.ZipFile, path: str, parser: Any) -> None:
    with archive.open(path) as source:
        while chunk := source.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)


def _attr(attrs: dict[str, str], local: str) -> str | None:
    for key, value in attrs.items():
        if _local(key) == local:
            return value
    return None


def _relationships(archive: zipfile.ZipFile, part: str) -> tuple[dict[str, str], dict[str, str]]:
    """A part's relationships: target paths by id and by type ('styles', ...)."""
    folder, name = posixpath.split(part)
    by_id: dict[str, str] = {}
    by_type: dict[str, str] = {}

    def on_rel(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            by_id[attrs.get("Id", "")] = posixpath.normpath(path)
            by_type.setdefault(attrs.get("Type", "").rpartition("/")[2], by_id[attrs["Id"]])

    _parse_whole(archive, posixpath.join(folder, "_rels", f"{name}.rels"), _parser(on_rel))
    return by_id, by_type


def _parts(archive: zipfile.ZipFile) -> tuple[str, str | None, str | None, bool]:
    """The first sheet's path, the shared strings' and the styles' paths, the 1904 flag."""
    book = _relationships(archive, "")[1].get("officeDocument", "xl/workbook.xml")
    first: list[str] = []
    date1904: list[bool] = []

    def on_book(name: str, attrs: dict[str, str]) -> None:
        name = _local(name)
        if name == "sheet" and not first:
            first.append(_attr(attrs, "id") or "")
        elif name == "workbookPr":
            date1904.append(attrs.get("date1904", "").lower() in ("1", "true"))

    _parse_whole(archive, book, _parser(on_book))
    by_id, by_type = _relationships(archive, book)
    if not first or first[0] not in by_id:
        raise NotAWorkbook("the workbook has no sheet")
    return (
        by_id[first[0]],
        by_type.get("sharedStrings"),
        by_type.get("styles"),
        bool(date1904 and date1904[0]),
    )


def _shared_strings(archive: zipfile.ZipFile, path: str | None) -> list[str]:
    strings: list[str] = []
    if path is None:
        return strings
    text: list[str] = []
    state = {"t": False, "phonetic": 0}

    def start(name: str, _: dict[str, str]) -> None:
        name = _local(name)
        if name == "si":
            text.clear()
        elif name == "t":
            state["t"] = True
        elif name == "rPh":
            state["phonetic"] += 1

    def end(name: str) -> None:
        name = _local(name)
        if name == "si":
            strings.append("".join(text))
        elif name == "t":
            state["t"] = False
        elif name == "rPh":
            state["phonetic"] -= 1

    parser = _parser(start, end)
    parser.CharacterDataHandler = lambda data: (
        text.append(data) if state["t"] and not state["phonetic"] else None
    )
    _parse_whole(archive, path, parser)
    return strings


def _date_styles(archive: zipfile.ZipFile, path: str | None) -> set[int]:
    if path is None:
        return set()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    inside = {"cellXfs": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        name = _local(name)
        if name == "numFmt":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif name == "cellXfs":
            inside["cellXfs"] = True
        elif name == "xf" and inside["cellXfs"]:
            xfs.append(int(attrs.get("numFmtId", "0")))

    def end(name: str) -> None:
        if _local(name) == "cellXfs":
            inside["cellXfs"] = False

    _parse_whole(archive, path, _parser(start, end))
    found = set()
    for index, fmt in enumerate(xfs):
        code = custom.get(fmt) or BUILTIN_FORMATS.get(fmt)
        if code and is_date_format(code):
            found.add(index)
    return found


DIGITS = "0123456789"


class _Columns(dict[str, int]):
    """'C' -> 2 (0-based), computed once a letter group."""

    def __missing__(self, letters: str) -> int:
        number = 0
        for char in letters:
            if not ("A" <= char.upper() <= "Z"):
                raise NotAWorkbook(f"bad cell reference {letters!r}")
            number = number * 26 + ord(char.upper()) - 64
        self[letters] = number - 1
        return number - 1


def first_sheet_rows(archive: zipfile.ZipFile) -> Iterator[tuple[int, list[object]]]:
    """Every row the first sheet stores, numbered as Excel numbers them (from 1)."""
    sheet, strings_path, styles_path, date1904 = _parts(archive)
    strings = _shared_strings(archive, strings_path)
    dates = _date_styles(archive, styles_path)
    epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
    columns = _Columns()
    done: list[tuple[int, list[object]]] = []
    row: list[object] = []
    text: list[str] = []
    number, column, kind, is_date, inside, phonetic = 0, -1, "n", False, False, 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal number, column, kind, is_date, inside, phonetic
        if ":" in name:
            name = name.partition(":")[2]
        if name == "c":
            ref = attrs.get("r")
            column = columns[ref.rstrip(DIGITS)] if ref else column + 1
            kind = attrs.get("t", "n")
            is_date = int(attrs.get("s", "0")) in dates
            text.clear()
        elif name == "v" or name == "t":
            inside = True
        elif name == "row":
            ref = attrs.get("r")
            number = int(ref) if ref else number + 1
            column = -1
            row.clear()
        elif name == "rPh":
            phonetic += 1

    def end(name: str) -> None:
        nonlocal inside, phonetic
        if ":" in name:
            name = name.partition(":")[2]
        if name == "v" or name == "t":
            inside = False
        elif name == "c":
            if column >= len(row):
                row.extend([None] * (column + 1 - len(row)))
            row[column] = _value(kind, "".join(text), is_date, strings, epoch)
        elif name == "row":
            done.append((number, row[:]))
        elif name == "rPh":
            phonetic -= 1

    def chars(data: str) -> None:
        if inside and not phonetic:
            text.append(data)

    parser = _parser(start, end)
    parser.CharacterDataHandler = chars
    with archive.open(sheet) as source:
        while chunk := source.read(CHUNK):
            parser.Parse(chunk, False)
            yield from done
            done.clear()
        parser.Parse(b"", True)
        yield from done


def _value(kind: str, raw: str, is_date: bool, strings: list[str], epoch: Any) -> object:
    if kind == "s":
        return strings[int(raw)] if raw else None
    if kind in ("inlineStr", "str", "e"):
        return raw
    if not raw:
        return None
    if kind == "b":
        return raw in ("1", "true")
    if kind == "d":
        return datetime.fromisoformat(raw.rstrip("Z"))
    number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
    if is_date:
        return from_excel(number, epoch)
    return number
