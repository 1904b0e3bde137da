"""Zoom's participant report (Reports > Usage > Participants > Export) read into attendance.

Pure functions (no database, no HTTP). The file is read as rosters are
(``roster_files.read_csv_lines``: BOM, ``,`` or ``;``, UTF-8). Two shapes exist: the
participant table alone, or (with "Export with meeting data") a meeting summary block
(``Meeting ID, Topic, Start Time, ...``) and a blank line above it; the table is found by
its ``Join Time`` and ``Leave Time`` headers. Each line is one connection: a learner who
rejoined, or joined from two devices, has several lines, possibly overlapping.

Times: ``05/14/2025 08:01:23 AM`` (Zoom's month-first format, with or without seconds,
12- or 24-hour) or ISO 8601. A time with an offset is read as written; one without is in
``zone`` (Zoom writes the account's zone; the caller passes the cohort's unless told).
Day-first dates are not guessed: such lines are listed as ``unreadable_times``.

Matching: by email (case-insensitive) to the learner's email, else by name when exactly
one seated learner has it. Names are compared casefolded, spaces squeezed, academic and
religious titles removed (``Dr.``, ``Hj.``, ``, S.Sos., M.H.``); Zoom's
``Name (Original Name)`` tries the shown name, then the original one. Per learner the
connections are clipped to the session and merged, so overlaps count once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.core.errors import ProblemError
from app.models.attendance import AttendanceStatus, ZoomMatchedBy, ZoomUnmatchedReason
from app.models.types import MAX_YEAR, MIN_YEAR
from app.services.learning.roster_files import MAX_ROWS, read_csv_lines

HEADER_SEARCH_LINES = 30
COLUMNS = {
    "name": ("name (original name)", "name", "user name", "participant", "participant name"),
    "email": ("user email", "email", "participant email"),
    "join": ("join time",),
    "leave": ("leave time",),
    "waiting": ("in waiting room",),
}
_ALIASES = {alias: key for key, names in COLUMNS.items() for alias in names}
_ZOOM_TIME = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?$"
)
# Front titles (with or without their dot); back titles are everything after a comma,
# and trailing dotted abbreviations without one ("Budi Santoso S.Sos").
FRONT_TITLES = frozenset(
    "dr drs dra drg ir prof h hj kh ns apt st hc dr(hc) bpk bapak ibu sdr sdri".split()
)
_DOTTED = re.compile(r"^[^\W\d_]{1,5}\.([^\W\d_]{1,5}\.?)*$")


@dataclass(slots=True)
class ZoomRow:
    line: int
    name: str
    names: tuple[str, ...]  # normalised keys: the shown name, then the original
    email: str | None
    joined: datetime | None
    left: datetime | None
    waiting: bool


@dataclass(slots=True)
class Candidate:
    enrollment_id: str
    email: str | None
    names: tuple[str, ...]


@dataclass(slots=True)
class Person:
    """The lines that went to one enrolment (or to one unmatched participant)."""

    lines: list[int] = field(default_factory=list)
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)
    matched_by: ZoomMatchedBy = ZoomMatchedBy.email
    name: str = ""
    email: str | None = None
    reason: ZoomUnmatchedReason | None = None
    candidates: list[str] = field(default_factory=list)


def name_key(raw: str) -> str:
    """A name as compared: NFKC, casefolded, single spaces, titles and back titles gone."""
    text = unicodedata.normalize("NFKC", raw).casefold().split(",")[0]
    words = text.replace("_", " ").split()
    while words and words[0].rstrip(".") in FRONT_TITLES:
        words.pop(0)
    while len(words) > 1 and "." in words[-1] and _DOTTED.match(words[-1]):
        words.pop()
    return " ".join(words)


def split_name(raw: str) -> tuple[str, ...]:
    """Zoom's ``Shown (Original)``: the keys of both names (shown first), without blanks."""
    shown, original = raw.strip(), None
    found = re.match(r"^(.*\S)\s*\(([^()]+)\)$", shown)
    if found:
        shown, original = found.group(1), found.group(2)
    keys = [name_key(shown)] + ([name_key(original)] if original else [])
    return tuple(dict.fromkeys(k for k in keys if k))


def _unreadable(en: str, id_: str) -> ProblemError:
    return ProblemError(422, "zoom_report_unreadable", en, detail_id=id_)


def parse_time(raw: str, zone: ZoneInfo) -> datetime | None:
    """Zoom's ``MM/DD/YYYY hh:mm[:ss] [AM|PM]`` or ISO 8601; None when neither reads.
    (A regular expression, not ``strptime``: 10,000 lines took 2 s with it, ~0.1 s now.)"""
    text = raw.strip()
    found = _ZOOM_TIME.match(text)
    try:
        if found:
            month, day, year, hour, minute, second, half = found.groups()
            h = int(hour)
            if half:
                if not 1 <= h <= 12:
                    return None
                h = h % 12 + (12 if half.upper() == "PM" else 0)
            parsed = datetime(int(year), int(month), int(day), h, int(minute), int(second or 0))
        elif text[:4].isdigit():
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            return None
    except ValueError:
        return None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:  # year 1 or 9999: not a meeting's time
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _header(lines: Sequence[tuple[int, list[str]]]) -> tuple[int, dict[str, int]]:
    for index, (_, cells) in enumerate(lines[:HEADER_SEARCH_LINES]):
        columns: dict[str, int] = {}
        for position, cell in enumerate(cells):
            key = _ALIASES.get(" ".join(cell.strip().casefold().split()))
            if key is not None and key not in columns:
                columns[key] = position
        if {"join", "leave", "name"} <= columns.keys():
            return index, columns
    raise _unreadable(
        "No participant table found: Zoom's participant report has the columns "
        "'Name (Original Name)', 'User Email', 'Join Time' and 'Leave Time'. Export it "
        "from Reports > Usage > Participants and send the file unchanged.",
        "Tabel peserta tidak ditemukan: laporan peserta Zoom memiliki kolom 'Name (Original "
        "Name)', 'User Email', 'Join Time' dan 'Leave Time'. Ekspor dari Reports > Usage > "
        "Participants lalu kirim berkasnya tanpa diubah.",
    )


def parse_report(data: bytes, zone: ZoneInfo) -> list[ZoomRow]:
    """The participant lines of a report, times as aware datetimes (None: unreadable)."""
    if b"\x00" in data:  # UTF-16 (Excel's "Unicode text") or not a text file at all
        raise _unreadable(
            "The report contains NUL bytes; send Zoom's CSV export unchanged (UTF-8), not a "
            "file re-saved as Unicode text or UTF-16.",
            "Laporan berisi byte NUL; kirim ekspor CSV Zoom tanpa diubah (UTF-8), bukan berkas "
            "yang disimpan ulang sebagai Unicode text atau UTF-16.",
        )
    lines = read_csv_lines(data, max_lines=MAX_ROWS + HEADER_SEARCH_LINES)
    start, columns = _header(lines)
    if len(lines) - start - 1 > MAX_ROWS:  # the preamble's allowance is not for participants
        raise ProblemError(
            413,
            "roster_too_many_rows",
            f"The participant table has more than {MAX_ROWS:,} lines; split the report and "
            "send each part.",
            detail_id=f"Tabel peserta berisi lebih dari {MAX_ROWS:,} baris; bagi laporan itu "
            "lalu kirim setiap bagiannya.",
            extra={"max_rows": MAX_ROWS},
        )
    rows: list[ZoomRow] = []

    def cell(cells: list[str], key: str) -> str:
        at = columns.get(key)
        return cells[at].strip() if at is not None and at < len(cells) else ""

    for number, cells in lines[start + 1 :]:
        if all(not c.strip() for c in cells):
            continue
        name = cell(cells, "name")
        joined, left = parse_time(cell(cells, "join"), zone), parse_time(cell(cells, "leave"), zone)
        if joined is not None and left is not None and left < joined:
            joined = left = None
        rows.append(
            ZoomRow(
                line=number,
                name=name,
                names=split_name(name),
                email=cell(cells, "email").casefold() or None,
                joined=joined,
                left=left,
                waiting=cell(cells, "waiting").casefold() in {"yes", "y", "true", "ya"},
            )
        )
    if not rows:
        raise _unreadable(
            "The participant table has no lines; export the report after the meeting ended.",
            "Tabel peserta tidak berisi baris; ekspor laporan setelah rapat selesai.",
        )
    return rows


def attended_seconds(
    spans: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> tuple[int, datetime | None]:
    """Seconds inside [start, end] covered by any span (overlaps once), and the first
    moment inside."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start))
    total, first = timedelta(), clipped[0][0] if clipped else None
    current: tuple[datetime, datetime] | None = None
    for a, b in clipped:
        if current is None or a > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (a, b)
        else:
            current = (current[0], max(current[1], b))
    if current is not None:
        total += current[1] - current[0]
    return int(total.total_seconds()), first


def decide(
    seconds: int,
    first: datetime | None,
    *,
    start: datetime,
    end: datetime,
    share: Decimal,
    late_after: int,
) -> AttendanceStatus:
    """present when ``seconds`` >= ``share`` of the session (late when the first join was
    more than ``late_after`` minutes after the start), else absent."""
    if first is None or Decimal(seconds) < share * Decimal(int((end - start).total_seconds())):
        return AttendanceStatus.absent
    if first > start + timedelta(minutes=late_after):
        return AttendanceStatus.late
    return AttendanceStatus.present


def match(
    rows: Sequence[ZoomRow], candidates: Sequence[Candidate]
) -> tuple[dict[str, Person], list[Person]]:
    """Lines grouped per matched enrolment, and the unmatched ones grouped per participant."""
    by_email = {c.email.casefold(): c.enrollment_id for c in candidates if c.email}
    by_name: dict[str, set[str]] = defaultdict(set)
    for c in candidates:
        for key in c.names:
            by_name[key].add(c.enrollment_id)
    matched: dict[str, Person] = {}
    unmatched: dict[tuple[str, str], Person] = {}
    for row in rows:
        fits: list[str] = []
        enrollment_id, how, reason = None, ZoomMatchedBy.email, None
        if row.waiting:
            reason = ZoomUnmatchedReason.waiting_room
        elif row.joined is None or row.left is None:
            reason = ZoomUnmatchedReason.unreadable_times
        elif row.email and row.email in by_email:
            enrollment_id = by_email[row.email]
        else:
            how, reason = ZoomMatchedBy.name, ZoomUnmatchedReason.no_match
            for key in row.names:
                found = by_name.get(key, set())
                if len(found) == 1:
                    enrollment_id, reason = next(iter(found)), None
                    break
                if len(found) > 1 and not fits:
                    reason, fits = ZoomUnmatchedReason.ambiguous_name, sorted(found)
        if enrollment_id is not None:
            person = matched.setdefault(enrollment_id, Person(matched_by=how))
        else:
            assert reason is not None
            group = (reason.value, row.email or (row.names[0] if row.names else row.name))
            person = unmatched.setdefault(
                group, Person(name=row.name, email=row.email, reason=reason, candidates=fits)
            )
        person.lines.append(row.line)
        if row.joined is not None and row.left is not None and not row.waiting:
            person.spans.append((row.joined, row.left))
    return matched, list(unmatched.values())
