"""How long a 10,000-row roster takes to parse, CSV and XLSX, and how much memory it takes.

    .venv/bin/python bench/roster_parse.py [--rows 10000] [--repeat 5]

Builds realistic files in memory (16 columns, Indonesian headers, NIPs with spaces in
every tenth row): a ';'-delimited CSV with BOM and CRLF as Excel writes it, an .xlsx
with inline strings as openpyxl writes it (our own exports), and the same workbook with
shared strings and the dimension first, as Excel writes it. Parses each ``--repeat``
times with ``parse_roster`` and, for the workbooks, iterates openpyxl ``read_only`` rows
alone too (the library's share of the parse). Prints a Markdown table: file size, best
and median wall time, the peak Python allocation during one parse (tracemalloc; the file
itself excluded), and the load average. Target: well under 1 s for the 10,000-row CSV,
memory proportional to the rows; the workbooks are read by openpyxl (the maintained
library, not a parser of our own) and reported, not held to that target.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `python bench/roster_parse.py` puts bench/ on the path

from app.services.learning.roster_files import XLSX_TYPE, parse_roster  # noqa: E402

HEADERS = [
    "NIP",
    "Nama",
    "Gelar Depan",
    "Gelar Belakang",
    "Email",
    "No HP",
    "Instansi",
    "Unit Kerja",
    "Jabatan",
    "Jenis Jabatan",
    "Golongan",
    "Jenis ASN",
    "Tanggal Lahir",
    "Jenis Kelamin",
    "Referensi",
    "Keterangan",
]


def _row(i: int) -> list[str]:
    nip = f"19850101201001{i % 10_000:04d}"
    if i % 10 == 0:
        nip = f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"
    return [
        nip,
        f"Peserta Pelatihan Nomor {i}",
        "Dr." if i % 7 == 0 else "",
        "S.Sos., M.H.",
        f"peserta{i}@kemenpan.go.id",
        f"0812{i:08d}",
        "Kementerian Pendayagunaan Aparatur Negara dan Reformasi Birokrasi",
        "Biro Sumber Daya Manusia dan Umum",
        "Analis Kebijakan Ahli Muda",
        "Fungsional",
        "III/c",
        "PNS",
        f"{1 + i % 28:02d}/{1 + i % 12:02d}/1985",
        "L" if i % 2 else "P",
        f"EXT-{i}",
        "",
    ]


def build_csv(rows: int) -> bytes:
    lines = [";".join(HEADERS)] + [";".join(_row(i)) for i in range(rows)]
    return b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode()


def build_xlsx(rows: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Peserta")
    sheet.append(HEADERS)
    for i in range(rows):
        sheet.append(_row(i))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_SST = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{}</sst>'
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def build_excel_like(rows: int) -> bytes:
    """The same workbook with shared strings and the dimension first, as Excel saves it."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    for i in range(rows):
        sheet.append(_row(i))
    written = io.BytesIO()
    book.save(written)
    strings: dict[str, int] = {}

    def share(match: re.Match[str]) -> str:
        index = strings.setdefault(match.group(2), len(strings))
        return f'<c r="{match.group(1)}" t="s"><v>{index}</v></c>'

    source, out = zipfile.ZipFile(written), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                inline = r'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t>(.*?)</t></is></c>'
                data = re.sub(inline, share, data.decode()).encode()
            elif item.filename == "[Content_Types].xml":
                override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SST_TYPE}"/>'
                data = data.replace(b"</Types>", override.encode() + b"</Types>")
            elif item.filename == "xl/_rels/workbook.xml.rels":
                rel = f'<Relationship Id="rIdSst" Type="{_SST_REL}" Target="sharedStrings.xml"/>'
                data = data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
            target.writestr(item, data)
        items = "".join(f"<si><t>{text}</t></si>" for text in strings)
        target.writestr("xl/sharedStrings.xml", _SST.format(items))
    return out.getvalue()


def with_openpyxl(data: bytes) -> int:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    count = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return count


def measure(parse: Callable[[], object], repeat: int) -> tuple[float, float, int]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        parse()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    parse()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), statistics.median(times), peak


def _roster(data: bytes, content_type: str, rows: int) -> Callable[[], object]:
    def parse() -> object:
        parsed = parse_roster(data, content_type, max_rows=rows)
        assert len(parsed.rows) == rows and not any(r.errors for r in parsed.rows)
        return parsed

    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"| {args.rows:,} rows, 16 columns | size | best | median | peak memory |")
    print("| --- | ---: | ---: | ---: | ---: |")
    csv_data = build_csv(args.rows)
    inline, shared = build_xlsx(args.rows), build_excel_like(args.rows)
    cases: list[tuple[str, bytes, Callable[[], object]]] = [
        ("CSV (UTF-8 BOM, ';', CRLF)", csv_data, _roster(csv_data, "text/csv", args.rows)),
        ("XLSX, shared strings (Excel)", shared, _roster(shared, XLSX_TYPE, args.rows)),
        ("  same, openpyxl read_only rows only", shared, lambda: with_openpyxl(shared)),
        (
            "XLSX, inline strings (openpyxl, our export)",
            inline,
            _roster(inline, XLSX_TYPE, args.rows),
        ),
        ("  same, openpyxl read_only rows only", inline, lambda: with_openpyxl(inline)),
    ]
    for label, data, parse in cases:
        best, median, peak = measure(parse, args.repeat)
        print(
            f"| {label} | {len(data) / 2**20:.1f} MiB | {best * 1000:.0f} ms "
            f"| {median * 1000:.0f} ms | {peak / 2**20:.1f} MiB |"
        )
    print(
        f"\nload average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
