"""The checks a session must pass against its cohort: problems raise, doubts are warnings.

Refused (cannot be right): outside the cohort's local dates, shorter than its JP, a mode
the pinned curriculum has no JP of, overlapping another session of the same cohort, an
instructor already teaching then. Warned (may be right): more than ``MAX_JP_PER_DAY`` JP
on one local day, more JP of a mode than the curriculum has. The caller holds the cohort
row lock, so two requests cannot both find the same slot free.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.errors import ProblemError
from app.models import (
    Cohort,
    CohortSession,
    CohortSessionInstructor,
    Course,
    CurriculumModule,
    User,
)
from app.models.catalogue import halves_to_jp
from app.models.curriculum import LearningMode
from app.services.validation import invalid

MAX_JP_PER_DAY = 9  # convention: ~8-9 JP a day at most


def _curriculum_halves(session: Session, cohort: Cohort) -> dict[LearningMode, int] | None:
    """JP (in halves) per mode of the cohort's pinned curriculum; None when nothing is pinned."""
    if cohort.curriculum_id is None:
        return None
    out: dict[LearningMode, int] = dict.fromkeys(LearningMode, 0)
    for mode, halves in session.execute(
        select(CurriculumModule.mode, CurriculumModule.jp_halves).where(  # type: ignore[call-overload]
            col(CurriculumModule.curriculum_id) == cohort.curriculum_id
        )
    ):
        out[mode] += halves
    return out


def validate(
    session: Session,
    cohort: Cohort,
    item: CohortSession,
    instructor_ids: list[str],
    *,
    jp_given: bool,
    mode_given: bool,
) -> list[str]:
    """Check ``item`` against its cohort; returns warnings (problems raise)."""
    course = session.get(Course, cohort.course_id)
    assert course is not None
    if item.module_id is not None:
        module = session.get(CurriculumModule, item.module_id)
        if module is None or module.curriculum_id != cohort.curriculum_id:
            raise invalid(
                "module_id",
                "The module is not in the cohort's pinned curriculum; "
                "take a module id from that curriculum version.",
                "Modul tidak ada dalam kurikulum yang disematkan pada angkatan; "
                "gunakan id modul dari versi kurikulum tersebut.",
            )
        if not jp_given:
            item.jp_halves = module.jp_halves
        if not mode_given:
            item.mode = module.mode
    if not item.jp_halves:
        raise invalid(
            "jp",
            "Give jp (or a module_id to take it from).",
            "Isi jp (atau module_id untuk mengambil nilainya dari modul).",
        )
    if item.mode is None:
        raise invalid(
            "mode",
            "Give mode (or a module_id to take it from).",
            "Isi mode (atau module_id untuk mengambil nilainya dari modul).",
        )
    if item.ends_at <= item.starts_at:
        raise invalid(
            "ends_at", "ends_at must be after starts_at.", "ends_at harus setelah starts_at."
        )
    tz = ZoneInfo(cohort.timezone)
    # A session ending at 24:00 local ends on that day, not the next.
    first = item.starts_at.astimezone(tz).date()
    last = (item.ends_at - timedelta(microseconds=1)).astimezone(tz).date()
    if first < cohort.starts_on or last > cohort.ends_on:
        span = f"{first.isoformat()} to {last.isoformat()}"
        span_id = f"{first.isoformat()} sampai {last.isoformat()}"
        runs = f"{cohort.starts_on.isoformat()} to {cohort.ends_on.isoformat()}"
        runs_id = f"{cohort.starts_on.isoformat()} sampai {cohort.ends_on.isoformat()}"
        raise invalid(
            "starts_at" if first < cohort.starts_on else "ends_at",
            f"The session runs {span} in {cohort.timezone}; the cohort runs {runs}: "
            "schedule it inside the cohort's dates.",
            f"Sesi berlangsung {span_id} di zona {cohort.timezone}, sedangkan angkatan "
            f"berlangsung {runs_id}: jadwalkan sesi di dalam tanggal angkatan.",
        )
    needed = item.jp_halves * course.minutes_per_jp / 2
    minutes = (item.ends_at - item.starts_at).total_seconds() / 60
    if minutes < needed:
        jp = halves_to_jp(item.jp_halves)
        raise invalid(
            "ends_at",
            f"{jp} JP need {needed:g} minutes ({course.minutes_per_jp} per JP); "
            f"the session lasts {minutes:g}: lengthen it or lower jp.",
            f"{jp} JP memerlukan {needed:g} menit ({course.minutes_per_jp} menit per JP), "
            f"sedangkan sesi hanya {minutes:g} menit: perpanjang sesi atau kurangi jp.",
        )
    by_mode = _curriculum_halves(session, cohort)
    if by_mode is not None and by_mode[item.mode] == 0:
        offered = ", ".join(m.value for m, h in by_mode.items() if h) or "-"
        raise invalid(
            "mode",
            f"The cohort's curriculum (version {cohort.curriculum_version}) has no "
            f"{item.mode.value} JP; use one of its modes: {offered}.",
            f"Kurikulum angkatan (versi {cohort.curriculum_version}) tidak memiliki JP "
            f"{item.mode.value}; gunakan salah satu modenya: {offered}.",
        )
    _no_overlap(session, cohort, item)
    if instructor_ids:
        _instructors_free(session, cohort, item, instructor_ids)
    return _warnings(session, cohort, item, by_mode)


def _no_overlap(session: Session, cohort: Cohort, item: CohortSession) -> None:
    """Two sessions of one cohort never share a moment (the cohort row lock serialises this)."""
    clash = session.execute(
        select(CohortSession.id, CohortSession.starts_at, CohortSession.ends_at)  # type: ignore[call-overload]
        .where(
            col(CohortSession.cohort_id) == cohort.id,
            col(CohortSession.id) != item.id,
            col(CohortSession.starts_at) < item.ends_at,
            col(CohortSession.ends_at) > item.starts_at,
        )
        .order_by(col(CohortSession.starts_at))
    ).first()
    if clash is None:
        return
    tz = ZoneInfo(cohort.timezone)
    sid, starts, ends = clash
    span = (
        f"{starts.astimezone(tz).isoformat(timespec='minutes')}/"
        f"{ends.astimezone(tz).isoformat(timespec='minutes')}"
    )
    raise ProblemError(
        409,
        "session_overlap",
        f"Session {sid} of this cohort already runs {span}; "
        "choose a time that does not overlap it, or move that session first.",
        detail_id=f"Sesi {sid} pada angkatan ini sudah berlangsung {span}; "
        "pilih waktu yang tidak bertabrakan, atau pindahkan sesi itu dulu.",
        extra={"conflicting_session_id": sid},
    )


def _instructors_free(
    session: Session, cohort: Cohort, item: CohortSession, instructor_ids: list[str]
) -> None:
    found = set(
        session.execute(
            # Row locks on the instructors serialise concurrent bookings of the same
            # people on PostgreSQL (SQLite already has a single writer).
            select(col(User.id))
            .where(col(User.id).in_(instructor_ids), col(User.agency_id) == cohort.agency_id)
            .order_by(col(User.id))
            .with_for_update()
        ).scalars()
    )
    missing = ", ".join(i for i in instructor_ids if i not in found)
    if missing:
        raise invalid(
            "instructor_ids",
            f"No user of this agency has id {missing}; name users of the cohort's agency.",
            f"Tidak ada pengguna instansi ini dengan id {missing}; "
            "pilih pengguna dari instansi penyelenggara angkatan.",
        )
    busy = session.execute(
        select(CohortSessionInstructor.user_id, CohortSession.id)  # type: ignore[call-overload]
        .join(CohortSession, col(CohortSession.id) == CohortSessionInstructor.session_id)
        .where(
            col(CohortSessionInstructor.user_id).in_(instructor_ids),
            col(CohortSession.id) != item.id,
            col(CohortSession.starts_at) < item.ends_at,
            col(CohortSession.ends_at) > item.starts_at,
        )
    ).first()
    if busy is not None:
        raise ProblemError(
            409,
            "instructor_busy",
            f"Instructor {busy[0]} already teaches session {busy[1]} at that time; "
            "choose another time or instructor.",
            detail_id=f"Pengajar {busy[0]} sudah mengajar sesi {busy[1]} pada waktu itu; "
            "pilih waktu atau pengajar lain.",
        )


def _warnings(
    session: Session,
    cohort: Cohort,
    item: CohortSession,
    by_mode: dict[LearningMode, int] | None,
) -> list[str]:
    """What may be right but is worth a look: a long day, more JP of a mode than planned."""
    tz = ZoneInfo(cohort.timezone)
    others = session.execute(
        select(CohortSession.starts_at, CohortSession.jp_halves, CohortSession.mode).where(  # type: ignore[call-overload]
            CohortSession.cohort_id == cohort.id, col(CohortSession.id) != item.id
        )
    ).all()
    out: list[str] = []
    day = item.starts_at.astimezone(tz).date()
    day_halves = item.jp_halves + sum(h for s, h, _ in others if s.astimezone(tz).date() == day)
    if day_halves > MAX_JP_PER_DAY * 2:
        out.append(
            f"{halves_to_jp(day_halves)} JP are scheduled on {day.isoformat()} "
            f"({cohort.timezone}), more than the usual {MAX_JP_PER_DAY} JP a day."
        )
    if by_mode is not None:
        mode_halves = item.jp_halves + sum(h for _, h, m in others if m == item.mode)
        if mode_halves > by_mode[item.mode]:
            out.append(
                f"{halves_to_jp(mode_halves)} JP of {item.mode.value} sessions are scheduled; "
                f"the curriculum (version {cohort.curriculum_version}) has "
                f"{halves_to_jp(by_mode[item.mode])} JP of {item.mode.value}."
            )
    return out
