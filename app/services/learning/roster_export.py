"""Roster exports that are safe to open in a spreadsheet.

CSV in UTF-8 with a BOM (Excel then reads the accents right) and ``,`` as the delimiter
(the RFC 4180 one; Excel in an Indonesian locale splits it with Data > From Text/CSV),
CRLF line ends; XLSX with openpyxl ``write_only``, text as text (an 18-digit NIP never
becomes 1.98501E+17) and dates as dates. A text cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's CSV-injection
advice) so a spreadsheet never runs it as a formula; reading a roster strips that ``'``
again, so an export imports back unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run (OWASP)


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
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
