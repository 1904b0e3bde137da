"""The verification page a person sees after scanning a certificate's QR code.

One self-contained HTML document (inline CSS, no script, no external asset; the route sends
a Content-Security-Policy that allows nothing else), in Indonesian with English beside it.
It shows what the public JSON shows: the printed facts with the NIP masked, whether the
certificate is valid, since when and why it was revoked, and the numbers of the certificate
it replaces or that replaced it (a re-issue). Every value is escaped.
"""

from __future__ import annotations

from html import escape

from app.models.certificate import CertificateVerification
from app.services.learning.certificate_pdf import MONTHS_ID, jp_text

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
margin:0;background:#f3f5f9;color:#1c2430}
main{max-width:44rem;margin:2rem auto;background:#fff;border-radius:10px;
box-shadow:0 1px 4px rgba(0,0,0,.12);overflow:hidden}
header{padding:1.2rem 1.5rem;color:#fff}
header.valid{background:#1b7a3d}header.revoked{background:#b3261e}header.unknown{background:#5b6472}
header h1{margin:0;font-size:1.4rem}header p{margin:.3rem 0 0}
section{padding:1rem 1.5rem}
dl{display:grid;grid-template-columns:minmax(9rem,auto) 1fr;gap:.45rem 1rem;margin:0}
dt{color:#5b6472}dd{margin:0;font-weight:600;overflow-wrap:anywhere}
small{color:#5b6472}.en{color:#5b6472;font-weight:400}
footer{padding:.8rem 1.5rem;background:#f7f8fb;font-size:.85rem;color:#5b6472;
overflow-wrap:anywhere}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="id"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _day(value: object) -> str:
    day = getattr(value, "day", None)
    month = getattr(value, "month", None)
    year = getattr(value, "year", None)
    if day is None or month is None or year is None:
        return escape(str(value))
    return f"{day} {MONTHS_ID[month - 1]} {year}"


def _row(label_id: str, label_en: str, value: str | None) -> str:
    if not value:
        return ""
    return (
        f'<dt>{escape(label_id)} <span class="en">/ {escape(label_en)}</span></dt>'
        f"<dd>{escape(value)}</dd>"
    )


def render(found: CertificateVerification) -> str:
    if found.valid:
        state = "valid"
        heading = "Sertifikat sah"
        issuer = escape(found.issuer)
        sub = (
            f"Diterbitkan oleh {issuer} dan tidak dicabut. "
            f"<span>This certificate was issued by {issuer} and has not been revoked.</span>"
        )
    else:
        state = "revoked"
        heading = "Sertifikat dicabut"
        revoked = found.revocation
        when = _day(revoked.revoked_at) if revoked else ""
        sub = (
            f"Dicabut pada {when}; sertifikat ini tidak berlaku lagi. "
            f"<span>This certificate was revoked on {when}: it is no longer valid.</span>"
        )
        if found.replaced_by:
            successor = escape(found.replaced_by)
            sub += (
                f" Penggantinya: sertifikat nomor {successor}. "
                f"<span>It was replaced by certificate number {successor}.</span>"
            )
    holder = found.holder
    period = _day(found.starts_on)
    if found.ends_on != found.starts_on:
        period += " s.d. " + _day(found.ends_on)
    score = None
    if found.score is not None:
        score = f"{found.score:.2f}".replace(".", ",") + (
            f" ({found.grade})" if found.grade else ""
        )
    rows = "".join(
        [
            _row("Nomor", "Number", found.number),
            _row("Nama", "Name", holder.name),
            _row(holder.id_kind or "NIP", "ID number", holder.id_number),
            _row("Pangkat/Golongan", "Rank", holder.rank),
            _row("Jabatan", "Position", holder.position),
            _row("Instansi", "Agency", holder.agency_name),
            _row("Pelatihan", "Course", found.course_title),
            _row("Angkatan", "Cohort", f"{found.cohort} Tahun {found.year}"),
            _row("Tanggal", "Dates", period),
            _row("Tempat", "Place", found.place),
            _row("Jam pelajaran", "Learning hours", jp_text(int(found.jp * 2))),
            _row("Nilai", "Score", score),
            _row("Penerbit", "Issuer", found.issuer),
            _row("Diterbitkan", "Issued", _day(found.issued_at)),
        ]
    )
    if found.revocation is not None:
        rows += _row("Dicabut", "Revoked", _day(found.revocation.revoked_at))
        rows += _row("Alasan", "Reason", found.revocation.reason)
    rows += _row("Diganti dengan", "Replaced by", found.replaced_by)
    rows += _row("Menggantikan", "Replaces", found.replaces)
    body = (
        f'<header class="{state}"><h1>{heading}</h1><p>{sub}</p></header>'
        f"<section><dl>{rows}</dl></section>"
        "<footer>Data sesuai catatan penerbit. NIP ditampilkan sebagian. "
        "<span class=en>As recorded by the issuer; the NIP is partly hidden. The signed "
        f"record (JWS) and its keys: {escape(found.jwks_url)}</span></footer>"
    )
    return _page(f"{heading}: {found.number}", body)


def render_unknown() -> str:
    body = (
        '<header class="unknown"><h1>Sertifikat tidak ditemukan</h1>'
        "<p>No certificate has this verification code. Check that the address was copied "
        "whole, or scan the QR code again.</p></header>"
        "<section><p>Periksa apakah alamat disalin lengkap, atau pindai ulang kode QR pada "
        "sertifikat.</p></section>"
    )
    return _page("Sertifikat tidak ditemukan", body)
