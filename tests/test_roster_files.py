"""Roster files as people really save them: CSV from Excel and LibreOffice in an
Indonesian locale, .xlsx workbooks with numeric NIPs and Excel dates; and exports that a
spreadsheet opens safely. Pure functions: no database, no server."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from app.core.errors import ProblemError
from app.services.learning.roster_files import (
    XLSX_TYPE,
    ParsedRoster,
    parse_roster,
    sniff_delimiter,
    write_roster_csv,
    write_roster_xlsx,
)

NIP_A = "198501012010011001"
NIP_B = "199002152015032002"
NIP_C = "197712312000121003"


def _problem(data: bytes, content_type: str = "text/csv", **kw: Any) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        parse_roster(data, content_type, **kw)
    problem = caught.value
    assert problem.detail and problem.detail_id and problem.detail != problem.detail_id
    return problem


def _xlsx(rows: list[list[Any]], *, date_format: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    if date_format:
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, datetime | date):
                    cell.number_format = date_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _exact_ints(data: bytes, *numbers: int) -> bytes:
    """openpyxl (like Excel) stores an 18-digit int as a double; other tools (pandas with
    xlsxwriter, SIASN exports) write the exact digits, which openpyxl reads back as an int."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                for number in numbers:
                    content = content.replace(repr(float(number)).encode(), str(number).encode())
            target.writestr(item, content)
    return out.getvalue()


def _by_row(roster: ParsedRoster) -> dict[int, dict[str, str | None]]:
    return {r.number: r.fields for r in roster.rows}


def _errors(roster: ParsedRoster) -> dict[int, list[str]]:
    return {r.number: [e.type for e in r.errors] for r in roster.rows if r.errors}


# --- CSV as saved by spreadsheets -------------------------------------------------


def test_excel_indonesian_csv_with_bom_semicolons_crlf_and_quotes_reads_right() -> None:
    text = (
        "Nama;NIP;Email;Instansi;Jabatan;Golongan\r\n"
        f'"Prof. Dr. KH. Said Agil Siroj";{NIP_A};said@example.go.id;"Kementerian; Agama";'
        '"Analis\r\nKebijakan";IV/e\r\n'
        f"Sukarno;{NIP_B};;BKN;Pranata Komputer;III/a\r\n"
    )
    roster = parse_roster(b"\xef\xbb\xbf" + text.encode(), "text/csv; charset=utf-8")
    assert roster.format == "csv" and roster.delimiter == ";"
    assert roster.columns["name"] == "Nama" and roster.unknown_columns == []
    rows = _by_row(roster)
    assert rows[2] == {
        "name": "Prof. Dr. KH. Said Agil Siroj",
        "nip": NIP_A,
        "email": "said@example.go.id",
        "agency": "Kementerian; Agama",
        "position_title": "Analis\r\nKebijakan",
        "rank": "IV/e",
    }
    # the quoted line break is one spreadsheet row: the next learner is row 3
    assert rows[3]["name"] == "Sukarno" and rows[3]["email"] is None
    assert _errors(roster) == {}


def test_comma_csv_without_bom_and_lf_line_ends() -> None:
    data = f'nip,name,"position title"\n{NIP_A},Ani,"Analis, Ahli Muda"\n'.encode()
    roster = parse_roster(data, "text/csv")
    assert roster.delimiter == ","
    assert _by_row(roster)[2] == {
        "nip": NIP_A,
        "name": "Ani",
        "position_title": "Analis, Ahli Muda",
    }


def test_delimiter_is_counted_outside_quotes() -> None:
    assert sniff_delimiter('"nama; lengkap; gelar",nip,email') == ","
    assert sniff_delimiter('nama;nip;"email, kantor"') == ";"


def test_headers_match_aliases_in_any_case_and_spacing() -> None:
    data = (
        "NO. HP;TANGGAL LAHIR;Gelar_Depan;gelar  belakang;Unit Kerja;jenis-kelamin;NI PPPK;"
        "Jenis ASN\n"
        f"0812 3456 7890;17/08/1985;Dr.;S.Sos., M.H.;Biro Umum;P;{NIP_C};PPPK\n"
    ).encode()
    roster = parse_roster(data, "text/csv")
    assert _by_row(roster)[2] == {
        "phone": "0812 3456 7890",
        "birth_date": "1985-08-17",
        "front_title": "Dr.",
        "back_title": "S.Sos., M.H.",
        "work_unit": "Biro Umum",
        "gender": "P",
        "ni_pppk": NIP_C,
        "asn_type": "PPPK",
    }


def test_nip_with_spaces_is_normalised() -> None:
    data = f"nip;nama\n19850101 201001 1 001;Ani\n{NIP_B[:8]}\u00a0{NIP_B[8:]};Budi\n".encode()
    roster = parse_roster(data, "text/csv")
    assert [r.fields["nip"] for r in roster.rows] == [NIP_A, NIP_B]
    assert _errors(roster) == {}


def test_nip_in_scientific_notation_is_refused_naming_the_row_and_the_fix() -> None:
    data = f"nama;nip\nAni;{NIP_A}\nBudi;1,98501E+17\nCici;1.98501E+17\n".encode()
    roster = parse_roster(data, "text/csv")
    assert _errors(roster) == {3: ["nip_scientific"], 4: ["nip_scientific"]}
    error = roster.rows[1].errors[0].as_error(roster.rows[1].number)
    assert error["loc"] == ["body", 3, "nip"]
    assert "Text" in error["msg"] and "Teks" in error["msg_id"]
    assert roster.rows[1].fields["nip"] is None


def test_row_errors_name_wrong_nips_missing_ids_duplicates_and_dates_in_both_languages() -> None:
    data = (
        "nip,nama,tanggal lahir\n"
        f"{NIP_A},Ani,1985-01-01\n"
        "12345,Budi,\n"
        ",Cici,\n"
        f"{NIP_A},Ani lagi,\n"
        f"{NIP_B},Dodi,31/02/1990\n"
    ).encode()
    roster = parse_roster(data, "text/csv")
    assert _errors(roster) == {
        3: ["nip_invalid"],
        4: ["missing"],
        5: ["duplicate_row"],
        6: ["date_format"],
    }
    duplicate = roster.rows[3].errors[0]
    assert "row 2" in duplicate.msg and "baris 2" in duplicate.msg_id
    for row in roster.rows:
        for e in row.errors:
            assert e.msg and e.msg_id and e.msg != e.msg_id


def test_unknown_columns_are_a_warning_in_both_languages_not_an_error() -> None:
    data = f"No;nip;nama;Keterangan\n1;{NIP_A};Ani;hadir\n".encode()
    roster = parse_roster(data, "text/csv")
    assert roster.unknown_columns == ["No", "Keterangan"]
    assert _errors(roster) == {} and set(roster.rows[0].fields) == {"nip", "name"}
    [warning] = roster.warnings
    assert "'Keterangan'" in warning["msg"] and "'Keterangan'" in warning["msg_id"]


def test_title_lines_and_blank_rows_keep_spreadsheet_row_numbers() -> None:
    data = (
        "Daftar Peserta Pelatihan Dasar CPNS;;\n"
        ";;\n"
        "nip;nama;email\n"
        f"{NIP_A};Ani;\n"
        ";;\n"
        "12;Budi;\n"
        ";;\n"
    ).encode()
    roster = parse_roster(data, "text/csv")
    assert roster.header_row == 3
    assert [r.number for r in roster.rows] == [4, 6]
    assert _errors(roster) == {6: ["nip_invalid"]}


def test_our_own_export_imports_back_unchanged() -> None:
    rows = [
        {"nip": NIP_A, "name": '=HYPERLINK("http://x")', "email": "a@example.go.id"},
        {"nip": NIP_B, "name": "-Budi", "email": None},
    ]
    exported = write_roster_csv(rows, ["nip", "name", "email"])
    roster = parse_roster(exported, "text/csv")
    assert [r.fields for r in roster.rows] == rows


# --- whole-file problems ------------------------------------------------------------


def test_windows_1252_csv_is_a_422_saying_how_to_save_as_csv_utf8() -> None:
    data = f"nama;nip\nAni;{NIP_A}\nJos\xe9 Ca\xf1o;{NIP_B}\n".encode("cp1252")
    problem = _problem(data)
    assert problem.status == 422 and problem.code == "roster_unreadable"
    assert problem.detail is not None and problem.detail_id is not None
    assert "CSV UTF-8" in problem.detail and "CSV UTF-8" in problem.detail_id
    assert "line 3" in problem.detail and "baris 3" in problem.detail_id


def test_utf16_unicode_text_is_refused_with_the_same_fix() -> None:
    problem = _problem(f"nip\tnama\n{NIP_A}\tAni\n".encode("utf-16"))
    assert problem.status == 422 and "CSV UTF-8" in (problem.detail or "")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b" ;; \n;;\n"])
def test_an_empty_file_is_a_422(data: bytes) -> None:
    problem = _problem(data)
    assert problem.status == 422 and problem.code == "roster_unreadable"


def test_a_header_without_rows_is_a_422() -> None:
    problem = _problem(b"nip;nama\r\n;\r\n")
    assert problem.status == 422 and "no learner rows" in (problem.detail or "")


def test_no_nip_column_lists_the_accepted_header_names() -> None:
    problem = _problem(b"nama;email\nAni;a@example.go.id\n")
    assert problem.status == 422
    for name in ("'nip'", "'ni pppk'", "'nomor induk pegawai'"):
        assert name in (problem.detail or "") and name in (problem.detail_id or "")


def test_pangkat_beside_golongan_keeps_golongan_and_warns_in_both_languages() -> None:
    data = f"nip;Pangkat;Golongan;Email;EMAIL\n{NIP_A};Penata;III/c;a@x.go.id;b@x.go.id\n"
    roster = parse_roster(data.encode(), "text/csv")
    assert _by_row(roster) == {2: {"nip": NIP_A, "rank": "III/c", "email": "a@x.go.id"}}
    assert roster.ignored_columns == {"Pangkat": "Golongan", "EMAIL": "Email"}
    first = roster.warnings[0]
    assert first["type"] == "duplicate_column" and "'Pangkat'" in first["msg"]
    assert "'Golongan'" in first["msg_id"] and first["msg"] != first["msg_id"]


def test_an_unclosed_quote_is_a_422_naming_the_line() -> None:
    problem = _problem(f'nip;nama\n{NIP_A};"Ani\n{NIP_B};Budi\n'.encode())
    assert problem.status == 422 and "quote" in (problem.detail or "")


def _csv_rows(count: int) -> bytes:
    lines = ["nip;nama;email"]
    lines += [f"19850101201001{i:04d};Peserta {i};p{i}@example.go.id" for i in range(count)]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_ten_thousand_rows_are_read_and_one_more_is_a_413_naming_the_limit() -> None:
    roster = parse_roster(_csv_rows(10_000), "text/csv")
    assert len(roster.rows) == 10_000 and roster.rows[-1].number == 10_001
    problem = _problem(_csv_rows(10_001))
    assert problem.status == 413 and problem.code == "roster_too_many_rows"
    assert "10,000" in (problem.detail or "") and "10,000" in (problem.detail_id or "")
    assert problem.extra == {"max_rows": 10_000}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b'[{"nip": "1"}]', "application/json"),
        (b"%PDF-1.7", "application/pdf"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "application/vnd.ms-excel"),
    ],
)
def test_a_file_that_is_not_csv_or_xlsx_is_a_415(data: bytes, content_type: str) -> None:
    problem = _problem(data, content_type)
    assert problem.status == 415 and "xlsx" in (problem.detail or "")


def test_a_zip_that_is_not_a_workbook_is_a_415() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert _problem(out.getvalue(), XLSX_TYPE).status == 415
    assert _problem(b"PK\x03\x04 broken", "application/octet-stream").status == 415


def test_a_damaged_xlsx_body_is_a_4xx() -> None:
    problem = _problem(b"not a zip at all", XLSX_TYPE)
    assert problem.status == 422 and ".xlsx" in (problem.detail or "")


# --- XLSX ------------------------------------------------------------------------


def test_xlsx_numeric_nips_exact_ints_pass_floats_are_refused() -> None:
    data = _xlsx(
        [
            ["Nama", "NIP", "Tanggal Lahir"],
            ["Ani", int(NIP_A), datetime(1985, 1, 1)],
            ["Budi", float(NIP_B), date(1990, 2, 15)],
            ["Cici", f"{NIP_C[:8]} {NIP_C[8:14]} {NIP_C[14]} {NIP_C[15:]}", None],
            [None, None, None],
        ],
        date_format="dd/mm/yyyy",
    )
    roster = parse_roster(_exact_ints(data, int(NIP_A)), XLSX_TYPE)
    assert roster.format == "xlsx" and roster.delimiter is None
    rows = _by_row(roster)
    assert rows[2] == {"name": "Ani", "nip": NIP_A, "birth_date": "1985-01-01"}
    assert rows[3]["birth_date"] == "1990-02-15" and rows[3]["nip"] is None
    assert rows[4]["nip"] == NIP_C
    assert _errors(roster) == {3: ["nip_scientific"]}


def test_xlsx_is_sniffed_whatever_the_declared_type() -> None:
    data = _xlsx([["nip", "email"], [NIP_A, "a@example.go.id"]])
    for content_type in ("application/octet-stream", "text/csv", ""):
        assert parse_roster(data, content_type).rows[0].fields["nip"] == NIP_A


def test_xlsx_dates_without_a_date_format_and_text_dates_are_read() -> None:
    data = _xlsx([["nip", "tgl lahir"], [NIP_A, 31048], [NIP_B, "15/02/1990"], [NIP_C, "x"]])
    roster = parse_roster(data, XLSX_TYPE)
    assert [r.fields["birth_date"] for r in roster.rows] == ["1985-01-01", "1990-02-15", None]
    assert _errors(roster) == {4: ["date_format"]}


def test_xlsx_numbers_in_text_fields_lose_no_trailing_zero_point() -> None:
    roster = parse_roster(_xlsx([["nip", "no hp"], [NIP_A, 81234567890.0]]), XLSX_TYPE)
    assert roster.rows[0].fields["phone"] == "81234567890"


def test_xlsx_over_the_row_limit_is_a_413() -> None:
    data = _xlsx([["nip"], *([[f"19850101201001{i:04d}"] for i in range(6)])])
    assert len(parse_roster(data, XLSX_TYPE, max_rows=6).rows) == 6
    problem = _problem(data, XLSX_TYPE, max_rows=5)
    assert problem.status == 413 and "5" in (problem.detail or "")


def test_xlsx_that_unpacks_too_large_is_a_413() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b"\0" * (65 * 1024 * 1024))
    assert len(out.getvalue()) < 1024 * 1024
    assert _problem(out.getvalue(), XLSX_TYPE).status == 413


# --- export ----------------------------------------------------------------------

DANGEROUS = [
    {"nip": NIP_A, "name": '=HYPERLINK("http://evil.example","x")', "email": "+62 812"},
    {"nip": NIP_B, "name": "-2+3", "email": "@SUM(A1)"},
    {"nip": NIP_C, "name": "\tTab", "email": "\rcr"},
]


def test_csv_export_neutralises_formula_cells_and_opens_as_utf8_in_excel() -> None:
    rows = [*DANGEROUS, {"nip": NIP_A, "name": "Siti Nur'aini", "email": None, "x": 1}]
    data = write_roster_csv(rows, ["nip", "name", "email", "birth_date"])
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert read[0] == ["nip", "name", "email", "birth_date"]
    cells = [c for row in read[1:] for c in row]
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert read[1][1] == '\'=HYPERLINK("http://evil.example","x")' and read[1][2] == "'+62 812"
    assert read[4] == [NIP_A, "Siti Nur'aini", "", ""]


def test_xlsx_export_never_writes_a_formula_and_keeps_nips_as_text() -> None:
    rows = [
        *DANGEROUS,
        {"nip": NIP_A, "name": "Ani", "email": None, "birth_date": date(1985, 1, 1)},
    ]
    data = write_roster_xlsx(rows, ["nip", "name", "email", "birth_date"])
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]  # not data_only: formulas would show
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    types = {c.data_type for row in sheet.iter_rows() for c in row if c.value is not None}
    assert "f" not in types
    assert values[1][:3] == [NIP_A, "'" + DANGEROUS[0]["name"], "'+62 812"]
    assert values[2][1:3] == ["'-2+3", "'@SUM(A1)"]
    assert values[4][0] == NIP_A and isinstance(values[4][0], str)
    assert values[4][3] == datetime(1985, 1, 1)
    back = parse_roster(data, XLSX_TYPE)
    assert [r.fields["name"] for r in back.rows][:2] == [DANGEROUS[0]["name"], "-2+3"]


# --- workbooks from other tools (hand-written parts, as LibreOffice, WPS, Google write) --

_NS = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _package(sheet: str, *, strings: str = "", styles: str = "", book_pr: str = "") -> bytes:
    """A minimal .xlsx: prefixed namespace, absolute and relative targets, no dimension,
    and the content types every tool writes (openpyxl finds the workbook part by them)."""
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{_CT}"><Default Extension="xml" '
        'ContentType="application/xml"/><Override PartName="/xl/book.xml" ContentType='
        f'"{_SML}.sheet.main+xml"/><Override PartName="/xl/strings.xml" ContentType='
        f'"{_SML}.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships><Relationship Id="r1" Type="{_R}/officeDocument" '
        'Target="/xl/book.xml"/></Relationships>',
        "xl/book.xml": f'<x:workbook {_NS} xmlns:r="{_R}">{book_pr}<x:sheets>'
        '<x:sheet name="Peserta" sheetId="7" r:id="rS"/><x:sheet name="B" sheetId="1" '
        'r:id="rT"/></x:sheets></x:workbook>',
        "xl/_rels/book.xml.rels": f'<Relationships><Relationship Id="rT" Type="{_R}/worksheet" '
        f'Target="worksheets/other.xml"/><Relationship Id="rS" Type="{_R}/worksheet" '
        f'Target="/xl/worksheets/roster.xml"/><Relationship Id="rX" Type="{_R}/sharedStrings" '
        f'Target="strings.xml"/><Relationship Id="rY" Type="{_R}/styles" Target="styles.xml"/>'
        "</Relationships>",
        "xl/worksheets/roster.xml": f"<x:worksheet {_NS}><x:sheetData>{sheet}</x:sheetData>"
        "</x:worksheet>",
        "xl/worksheets/other.xml": f"<x:worksheet {_NS}><x:sheetData/></x:worksheet>",
        "xl/strings.xml": f"<x:sst {_NS}>{strings}</x:sst>",
        "xl/styles.xml": f"<x:styleSheet {_NS}>{styles}</x:styleSheet>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>' + text)
    return out.getvalue()


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")  # openpyxl's note
def test_workbooks_from_other_tools_read_the_first_tab_with_their_cell_kinds() -> None:
    strings = (
        "<x:si><x:t>nip</x:t></x:si><x:si><x:t>Nama</x:t></x:si>"
        "<x:si><x:r><x:t>Siti </x:t></x:r><x:r><x:t>Nur'aini</x:t></x:r>"
        '<x:rPh sb="0" eb="4"><x:t>phonetic</x:t></x:rPh></x:si>'
    )
    styles = (
        '<x:numFmts><x:numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></x:numFmts>'
        '<x:cellStyleXfs><x:xf numFmtId="14"/></x:cellStyleXfs>'
        '<x:cellXfs><x:xf numFmtId="0"/><x:xf numFmtId="164"/><x:xf numFmtId="14"/></x:cellXfs>'
    )
    sheet = (
        '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c>'
        '<x:c r="C1" t="inlineStr"><x:is><x:t>Tanggal Lahir</x:t></x:is></x:c>'
        '<x:c r="D1" t="inlineStr"><x:is><x:t>Jenis ASN</x:t></x:is></x:c></x:row>'
        # no r attributes on these cells: each follows the one before
        f'<x:row r="3"><x:c t="str"><x:f>A9</x:f><x:v>{NIP_A}</x:v></x:c>'
        '<x:c t="s"><x:v>2</x:v></x:c><x:c s="1"><x:v>31048</x:v></x:c>'
        '<x:c t="b"><x:v>1</x:v></x:c></x:row>'
        f'<x:row><x:c r="A4"><x:v>{NIP_B}</x:v></x:c><x:c r="C4" s="2"><x:v>32919</x:v></x:c>'
        '<x:c r="D4" t="e"><x:v>#N/A</x:v></x:c></x:row>'
    )
    roster = parse_roster(_package(sheet, strings=strings, styles=styles), XLSX_TYPE)
    assert _by_row(roster) == {
        3: {"nip": NIP_A, "name": "Siti Nur'aini", "birth_date": "1985-01-01", "asn_type": "true"},
        4: {"nip": NIP_B, "name": None, "birth_date": "1990-02-15", "asn_type": "#N/A"},
    }
    # the 1904 calendar (old Mac Excel) moves every serial by 1,462 days
    mac = _package(sheet, strings=strings, styles=styles, book_pr='<x:workbookPr date1904="1"/>')
    assert parse_roster(mac, XLSX_TYPE).rows[0].fields["birth_date"] == "1989-01-02"


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
def test_a_workbook_with_a_doctype_is_refused_without_expanding_entities(encoding: str) -> None:
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    data = _package('<x:row r="1"><x:c t="inlineStr"><x:is><x:t>nip</x:t></x:is></x:c></x:row>')
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            text = source.read(item.filename)
            if item.filename == "xl/strings.xml":  # an XML parser reads UTF-16 parts too
                xml = text.decode().replace("?>", "?>" + bomb, 1).replace("UTF-8", encoding)
                text = xml.encode(encoding.lower().replace("-", "_"))
            target.writestr(item, text)
    assert _problem(out.getvalue(), XLSX_TYPE).status == 415


def test_a_word_document_is_not_a_roster() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "_rels/.rels",
            f'<Relationships><Relationship Id="r1" Type="{_R}/officeDocument" '
            'Target="word/document.xml"/></Relationships>',
        )
        archive.writestr("word/document.xml", "<document/>")
        archive.writestr("word/_rels/document.xml.rels", "<Relationships/>")
    assert _problem(out.getvalue(), "application/octet-stream").status == 415


def test_a_date_in_the_nip_column_is_no_nip_and_messages_quote_cells_short() -> None:
    data = _xlsx([["nip", "tanggal lahir"], [datetime(1985, 1, 1), "1985-1-5"], ["9" * 500, None]])
    roster = parse_roster(data, XLSX_TYPE)
    assert _errors(roster) == {2: ["nip_invalid"], 3: ["nip_invalid"]}
    assert roster.rows[0].fields["birth_date"] == "1985-01-05"
    long = roster.rows[1].errors[0]
    assert len(long.msg) < 200 and len(long.msg_id) < 200


def test_excel_sep_hint_line_and_a_title_line_without_delimiters() -> None:
    hinted = parse_roster(f"sep=;\r\nnip;nama\r\n{NIP_A};Ani, S.Sos.\r\n".encode(), "text/csv")
    assert hinted.delimiter == ";" and hinted.header_row == 1
    assert _by_row(hinted) == {2: {"nip": NIP_A, "name": "Ani, S.Sos."}}
    titled = parse_roster(f"Daftar Peserta\nnip;nama\n{NIP_A};Ani, S.Sos.\n".encode(), "text/csv")
    assert titled.delimiter == ";" and _by_row(titled) == {3: {"nip": NIP_A, "name": "Ani, S.Sos."}}


def test_learner_columns_take_pppk_and_ext_keys_checked_by_the_one_key_rule() -> None:
    data = (
        "learner key;nip;ni pppk\n"
        "ext:bkpsdm-kab-tangerang:TAMU-001;;\n"
        f";pppk:{NIP_C};\n"
        f";;{NIP_C[:8]} {NIP_C[8:]}\n"
        f"pppk:{NIP_A};;\n"
        "ext:Bukan Slug:X;;\n"
        ";198001012031011001;\n"
        ";;12345\n"
    ).encode()
    roster = parse_roster(data, "text/csv")
    fields = [r.fields for r in roster.rows]
    assert fields[0]["learner_key"] == "ext:bkpsdm-kab-tangerang:TAMU-001"
    assert fields[1]["nip"] == f"pppk:{NIP_C}"
    assert fields[2]["ni_pppk"] == NIP_C  # the column keeps the number
    assert fields[3]["learner_key"] == f"pppk:{NIP_A}"
    assert _errors(roster) == {
        4: ["duplicate_row"],  # row 3's pppk: key, written in the NI PPPK column
        6: ["nip_invalid"],
        7: ["nip_invalid"],
        8: ["nip_invalid"],
    }
    slug, future, short = (roster.rows[i].errors[0] for i in (4, 5, 6))
    # the messages are the learner API's own (keys.parse_key / nip.check_nip)
    assert "slug" in slug.msg and "slug" in slug.msg_id
    assert "CPNS start 2031-01" in future.msg and "TMT CPNS 2031-01" in future.msg_id
    assert "18 digits" in short.msg and "18 angka" in short.msg_id
    assert (future.field, short.field) == ("nip", "ni_pppk")
