"""Bulk enrolment: many learners into one cohort from a roster (CSV, XLSX or JSON rows).

Rules per row are the single path's (``enrollments.enrol``): the learner must exist
(rows naming an unknown learner are rejected with ``learner_not_found``: create learners
with ``PUT /v1/learners/{key}`` first, so a typo in a NIP never creates a stranger), be
visible to the caller (organiser: any learner; home agency: its own), be ASN unless the
course is ``open_to_non_asn``, and have no overlapping enrolment in the course. A
learner already in the cohort is ``already_enrolled`` (not an error: a re-sent file
changes nothing). A learner whose enrolment in the cohort was withdrawn is enrolled again
on that same row (``created`` or ``waitlisted``; its history goes on), as the single path
does.

The whole batch runs under the cohort row lock in one transaction; seats are given in
row order exactly as one-by-one enrolment would (capacity never exceeded; then the
waitlist if the cohort keeps one, else ``cohort_full``). ``all_or_nothing``: one
rejected row and nothing is written (422 ``bulk_rejected`` listing every row as it
would have gone); ``partial``: the good rows are written. Inserts are Core executemany:
ORM objects for 10,000 rows cost ~1 s (/work/shared/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.db import commit_or_409
from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Cohort, Course, Enrollment, EnrollmentEvent, Learner
from app.models.base import new_id, utcnow
from app.models.enrollment import (
    BulkMode,
    BulkOutcome,
    BulkQuery,
    BulkResult,
    BulkRowResult,
    EnrollmentStatus,
)
from app.models.learner import AsnType
from app.services.cohorts import name_of
from app.services.learning import enrollments as single
from app.services.learning import grants
from app.services.learning.roster_cells import ID_FIELDS, key_of
from app.services.learning.roster_files import RosterRow, RowError
from app.services.sync.changes import ChangeType, record_changes
from app.services.visibility import owns

Out = BulkOutcome
CHUNK = 500  # keys per IN (...) list: well under every engine's bound-parameter limit
WRITE_CHUNK = 1_000  # rows decided and written at a time (memory; see bulk_enrol)
# Shared by every row's result, never changed: a set and an empty list per row were 7 of
# the 10 MB that 10,000 results held.
_NO_ERRORS: list[Any] = []

i18n.MESSAGES.update(
    {
        "bulk_rejected": {
            "en": ("Roster rows rejected", "Correct the rejected rows and send the file again."),
            "id": (
                "Baris peserta ditolak",
                "Perbaiki baris yang ditolak lalu kirim ulang berkasnya.",
            ),
        },
    }
)


def _error(field: str, msg: str, msg_id: str, kind: str) -> RowError:
    return RowError(field, msg, msg_id, kind)


def _key_of(row: RosterRow) -> tuple[str | None, str]:
    """The learner key of a row and the column it came from: the cells are already
    canonical keys (roster_cells checks them with keys.parse_key)."""
    for field in ID_FIELDS:
        value = row.fields.get(field)
        if value:
            return key_of(field, value), field
    return None, "nip"


def batched(rows: Iterable[RosterRow], size: int) -> Iterator[list[RosterRow]]:
    """``rows`` in lists of ``size`` (itertools.batched is Python 3.12)."""
    chunk: list[RosterRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _learners(session: Session, keys: Sequence[str]) -> dict[str, tuple[str, str, AsnType]]:
    found: dict[str, tuple[str, str, AsnType]] = {}
    for part in _chunks(keys):
        statement = select(
            col(Learner.learner_key), col(Learner.id), col(Learner.agency_id), col(Learner.asn_type)
        ).where(col(Learner.learner_key).in_(part))
        for key, learner_id, agency_id, asn_type in session.exec(statement):
            found[key] = (learner_id, agency_id, asn_type)
    return found


def _overlapping(session: Session, cohort: Cohort) -> set[str]:
    """Learners with a live enrolment in another cohort of the course whose dates overlap."""
    statement = (
        select(col(Enrollment.learner_id))
        .join(Cohort, col(Cohort.id) == col(Enrollment.cohort_id))
        .where(
            col(Enrollment.course_id) == cohort.course_id,
            col(Enrollment.cohort_id) != cohort.id,
            col(Enrollment.status) != EnrollmentStatus.withdrawn,
            col(Cohort.starts_on) <= cohort.ends_on,
            col(Cohort.ends_on) >= cohort.starts_on,
        )
    )
    return set(session.exec(statement))


def _not_found(field: str, key: str) -> RowError:
    return _error(
        field,
        f"No learner has the key {key}; add the learner first (PUT /v1/learners/{key}) or "
        "correct the number.",
        f"Tidak ada peserta dengan kunci {key}; tambahkan dulu pesertanya (PUT "
        f"/v1/learners/{key}) atau perbaiki nomornya.",
        "learner_not_found",
    )


def _full(cohort: Cohort) -> RowError:
    name = name_of(cohort.number)
    return _error(
        "nip",
        f"All {cohort.capacity} seats of {name} are taken and it keeps no waitlist; enrol "
        "this learner in another cohort or ask the organiser to raise the capacity.",
        f"Seluruh {cohort.capacity} kursi {name} sudah terisi dan angkatan ini tidak memakai "
        "daftar tunggu; daftarkan peserta ini di angkatan lain atau minta penyelenggara "
        "menambah kapasitas.",
        "cohort_full",
    )


_NON_ASN = (
    "This course is for civil servants (ASN) only; remove this non-ASN learner or ask the "
    "organiser to open the course to non-ASN learners.",
    "Pelatihan ini hanya untuk ASN; hapus peserta non-ASN ini atau minta penyelenggara "
    "membuka pelatihan untuk peserta non-ASN.",
)
_OVERLAP = (
    "The learner is already enrolled in another cohort of this course whose dates overlap "
    "this one; withdraw that enrolment first or remove the row.",
    "Peserta sudah terdaftar di angkatan lain pelatihan ini yang tanggalnya bertumpang "
    "tindih; tarik dulu pendaftaran itu atau hapus baris ini.",
)


@dataclass
class _Plan:
    """What the rows decided so far: the seats given, who is in the cohort now."""

    principal: Principal
    cohort: Cohort
    course: Course
    enrolled: dict[str, str]  # learner -> live enrolment id (rows decided so far included)
    withdrawn: dict[str, tuple[str, int]]  # learner -> (id, version) of a withdrawn one
    overlapping: set[str]
    now: datetime
    seated: int = 0
    waiting: int = 0
    seq: int = 0

    def decide(
        self,
        row: RosterRow,
        key: str | None,
        field: str,
        found: tuple[str, str, AsnType] | None,
        new: list[dict[str, Any]],
        again: list[dict[str, Any]],
    ) -> BulkRowResult:
        """One row's outcome, in row order; a seat taken goes to ``new`` or ``again``."""
        cohort, principal = self.cohort, self.principal
        if key and row.errors == []:
            if found is None or not (
                owns(principal, cohort.agency_id) or owns(principal, found[1])
            ):
                row.errors.append(_not_found(field, key))  # another agency's: not disclosed
            elif found[2] == AsnType.non_asn and not self.course.open_to_non_asn:
                row.errors.append(_error(field, *_NON_ASN, "non_asn_not_allowed"))
            elif found[0] not in self.enrolled and found[0] in self.overlapping:
                row.errors.append(_error(field, *_OVERLAP, "overlapping_enrollment"))
        outcome, enrollment_id, queue_no = Out.rejected, None, None
        if not row.errors and found is not None:
            if found[0] in self.enrolled:
                outcome, enrollment_id = Out.already_enrolled, self.enrolled[found[0]]
            elif cohort.capacity is None or self.seated < cohort.capacity:
                outcome, self.seated = Out.created, self.seated + 1
            elif cohort.waitlist_enabled:
                outcome, self.waiting, self.seq = Out.waitlisted, self.waiting + 1, self.seq + 1
                queue_no = self.seq
            else:
                row.errors.append(_full(cohort))
        if outcome in (Out.created, Out.waitlisted):
            assert found is not None
            enrollment_id = self._seat(found[0], queue_no, new, again)
        return BulkRowResult(  # a plain dataclass: no validation (10,000 cost ~0.1 s)
            row.number,
            key,
            outcome,
            enrollment_id,
            [e.as_error(row.number) for e in row.errors] if row.errors else _NO_ERRORS,
        )

    def _seat(
        self,
        learner_id: str,
        queue_no: int | None,
        new: list[dict[str, Any]],
        again: list[dict[str, Any]],
    ) -> str:
        status = EnrollmentStatus.waitlisted if queue_no else EnrollmentStatus.proposed
        earlier = self.withdrawn.pop(learner_id, None)
        if earlier is not None:
            enrollment_id = earlier[0]
            again.append(
                {"b_id": enrollment_id, "status": status, "queue_no": queue_no,
                 "version": earlier[1] + 1, "updated_at": self.now}
            )  # fmt: skip
        else:
            enrollment_id = new_id("enr")
            new.append(
                {"id": enrollment_id, "cohort_id": self.cohort.id, "course_id": self.course.id,
                 "agency_id": self.cohort.agency_id, "learner_id": learner_id, "status": status,
                 "queue_no": queue_no, "self_enrolled": False, "version": 1,
                 "created_at": self.now, "updated_at": self.now}
            )  # fmt: skip
        self.enrolled[learner_id] = enrollment_id  # the same learner twice is already_enrolled
        return enrollment_id


def bulk_enrol(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    rows: Iterable[RosterRow],
    query: BulkQuery,
    warnings: list[dict[str, Any]] | None = None,
) -> BulkResult:
    """Decide and write ``rows`` a chunk of ``WRITE_CHUNK`` at a time, in one transaction:
    a rejected row in ``all_or_nothing`` mode stops the writing and the end rolls back what
    earlier chunks wrote, so the database sees every row or none, as before. Chunks keep
    the worker's memory flat (a 10,000-row import held every row's insert parameters at
    once: 179 MB peak RSS at 1,000,000 learners, bench/scale.py)."""
    cohort, course = single.open_cohort(session, principal, cohort_id)
    enrolled, withdrawn = _in_cohort(session, cohort.id)
    plan = _Plan(principal, cohort, course, enrolled, withdrawn, _overlapping(session, cohort),
                 utcnow(), cohort.seats_taken, cohort.waitlist_length, cohort.waitlist_seq)  # fmt: skip
    strict = query.mode == BulkMode.all_or_nothing
    results: list[BulkRowResult] = []
    changed = rejected = False
    for chunk in batched(rows, WRITE_CHUNK):
        keyed = [(row, *(_key_of(row) if not row.errors else (None, "nip"))) for row in chunk]
        learners = _learners(session, sorted({k for _, k, _ in keyed if k}))
        new: list[dict[str, Any]] = []
        again: list[dict[str, Any]] = []  # withdrawn enrolments enrolled again: same row
        for row, key, field in keyed:
            results.append(plan.decide(row, key, field, learners.get(key or ""), new, again))
            rejected = rejected or results[-1].outcome is Out.rejected
        changed = changed or bool(new or again)
        if (new or again) and not query.dry_run and not (rejected and strict):
            _write(session, principal, new, again, plan.now)
            learner_ids = [item["learner_id"] for item in new]  # re-enrolled rows kept theirs
            grants.grant_enrolled(
                session, course_id=course.id, organiser=cohort.agency_id, learner_ids=learner_ids
            )
    counts = dict.fromkeys(Out, 0)
    for result in results:
        counts[result.outcome] += 1
    write = changed and not query.dry_run and not (rejected and strict)
    answer = BulkResult(
        mode=query.mode,
        dry_run=query.dry_run,
        written=write,
        counts=counts,
        rows=results,
        warnings=warnings or [],
    )
    if rejected and strict and not query.dry_run:
        session.rollback()  # the chunks written before the rejected row go too
        raise _rejected(answer)
    if not write:
        session.rollback()
        return answer
    cohort.seats_taken, cohort.waitlist_length, cohort.waitlist_seq = (
        plan.seated, plan.waiting, plan.seq
    )  # fmt: skip
    session.add(cohort)
    commit_or_409(session, single.duplicate_race())
    return answer


def _in_cohort(
    session: Session, cohort_id: str
) -> tuple[dict[str, str], dict[str, tuple[str, int]]]:
    """Learner -> live enrolment id; learner -> (id, version) of a withdrawn one."""
    live: dict[str, str] = {}
    withdrawn: dict[str, tuple[str, int]] = {}
    statement = select(
        col(Enrollment.learner_id), col(Enrollment.id), col(Enrollment.status),
        col(Enrollment.version),
    ).where(col(Enrollment.cohort_id) == cohort_id)  # fmt: skip
    for learner_id, enrollment_id, status, version in session.exec(statement):
        if status == EnrollmentStatus.withdrawn:
            withdrawn[learner_id] = (enrollment_id, version)
        else:
            live[learner_id] = enrollment_id
    return live, withdrawn


def _write(
    session: Session,
    principal: Principal,
    new: list[dict[str, Any]],
    again: list[dict[str, Any]],
    now: datetime,
) -> None:
    """New rows and their first history event; reactivated rows and their next event."""
    if new:
        session.execute(insert(Enrollment.__table__), new)  # type: ignore[attr-defined]
    if again:
        table = Enrollment.__table__  # type: ignore[attr-defined]
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=bindparam("status"),
                queue_no=bindparam("queue_no"),
                version=bindparam("version"),
                updated_at=bindparam("updated_at"),
                self_enrolled=False,
            ),  # fmt: skip
            again,
        )
    events = [
        {"id": new_id("eev"), "enrollment_id": item["id"], "seq": 1, "from_status": None,
         "to_status": item["status"], "reason": None}
        for item in new
    ] + [
        {"id": new_id("eev"), "enrollment_id": item["b_id"], "seq": item["version"],
         "from_status": EnrollmentStatus.withdrawn, "to_status": item["status"],
         "reason": single.REENROLLED}
        for item in again
    ]  # fmt: skip
    # Core writes skip the ORM hooks that feed the change log: one explicit call
    record_changes(
        session, ChangeType.enrollment, [item["id"] for item in new], event="enrollment.created"
    )
    record_changes(session, ChangeType.enrollment, [item["b_id"] for item in again])
    actor = {"actor_user_id": principal.subject, "actor_agency_id": principal.agency_id, "at": now}
    session.execute(
        insert(EnrollmentEvent.__table__),  # type: ignore[attr-defined]
        [e | actor for e in events],
    )


def _rejected(answer: BulkResult) -> ProblemError:
    bad = answer.counts[Out.rejected]
    return ProblemError(
        422,
        "bulk_rejected",
        f"{bad} of {len(answer.rows)} rows were rejected, so nothing was written "
        "(mode all_or_nothing). Correct the rows listed in rows[].errors and send the "
        "file again, or send it with mode=partial to write the good rows.",
        detail_id=f"{bad} dari {len(answer.rows)} baris ditolak, sehingga tidak ada yang "
        "disimpan (mode all_or_nothing). Perbaiki baris yang tercantum di rows[].errors lalu "
        "kirim ulang berkasnya, atau kirim dengan mode=partial untuk menyimpan baris yang "
        "benar.",
        extra=answer.model_dump(mode="json"),
    )
