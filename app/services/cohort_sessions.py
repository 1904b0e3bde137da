"""Sessions of a cohort: times checked in the cohort's own zone, instructors never double-booked."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlmodel import Session, col

from app.core.errors import ProblemError, not_found
from app.core.etag import check_if_match, resource_etag
from app.core.security import Principal
from app.models import (
    Cohort,
    CohortSession,
    CohortSessionInstructor,
    Course,
    CurriculumModule,
    User,
)
from app.models.base import utcnow
from app.models.catalogue import halves_to_jp, jp_to_halves
from app.models.cohort import CohortSessionCreate, CohortSessionPublic, CohortSessionUpdate
from app.models.curriculum import LearningMode
from app.services import cohort_rules as rules
from app.services.cohorts import visible_cohort
from app.services.tenancy import get_owned
from app.services.validation import invalid, reject_nulls

MAX_JP_PER_DAY = 9  # convention: ~8-9 JP a day at most


def etag_of(item: CohortSession, cohort: Cohort) -> str:
    """Times are shown in the cohort's zone: the cohort's version is part of the ETag."""
    return resource_etag(item.id, item.version, cohort.version)


def public(
    item: CohortSession, instructors: list[str], zone: str, warnings: list[str] | None = None
) -> CohortSessionPublic:
    tz = ZoneInfo(zone)
    return CohortSessionPublic(
        id=item.id,
        cohort_id=item.cohort_id,
        module_id=item.module_id,
        starts_at=item.starts_at.astimezone(tz),
        ends_at=item.ends_at.astimezone(tz),
        mode=item.mode,
        jp=halves_to_jp(item.jp_halves),
        instructor_ids=instructors,
        location=item.location,
        meeting_url=item.meeting_url,
        version=item.version,
        created_at=item.created_at,
        updated_at=item.updated_at,
        warnings=warnings or [],
    )


def _instructors(session: Session, session_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    if session_ids:
        rows = session.execute(
            select(CohortSessionInstructor.session_id, CohortSessionInstructor.user_id)  # type: ignore[call-overload]
            .where(col(CohortSessionInstructor.session_id).in_(session_ids))
            .order_by(col(CohortSessionInstructor.user_id))
        )
        for sid, uid in rows:
            out[sid].append(uid)
    return out


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


def _validate(
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


def _set_instructors(session: Session, session_id: str, user_ids: list[str]) -> None:
    session.execute(
        delete(CohortSessionInstructor).where(col(CohortSessionInstructor.session_id) == session_id)
    )
    for uid in dict.fromkeys(user_ids):
        session.add(CohortSessionInstructor(session_id=session_id, user_id=uid))


def create_session(
    *, session: Session, principal: Principal, cohort_id: str, data: CohortSessionCreate
) -> tuple[CohortSessionPublic, str]:
    cohort = get_owned(session, Cohort, cohort_id, principal, what="cohort", for_update=True)
    rules.check_editable(cohort, [rules.SESSIONS])
    item = CohortSession(
        agency_id=cohort.agency_id,
        cohort_id=cohort.id,
        module_id=data.module_id,
        starts_at=data.starts_at.astimezone(UTC),
        ends_at=data.ends_at.astimezone(UTC),
        mode=data.mode,  # type: ignore[arg-type]
        jp_halves=jp_to_halves(data.jp) if data.jp is not None else 0,
        location=data.location,
        meeting_url=data.meeting_url,
    )
    ids = list(dict.fromkeys(data.instructor_ids))
    warnings = _validate(
        session, cohort, item, ids, jp_given=data.jp is not None, mode_given=data.mode is not None
    )
    session.add(item)
    session.flush()
    _set_instructors(session, item.id, ids)
    session.commit()
    return public(item, sorted(ids), cohort.timezone, warnings), etag_of(item, cohort)


def _owned(
    session: Session, principal: Principal, cohort_id: str, session_id: str
) -> tuple[Cohort, CohortSession]:
    cohort = get_owned(session, Cohort, cohort_id, principal, what="cohort", for_update=True)
    item = session.get(CohortSession, session_id, with_for_update=True)
    if item is None or item.cohort_id != cohort.id:
        raise not_found("session", session_id)
    rules.check_editable(cohort, [rules.SESSIONS])
    return cohort, item


def update_session(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    session_id: str,
    data: CohortSessionUpdate,
    if_match: str | None = None,
) -> tuple[CohortSessionPublic, str]:
    cohort, item = _owned(session, principal, cohort_id, session_id)
    check_if_match(if_match, etag_of(item, cohort))
    values: dict[str, Any] = data.model_dump(exclude_unset=True)
    reject_nulls(values, ("starts_at", "ends_at", "mode", "jp", "instructor_ids"))
    ids = values.pop("instructor_ids", None)
    if ids is None:
        ids = _instructors(session, [item.id])[item.id]
    ids = list(dict.fromkeys(ids))
    if "jp" in values:
        item.jp_halves = jp_to_halves(values.pop("jp"))
    for key in ("starts_at", "ends_at"):
        if key in values:
            values[key] = values[key].astimezone(UTC)
    module_changed = "module_id" in values and values["module_id"] != item.module_id
    for key, value in values.items():
        setattr(item, key, value)
    warnings = _validate(
        session,
        cohort,
        item,
        ids,
        jp_given=not module_changed or data.jp is not None,
        mode_given=not module_changed or data.mode is not None,
    )
    item.version += 1
    item.updated_at = utcnow()
    session.add(item)
    _set_instructors(session, item.id, ids)
    session.commit()
    return public(item, sorted(ids), cohort.timezone, warnings), etag_of(item, cohort)


def delete_session(
    *, session: Session, principal: Principal, cohort_id: str, session_id: str
) -> None:
    _, item = _owned(session, principal, cohort_id, session_id)
    _set_instructors(session, item.id, [])
    session.delete(item)
    session.commit()


def list_sessions(
    *, session: Session, principal: Principal | None, cohort_id: str
) -> list[CohortSessionPublic]:
    cohort, _ = visible_cohort(session=session, principal=principal, cohort_id=cohort_id)
    items = list(
        session.execute(
            select(CohortSession)
            .where(col(CohortSession.cohort_id) == cohort.id)
            .order_by(col(CohortSession.starts_at), col(CohortSession.id))
        ).scalars()
    )
    instructors = _instructors(session, [i.id for i in items])
    return [public(i, instructors[i.id], cohort.timezone) for i in items]


def read_session(
    *, session: Session, principal: Principal | None, cohort_id: str, session_id: str
) -> tuple[CohortSessionPublic, str]:
    cohort, _ = visible_cohort(session=session, principal=principal, cohort_id=cohort_id)
    item = session.get(CohortSession, session_id)
    if item is None or item.cohort_id != cohort.id:
        raise not_found("session", session_id)
    shown = public(item, _instructors(session, [item.id])[item.id], cohort.timezone)
    return shown, etag_of(item, cohort)
