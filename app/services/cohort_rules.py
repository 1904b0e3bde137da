"""What may change in each cohort status, and which status moves wait for the calendar.

``EDITABLE`` is the one table: status -> the cohort fields a PATCH may change and
the actions allowed (``sessions``: add, change or remove sessions). Everything not
listed is refused with 409 naming what *is* allowed. The README carries the same
table; change both together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.core.errors import ProblemError
from app.models import Cohort, CohortSession
from app.models.base import utcnow
from app.models.cohort import CohortStatus

S = CohortStatus
SESSIONS = "sessions"
_VENUE = frozenset({"platform", "meeting_url", "venue"})
_PLANNING = frozenset(
    {"number", "year", "starts_on", "ends_on", "timezone", "capacity", "waitlist_enabled"}
    | {SESSIONS}
    | _VENUE
)
EDITABLE: dict[CohortStatus, frozenset[str]] = {
    S.draft: _PLANNING | {"enrollment_opens_at", "enrollment_closes_at", "curriculum_version"},
    S.open: _PLANNING | {"enrollment_opens_at", "enrollment_closes_at"},
    S.closed: _PLANNING,
    S.running: frozenset({"ends_on", SESSIONS}) | _VENUE,
    S.evaluation: _VENUE,
    S.completed: frozenset(),
    S.cancelled: frozenset(),
}


def _allowed_text(status: CohortStatus, lang: str) -> str:
    allowed = sorted(EDITABLE[status])
    if allowed:
        return ", ".join(allowed)
    return "nothing (it is final)" if lang == "en" else "tidak ada (status ini final)"


def check_editable(cohort: Cohort, fields: Iterable[str]) -> None:
    """409 unless every one of ``fields`` may change in the cohort's status."""
    status = cohort.status
    locked = sorted(set(fields) - EDITABLE[status])
    if not locked:
        return
    names = ", ".join(locked)
    if locked == [SESSIONS]:
        en = f"Sessions of a {status.value} cohort cannot be added, changed or removed"
        id_ = f"Sesi angkatan berstatus {status.value} tidak dapat ditambah, diubah, atau dihapus"
    else:
        en = f"A {status.value} cohort's {names} cannot change"
        id_ = f"Isian {names} pada angkatan berstatus {status.value} tidak dapat diubah"
    raise ProblemError(
        409,
        "cohort_locked",
        f"{en}; what may change now: {_allowed_text(status, 'en')}.",
        detail_id=f"{id_}; yang masih dapat diubah: {_allowed_text(status, 'id')}.",
        extra={"editable": sorted(EDITABLE[status])},
    )


def local_today(zone: str, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(zone)).date()


def check_calendar(session: Session, cohort: Cohort, to: CohortStatus) -> None:
    """A move that depends on the calendar waits for it, in the cohort's own time zone.

    ``running`` from the cohort's first local day; ``evaluation`` and ``completed`` once
    the last session has ended (or, without sessions, from the cohort's last local day).
    """
    now = utcnow()
    today = local_today(cohort.timezone, now)
    zone = cohort.timezone
    if to == S.running and today < cohort.starts_on:
        raise _too_early(
            to,
            f"the cohort starts on {cohort.starts_on.isoformat()}",
            f"angkatan baru dimulai pada {cohort.starts_on.isoformat()}",
            today,
            zone,
        )
    if to in (S.evaluation, S.completed):
        last_end = session.execute(
            select(func.max(col(CohortSession.ends_at))).where(
                col(CohortSession.cohort_id) == cohort.id
            )
        ).scalar()
        if last_end is not None:
            if last_end.tzinfo is None:  # SQLite hands back naive UTC on aggregates
                last_end = last_end.replace(tzinfo=now.tzinfo)
            if now < last_end:
                shown = last_end.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")
                raise _too_early(
                    to,
                    f"its last session ends at {shown}",
                    f"sesi terakhirnya baru berakhir pada {shown}",
                    today,
                    zone,
                )
        elif today < cohort.ends_on:
            raise _too_early(
                to,
                f"the cohort's last day is {cohort.ends_on.isoformat()}",
                f"hari terakhir angkatan adalah {cohort.ends_on.isoformat()}",
                today,
                zone,
            )


def _too_early(to: CohortStatus, why: str, why_id: str, today: date, zone: str) -> ProblemError:
    return ProblemError(
        409,
        "transition_too_early",
        f"The cohort cannot move to {to.value} yet: {why} and today is {today.isoformat()} "
        f"in {zone}. Wait for that day, or correct the cohort's dates or sessions first.",
        detail_id=f"Angkatan belum dapat berpindah ke {to.value}: {why_id}, sedangkan hari ini "
        f"{today.isoformat()} di zona {zone}. Tunggu hingga waktunya, atau perbaiki dulu "
        "tanggal atau sesi angkatan.",
    )
