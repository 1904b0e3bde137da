"""Attendance at a cohort's sessions: read, record one, record many, and the event JP credit.

Who: the session's instructors and the organising agency's admins (platform admins too)
record; every member of the organiser and of the course's partner agencies reads
(``visibility``); anyone else gets 404, a member who may read but not record 403. What:
seated enrolments only (proposed, verified, active), from the session's start on (409
``session_not_started``), never in a completed or cancelled cohort (409 ``cohort_final``).

Every write runs under the cohort's row lock (the order enrolment moves use: cohort, then
its rows), which serialises the upsert of a record and the recount of the enrolment's event
credit: a short event (socialisation, workshop, seminar, webinar) credits the JP of the
sessions a learner attended (present or late), capped at the course's total, to the yearly
ledger in the same transaction (``jp_ledger``); nothing attended withdraws the credit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.db import commit_or_409
from app.core.errors import ProblemError, not_found
from app.core.etag import check_if_match, resource_etag
from app.core.security import Principal
from app.models import Cohort, CohortSession, CohortSessionInstructor, Course, Enrollment, Learner
from app.models.attendance import (
    Attendance,
    AttendancePublic,
    AttendancePut,
    AttendanceStatus,
)
from app.models.base import utcnow
from app.models.cohort import CohortStatus
from app.models.course import CourseKind
from app.models.enrollment import SEATED, EnrollmentStatus
from app.models.jp import JPSource
from app.services.learning import jp_ledger, seats
from app.services.learning import learners as core
from app.services.visibility import owns, partner_of

EVENT_KINDS = frozenset(
    {CourseKind.socialization, CourseKind.workshop, CourseKind.seminar, CourseKind.webinar}
)
ATTENDED = (AttendanceStatus.present, AttendanceStatus.late)
# listed: everyone who holds (or held, before evaluation) a seat
LISTED = (*SEATED, EnrollmentStatus.passed, EnrollmentStatus.failed, EnrollmentStatus.dropped)
FINAL = (CohortStatus.completed, CohortStatus.cancelled)


class Context:
    """A session with its cohort and course, checked for the caller."""

    def __init__(self, cohort: Cohort, course: Course, item: CohortSession) -> None:
        self.cohort, self.course, self.item = cohort, course, item

    @property
    def minutes(self) -> int:
        return int((self.item.ends_at - self.item.starts_at).total_seconds() // 60)


def context(
    session: Session, principal: Principal, cohort_id: str, session_id: str, *, write: bool
) -> Context:
    cohort = seats.lock_cohort(session, cohort_id) if write else session.get(Cohort, cohort_id)
    course = session.get(Course, cohort.course_id) if cohort else None
    if (
        cohort is None
        or course is None
        or principal.is_learner
        or not (
            owns(principal, cohort.agency_id) or partner_of(principal, course.partner_agency_ids)
        )
    ):
        raise not_found("cohort", cohort_id)
    item = session.get(CohortSession, session_id)
    if item is None or item.cohort_id != cohort.id:
        raise not_found("session", session_id)
    if write:
        _check_recorder(session, principal, cohort, item)
        _check_open(cohort, item)
    return Context(cohort, course, item)


def _check_recorder(
    session: Session, principal: Principal, cohort: Cohort, item: CohortSession
) -> None:
    if owns(principal, cohort.agency_id) and principal.has_role("agency_admin"):
        return
    teaches = session.get(CohortSessionInstructor, (item.id, principal.subject))
    if teaches is None:
        raise ProblemError(
            403,
            "forbidden",
            "Only the instructors of this session and the organising agency's admins record "
            "its attendance; ask one of them.",
            detail_id="Hanya pengajar sesi ini dan admin instansi penyelenggara yang dapat "
            "mencatat kehadirannya; mintalah salah satu dari mereka.",
        )


def _check_open(cohort: Cohort, item: CohortSession) -> None:
    if cohort.status in FINAL:
        raise ProblemError(
            409,
            "cohort_final",
            f"The cohort is {cohort.status.value}; its attendance no longer changes.",
            detail_id=f"Angkatan berstatus {cohort.status.value}; kehadirannya tidak dapat "
            "diubah lagi.",
        )
    if utcnow() < item.starts_at:
        when = item.starts_at.isoformat()
        raise ProblemError(
            409,
            "session_not_started",
            f"The session starts at {when}; record its attendance from then on.",
            detail_id=f"Sesi dimulai pada {when}; catat kehadirannya mulai saat itu.",
            extra={"starts_at": when},
        )


def etag_of(record: Attendance | None, session_id: str, enrollment_id: str) -> str:
    if record is None:
        return resource_etag(f"{session_id}.{enrollment_id}", 0)
    return resource_etag(record.id, record.version)


def public(
    ctx: Context, enrollment: Enrollment, learner: Learner, record: Attendance | None
) -> AttendancePublic:
    return AttendancePublic(
        session_id=ctx.item.id,
        cohort_id=ctx.cohort.id,
        enrollment_id=enrollment.id,
        enrollment_status=enrollment.status,
        learner_id=learner.id,
        learner_key=learner.learner_key,
        learner_name=core.public(learner, None).display_name,
        status=record.status if record else None,
        minutes_attended=record.minutes_attended if record else None,
        source=record.source if record else None,
        recorded_by=record.recorded_by if record else None,
        version=record.version if record else None,
        updated_at=record.updated_at if record else None,
    )


def records(session: Session, session_id: str, enrollment_ids: Iterable[str]) -> dict[str, Any]:
    ids = list(enrollment_ids)
    if not ids:
        return {}
    found = session.exec(
        select(Attendance).where(
            col(Attendance.session_id) == session_id, col(Attendance.enrollment_id).in_(ids)
        )
    )
    return {r.enrollment_id: r for r in found}


# --- writing --------------------------------------------------------------------------


def minutes_of(ctx: Context, data: AttendancePut) -> int:
    if data.minutes_attended is not None:
        return data.minutes_attended
    return ctx.minutes if data.status == AttendanceStatus.present else 0


def too_long(ctx: Context, minutes: int) -> tuple[str, str] | None:
    if minutes <= ctx.minutes:
        return None
    return (
        f"minutes_attended is {minutes} but the session lasts {ctx.minutes} minutes; send at "
        f"most {ctx.minutes}.",
        f"minutes_attended bernilai {minutes} padahal sesi berlangsung {ctx.minutes} menit; "
        f"kirim paling banyak {ctx.minutes}.",
    )


def not_seated(enrollment: Enrollment) -> tuple[str, str]:
    return (
        f"The enrolment is {enrollment.status.value}; attendance is recorded only for seated "
        "enrolments (proposed, verified, active).",
        f"Pendaftaran berstatus {enrollment.status.value}; kehadiran hanya dicatat untuk "
        "pendaftaran yang mendapat kursi (proposed, verified, active).",
    )


def write(
    session: Session,
    ctx: Context,
    enrollment_id: str,
    status: AttendanceStatus,
    minutes: int,
    *,
    source: str,
    principal: Principal,
    existing: Attendance | None,
) -> Attendance:
    """Insert or update the record (the caller holds the cohort lock)."""
    record = existing or Attendance(
        cohort_id=ctx.cohort.id,
        session_id=ctx.item.id,
        enrollment_id=enrollment_id,
        status=status,
        version=0,
    )
    record.status, record.minutes_attended, record.source = status, minutes, source
    record.recorded_by = principal.subject
    record.version += 1
    record.updated_at = utcnow()
    session.add(record)
    return record


def recount_event_credit(session: Session, ctx: Context, enrollments: list[Enrollment]) -> None:
    """An event's credit per enrolment: JP of the sessions attended, capped at the total."""
    if ctx.course.kind not in EVENT_KINDS or not enrollments:
        return
    session.flush()
    ids = [e.id for e in enrollments]
    sums = dict(
        session.exec(
            select(col(Attendance.enrollment_id), func.sum(col(CohortSession.jp_halves)))
            .join(CohortSession, col(CohortSession.id) == col(Attendance.session_id))
            .where(col(Attendance.enrollment_id).in_(ids), col(Attendance.status).in_(ATTENDED))
            .group_by(col(Attendance.enrollment_id))
        ).all()
    )
    for enrollment in enrollments:
        halves = min(int(sums.get(enrollment.id) or 0), ctx.course.total_jp_halves)
        if halves > 0:
            jp_ledger.credit_enrollment(
                session,
                enrollment=enrollment,
                cohort=ctx.cohort,
                course=ctx.course,
                source=JPSource.event,
                jp_halves=halves,
            )
        else:
            jp_ledger.withdraw_credit(session, enrollment_id=enrollment.id)


def race() -> ProblemError:
    return ProblemError(
        409,
        "attendance_conflict",
        "Another request recorded this attendance at the same moment; read it and try again.",
        detail_id="Permintaan lain mencatat kehadiran ini pada saat yang sama; baca lalu "
        "coba lagi.",
    )


def put_attendance(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    session_id: str,
    enrollment_id: str,
    data: AttendancePut,
    if_match: str | None = None,
) -> tuple[AttendancePublic, str]:
    ctx = context(session, principal, cohort_id, session_id, write=True)
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.cohort_id != ctx.cohort.id:
        raise ProblemError(
            404,
            "not_found",
            f"No enrolment of this cohort has id {enrollment_id}; check the id.",
            detail_id=f"Tidak ada pendaftaran angkatan ini dengan id {enrollment_id}; "
            "periksa id tersebut.",
        )
    if enrollment.status not in SEATED:
        en, id_ = not_seated(enrollment)
        raise ProblemError(409, "enrollment_not_seated", en, detail_id=id_)
    minutes = minutes_of(ctx, data)
    problem = too_long(ctx, minutes)
    if problem:
        raise ProblemError(
            422,
            "validation_error",
            problem[0],
            detail_id=problem[1],
            errors=[
                {
                    "loc": ["body", "minutes_attended"],
                    "msg": problem[0],
                    "msg_id": problem[1],
                    "type": "minutes_too_long",
                }
            ],
        )
    existing = records(session, ctx.item.id, [enrollment.id]).get(enrollment.id)
    check_if_match(if_match, etag_of(existing, ctx.item.id, enrollment.id))
    record = write(
        session,
        ctx,
        enrollment.id,
        data.status,
        minutes,
        source="manual",
        principal=principal,
        existing=existing,
    )
    recount_event_credit(session, ctx, [enrollment])
    commit_or_409(session, race())
    learner = session.get(Learner, enrollment.learner_id)
    assert learner is not None
    return public(ctx, enrollment, learner, record), etag_of(record, ctx.item.id, enrollment.id)


def seated(session: Session, ctx: Context, ids: Iterable[str]) -> dict[str, Enrollment]:
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Enrollment] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        for e in session.exec(
            select(Enrollment).where(
                col(Enrollment.id).in_(part), col(Enrollment.cohort_id) == ctx.cohort.id
            )
        ):
            found[e.id] = e
    return found
