"""Many attendance records at once: a JSON list (all or nothing) or a Zoom participant
report (``zoom_report``). Same rules, lock and event credit as one record (``attendance``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.core import i18n
from app.core.config import get_settings
from app.core.db import commit_or_409
from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Enrollment, Learner
from app.models.attendance import (
    AttendanceBulkResult,
    AttendanceBulkRow,
    AttendanceBulkRowResult,
    ZoomImportQuery,
    ZoomImportResult,
    ZoomMatched,
    ZoomUnmatched,
)
from app.models.enrollment import SEATED
from app.services.learning import attendance as single
from app.services.learning import learners as core
from app.services.learning import zoom_report as zoom

i18n.MESSAGES.update(
    {
        "attendance_rejected": {
            "en": ("Attendance rows rejected", "Correct the rejected rows and send them again."),
            "id": (
                "Baris kehadiran ditolak",
                "Perbaiki baris yang ditolak lalu kirim ulang.",
            ),
        },
        "zoom_report_unreadable": {
            "en": ("Zoom report not readable", "Send Zoom's participant report as exported."),
            "id": (
                "Laporan Zoom tidak terbaca",
                "Kirim laporan peserta Zoom sebagaimana diekspor.",
            ),
        },
    }
)


def _row_error(field: str, msg: str, msg_id: str, kind: str, number: int) -> dict[str, object]:
    return {"loc": ["body", "items", number - 1, field], "msg": msg, "msg_id": msg_id, "type": kind}


def bulk_attendance(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    session_id: str,
    rows: list[AttendanceBulkRow],
) -> AttendanceBulkResult:
    """All rows or none: any rejected row and nothing is written (422 listing every row)."""
    ctx = single.context(session, principal, cohort_id, session_id, write=True)
    enrollments = single.seated(session, ctx, (r.enrollment_id for r in rows))
    results: list[AttendanceBulkRowResult] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        errors = []
        enrollment = enrollments.get(row.enrollment_id)
        minutes = single.minutes_of(ctx, row)
        if enrollment is None:
            errors.append(
                _row_error(
                    "enrollment_id",
                    f"No enrolment of this cohort has id {row.enrollment_id}; check the id.",
                    f"Tidak ada pendaftaran angkatan ini dengan id {row.enrollment_id}; "
                    "periksa id tersebut.",
                    "enrollment_not_found",
                    number,
                )
            )
        elif enrollment.status not in SEATED:
            errors.append(
                _row_error("enrollment_id", *single.not_seated(enrollment), "not_seated", number)
            )
        if row.enrollment_id in seen:
            errors.append(
                _row_error(
                    "enrollment_id",
                    "This enrolment is already in an earlier item; send each enrolment once.",
                    "Pendaftaran ini sudah ada pada item sebelumnya; kirim setiap pendaftaran "
                    "satu kali.",
                    "duplicate",
                    number,
                )
            )
        seen.add(row.enrollment_id)
        problem = single.too_long(ctx, minutes)
        if problem:
            errors.append(_row_error("minutes_attended", *problem, "minutes_too_long", number))
        results.append(
            AttendanceBulkRowResult(
                row=number,
                enrollment_id=row.enrollment_id,
                status=row.status,
                minutes_attended=None if errors else minutes,
                errors=errors,
            )
        )
    answer = AttendanceBulkResult(written=0, rows=results)
    bad = sum(1 for r in results if r.errors)
    if bad:
        session.rollback()
        raise ProblemError(
            422,
            "attendance_rejected",
            f"{bad} of {len(rows)} items were rejected, so nothing was written. Correct the "
            "items listed in rows[].errors and send the list again.",
            detail_id=f"{bad} dari {len(rows)} item ditolak, sehingga tidak ada yang disimpan. "
            "Perbaiki item yang tercantum di rows[].errors lalu kirim ulang daftarnya.",
            extra=answer.model_dump(mode="json"),
        )
    existing = single.records(session, ctx.item.id, enrollments)
    for row, result in zip(rows, results, strict=True):
        assert result.minutes_attended is not None
        single.write(
            session,
            ctx,
            row.enrollment_id,
            row.status,
            result.minutes_attended,
            source="manual",
            principal=principal,
            existing=existing.get(row.enrollment_id),
        )
    single.recount_event_credit(session, ctx, list(enrollments.values()))
    commit_or_409(session, single.race())
    answer.written = len(rows)
    return answer


def import_zoom(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    session_id: str,
    data: bytes,
    query: ZoomImportQuery,
) -> ZoomImportResult:
    ctx = single.context(session, principal, cohort_id, session_id, write=True)
    zone_name = query.timezone or ctx.cohort.timezone
    shown_zone = ZoneInfo(ctx.cohort.timezone)
    rows = zoom.parse_report(data, ZoneInfo(zone_name))
    share = query.present_share or get_settings().attendance_present_share
    pairs = session.exec(
        select(Enrollment, Learner)
        .join(Learner, col(Learner.id) == col(Enrollment.learner_id))
        .where(col(Enrollment.cohort_id) == ctx.cohort.id, col(Enrollment.status).in_(SEATED))
        .order_by(col(Enrollment.id))
    ).all()
    people = {e.id: (e, learner) for e, learner in pairs}
    candidates = [
        zoom.Candidate(e.id, learner.email, zoom.split_name(learner.name)) for e, learner in pairs
    ]
    matched, unmatched = zoom.match(rows, candidates)
    start, end = ctx.item.starts_at, ctx.item.ends_at
    existing = single.records(session, ctx.item.id, matched)
    out: list[ZoomMatched] = []
    for enrollment_id, person in matched.items():
        seconds, first = zoom.attended_seconds(person.spans, start, end)
        status = zoom.decide(
            seconds, first, start=start, end=end, share=share, late_after=query.late_after_minutes
        )
        enrollment, learner = people[enrollment_id]
        minutes = min(seconds // 60, ctx.minutes)
        out.append(
            ZoomMatched(
                enrollment_id=enrollment_id,
                learner_name=core.public(learner, None).display_name,
                matched_by=person.matched_by,
                rows=person.lines,
                first_joined_at=first.astimezone(shown_zone) if first else None,
                minutes_attended=minutes,
                status=status,
            )
        )
        if not query.dry_run:
            single.write(
                session,
                ctx,
                enrollment_id,
                status,
                minutes,
                source="zoom",
                principal=principal,
                existing=existing.get(enrollment_id),
            )
    answer = ZoomImportResult(
        session_id=ctx.item.id,
        dry_run=query.dry_run,
        written=0 if query.dry_run else len(out),
        present_share=float(share),
        late_after_minutes=query.late_after_minutes,
        timezone=zone_name,
        matched=sorted(out, key=lambda m: m.rows[0]),
        unmatched=[
            ZoomUnmatched(
                rows=p.lines,
                name=p.name,
                email=p.email,
                minutes=zoom.attended_seconds(p.spans, start, end)[0] // 60,
                reason=p.reason or zoom.ZoomUnmatchedReason.no_match,
                candidates=p.candidates,
            )
            for p in unmatched
        ],
        not_in_report=[e_id for e_id in people if e_id not in matched],
    )
    if query.dry_run:
        session.rollback()
        return answer
    single.recount_event_credit(session, ctx, [people[i][0] for i in matched])
    commit_or_409(session, single.race())
    return answer
