"""A certificate as a printable A4 PDF (fpdf2) and its QR code (segno).

The PDF embeds DejaVu Sans (Debian's fonts-dejavu-core, ``BANGKOM_CERTIFICATE_FONT_DIR``):
the PDF core fonts know Latin-1 only, and Indonesian names need more (``Ṣ``, ``’``, ``ā``).
Without the fonts the PDF is a 503 saying how to install them (``scripts/fonts.sh``),
never a certificate with missing letters. The QR code holds the verification URL. A
re-issue prints the number of the certificate it replaces (the number only: the old
verification code stays with its holder); a revoked and re-issued one, its successor's.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from app.core import i18n
from app.core.config import get_settings
from app.core.errors import ProblemError
from app.models.certificate import Certificate

if TYPE_CHECKING:
    import segno

i18n.MESSAGES.update(
    {
        "certificate_font_missing": {
            "en": ("Certificate font missing", "The server cannot draw certificate PDFs yet."),
            "id": ("Fon sertifikat tidak ada", "Server belum dapat membuat PDF sertifikat."),
        },
    }
)

FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
TITLES = {"training": "SURAT TANDA TAMAT PELATIHAN"}


# The scripts a name on a certificate is written in: Latin with every extension and
# combining accent (Indonesian names, Javanese and Balinese romanisations, Arabic-derived
# transliterations such as Ṣāliḥ), Greek and Cyrillic, and punctuation (’, –, “ ”).
KEEP = (
    (0x20, 0x7E), (0xA0, 0x24F), (0x250, 0x36F), (0x370, 0x4FF),
    (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20BF), (0x2100, 0x214F),
)  # fmt: skip


@lru_cache(maxsize=4)
def _reduced(source: str, mtime: float) -> str:
    """DejaVu cut to KEEP, once per font file (shared by processes via the temp folder).

    The whole DejaVu Sans has ~6,000 glyphs: fpdf2 parsed and subset both files on every
    PDF, ~1.2 s a certificate on a busy 2-core machine; cut to ~1,500 glyphs it is ~0.2 s
    (figures in the report of this change, single runs)."""
    from fontTools import subset

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "FFTM NOT subset"
    digest = hashlib.sha256(f"{source}:{mtime}:{KEEP}".encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "bangkom-fonts"
    target = folder / f"{Path(source).stem}-{digest}.ttf"
    if target.is_file():
        return str(target)
    folder.mkdir(exist_ok=True)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for low, high in KEEP for c in range(low, high + 1)])
    subsetter.subset(font)
    partial = folder / f".{target.name}.{os.getpid()}"
    subset.save_font(font, str(partial), options)
    os.replace(partial, target)  # atomic: a concurrent reader sees the whole file or none
    return str(target)


def font_files() -> dict[str, Path]:
    """The TTF files, or 503 naming what to install when one is missing."""
    folder = Path(get_settings().certificate_font_dir)
    files = {style: folder / name for style, name in FONTS.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise ProblemError(
            503,
            "certificate_font_missing",
            f"The certificate font is missing ({', '.join(missing)}): install Debian's "
            "fonts-dejavu-core (scripts/fonts.sh) or set BANGKOM_CERTIFICATE_FONT_DIR.",
            detail_id=f"Fon sertifikat tidak ditemukan ({', '.join(missing)}): pasang paket "
            "Debian fonts-dejavu-core (scripts/fonts.sh) atau atur BANGKOM_CERTIFICATE_FONT_DIR.",
        )
    return files


def _date_id(day: date) -> str:
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def _period(start: date, end: date) -> str:
    if start == end:
        return _date_id(start)
    return f"{_date_id(start)} s.d. {_date_id(end)}"


def _decimal_id(value: Decimal, places: int) -> str:
    return f"{value:.{places}f}".replace(".", ",")


def jp_text(jp_halves: int) -> str:
    jp = Decimal(jp_halves) / 2
    return _decimal_id(jp, 0 if jp == jp.to_integral_value() else 1) + " JP"


def spaced_nip(number: str | None) -> str | None:
    """18 digits written as people write them: 19800101 200501 1 001."""
    if number is None or len(number) != 18:
        return number
    return f"{number[:8]} {number[8:14]} {number[14]} {number[15:]}"


def qr(cert: Certificate) -> segno.QRCode:
    import segno  # here, not at the top: an API worker that never draws a QR code saves its
    # 1.4 MB (segno and the xml package it loads), which counts in the 150 MB budget

    return segno.make(cert.verification_url, error="m", micro=False)


def qr_svg(cert: Certificate) -> bytes:
    out = io.BytesIO()
    qr(cert).save(out, kind="svg", scale=4, border=4, title=f"Verifikasi {cert.number}")
    return out.getvalue()


def qr_png(cert: Certificate, scale: int = 6) -> bytes:
    out = io.BytesIO()
    qr(cert).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def pdf_bytes(
    cert: Certificate, *, replaces: str | None = None, replaced_by: str | None = None
) -> bytes:
    """``replaces`` / ``replaced_by``: the numbers of the linked certificates
    (``certificate_reads.linked_numbers``)."""
    # imported here: fpdf2 (with fontTools) is ~30 MB of every worker's memory, and most
    # workers never render a PDF (bench/scale.py measures a worker's peak RSS, target 150 MB)
    from fpdf import FPDF

    files = font_files()
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_title(f"{cert.number} {cert.holder_name}")
    pdf.set_author(cert.issuer_name)
    pdf.set_auto_page_break(False)
    for style, path in files.items():
        pdf.add_font("DejaVu", style, _reduced(str(path), path.stat().st_mtime))
    pdf.add_page()
    pdf.set_draw_color(30, 60, 110)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, 281, 194)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, 275, 188)

    def line(text: str, size: float, style: str = "", height: float = 8) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(0, height, text, align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.set_margins(22, 18, 22)
    pdf.set_y(20)
    line(cert.issuer_name.upper(), 13, "B")
    pdf.ln(3)
    line(TITLES.get(cert.course_kind, "SERTIFIKAT"), 22, "B", 11)
    line(f"Nomor: {cert.number}", 11)
    if replaces:
        line(
            f"Menggantikan sertifikat nomor {replaces} / Replaces certificate number {replaces}",
            9,
            height=5,
        )
    pdf.ln(4)
    line("diberikan kepada", 11)
    line(cert.holder_name, 20, "B", 11)
    details = [
        (cert.holder_id_kind or "", spaced_nip(cert.holder_id_number)),
        ("Pangkat/Golongan", cert.holder_rank),
        ("Jabatan", cert.holder_position),
        ("Instansi", cert.holder_agency_name),
    ]
    pdf.set_font("DejaVu", "", 11)
    for label, value in details:
        if label and value:
            pdf.set_x(80)
            pdf.cell(45, 6.5, label)
            pdf.cell(0, 6.5, f": {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    line("telah mengikuti", 11)
    line(f"{cert.course_title} {cert.cohort_name} Tahun {cert.cohort_year}", 14, "B")
    place = f" di {cert.place}" if cert.place else ""
    line(
        f"yang diselenggarakan oleh {cert.issuer_name} pada {_period(cert.starts_on, cert.ends_on)}"
        f"{place}, sebanyak {jp_text(cert.jp_halves)}",
        11,
        height=6.5,
    )
    if cert.score_centi is not None:
        grade = f" ({cert.grade})" if cert.grade else ""
        line(f"dengan nilai {_decimal_id(Decimal(cert.score_centi) / 100, 2)}{grade}", 11)

    pdf.image(io.BytesIO(qr_png(cert, scale=8)), x=240, y=150, w=38, h=38)
    pdf.set_xy(22, 172)
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(
        0, 4.5, f"Diterbitkan {_date_id(cert.issued_at.date())}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.cell(0, 4.5, "Keaslian dapat diperiksa dengan memindai kode QR atau membuka:")
    pdf.ln(4.5)
    pdf.cell(0, 4.5, cert.verification_url)
    if cert.revoked_at is not None:
        pdf.set_text_color(190, 20, 20)
        pdf.set_font("DejaVu", "B", 30)
        pdf.set_xy(22, 145)
        pdf.cell(0, 15, "DICABUT / REVOKED", align="C")
        if replaced_by:
            pdf.set_font("DejaVu", "B", 11)
            pdf.set_xy(22, 160)
            pdf.cell(
                0,
                6,
                f"Digantikan oleh sertifikat nomor {replaced_by} / "
                f"Replaced by certificate number {replaced_by}",
                align="C",
            )
        pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())
