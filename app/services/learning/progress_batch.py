"""The rules of a progress record, for one (PUT) or up to 10,000 (batch).

Addresses are resolved with a few set-based queries (enrolments by id, enrolments by
cohort and learner key, cohorts, modules), then every record is checked on its own
(errors per field, in both languages); ``progress_store.write`` stores the good ones.

Outcomes: ``created`` (a new row), ``updated`` (a newer record replaced the row),
``unchanged`` (the stored row already is this record: same source, external id and time),
``stale`` (the stored row is newer, or as new, from another record; or a newer record
for the same module came later in the same batch), ``rejected`` (errors say why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select
from sqlmodel import Session

from app.core.bulk import stamp_for
from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Cohort, Enrollment, Learner
from app.models.cohort import CohortStatus
from app.models.curriculum import CurriculumModule
from app.models.enrollment import EnrollmentStatus
from app.models.progress import ProgressStatus
from app.services.learning import learners as core
from app.services.learning.keys import parse_key
from app.services.learning.roster_cells import RowError
from app.services.visibility import owns

EN = Enrollment.__table__.c  # type: ignore[attr-defined]
H = Cohort.__table__.c  # type: ignore[attr-defined]
L = Learner.__table__.c  # type: ignore[attr-defined]
M = CurriculumModule.__table__.c  # type: ignore[attr-defined]
CHUNK = 500  # values per IN (...) list: well under every engine's bound-parameter limit
# Progress is kept for seated enrolments and for evaluated ones (a late record may still
# count when the organiser evaluates again); not for waiting, withdrawn or dropped ones.
WRITABLE = frozenset(
    {
        EnrollmentStatus.proposed,
        EnrollmentStatus.verified,
        EnrollmentStatus.active,
        EnrollmentStatus.passed,
        EnrollmentStatus.failed,
    }
)
FINAL_COHORT = frozenset({CohortStatus.completed, CohortStatus.cancelled})


class Record(Protocol):
    """What the rules read of a record: a ``ProgressBatchItem``, or the record an
    xAPI statement makes (app/services/xapi/progress.py, built without validation)."""

    @property
    def enrollment_id(self) -> str | None: ...
    @property
    def cohort_id(self) -> str | None: ...
    @property
    def learner_key(self) -> str | None: ...
    @property
    def module_id(self) -> str: ...
    @property
    def status(self) -> ProgressStatus: ...
    @property
    def percent(self) -> int | None: ...
    @property
    def score(self) -> Decimal | None: ...
    @property
    def jp_earned(self) -> Decimal | None: ...
    @property
    def time_spent_minutes(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def external_id(self) -> str: ...


def may_write(principal: Principal, organiser_id: str) -> bool:
    """Who records progress: the organising agency's admins and platform admins (the one
    place to widen, e.g. for integration clients with ``progress:write``)."""
    return owns(principal, organiser_id) and principal.has_role("agency_admin")


@dataclass(slots=True)
class Target:
    enrollment_id: str
    cohort_id: str
    status: str


@dataclass(slots=True)
class Resolved:
    """What the checks need, read once for the whole batch."""

    by_id: dict[str, Target]
    by_key: dict[tuple[str, str], Target]
    cohorts: dict[str, tuple[str, str, str | None]]  # id -> organiser, status, curriculum
    modules: dict[str, tuple[str, int, bool]]  # id -> curriculum, jp_halves, assessed
    keys: dict[str, str | RowError]  # raw learner_key -> canonical key, or its problem
    writable: set[str]  # cohorts whose progress the caller may write
    issued: set[str]  # cohorts whose certificates are issued: their results are final
    stamp: Callable[[datetime], Any]  # an instant as this engine's driver takes it


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _key(raw: str) -> str | RowError:
    try:
        return parse_key(raw, today=core.today()).key
    except ProblemError as exc:
        return RowError(
            "learner_key", exc.detail or "", exc.detail_id or exc.detail or "", "key_invalid"
        )


def resolve(session: Session, items: Sequence[Record], principal: Principal) -> Resolved:
    ids = sorted({i.enrollment_id for i in items if i.enrollment_id})
    keys = {raw: _key(raw) for raw in {i.learner_key for i in items if i.learner_key}}
    by_id: dict[str, Target] = {}
    for part in _chunks(ids):
        rows = session.execute(select(EN.id, EN.cohort_id, EN.status).where(EN.id.in_(part))).all()
        by_id.update({r[0]: Target(r[0], r[1], r[2]) for r in rows})
    wanted = sorted({k for k in keys.values() if isinstance(k, str)})
    key_cohorts = sorted({i.cohort_id for i in items if i.cohort_id and i.learner_key})
    by_key: dict[tuple[str, str], Target] = {}
    if wanted and key_cohorts:
        for part in _chunks(wanted):
            rows = session.execute(
                select(EN.id, EN.cohort_id, EN.status, L.learner_key)
                .select_from(Enrollment.__table__.join(Learner.__table__, L.id == EN.learner_id))  # type: ignore[attr-defined]
                .where(EN.cohort_id.in_(key_cohorts), L.learner_key.in_(part))
            ).all()
            by_key.update({(r[1], r[3]): Target(r[0], r[1], r[2]) for r in rows})
    cohort_ids = sorted({t.cohort_id for t in by_id.values()} | set(key_cohorts))
    cohorts: dict[str, tuple[str, str, str | None]] = {}
    issued: set[str] = set()
    for part in _chunks(cohort_ids):
        rows = session.execute(
            select(H.id, H.agency_id, H.status, H.curriculum_id, H.certificates_issued_at).where(
                H.id.in_(part)
            )
        ).all()
        cohorts.update({r[0]: (r[1], r[2], r[3]) for r in rows})
        issued.update(r[0] for r in rows if r[4] is not None)
    modules: dict[str, tuple[str, int, bool]] = {}
    for part in _chunks(sorted({i.module_id for i in items})):
        rows = session.execute(
            select(M.id, M.curriculum_id, M.jp_halves, M.assessed).where(M.id.in_(part))
        ).all()
        modules.update({r[0]: (r[1], r[2], bool(r[3])) for r in rows})
    writable = {c for c, (organiser, _, _) in cohorts.items() if may_write(principal, organiser)}
    stamp = stamp_for(session.get_bind().dialect.name)
    return Resolved(by_id, by_key, cohorts, modules, keys, writable, issued, stamp)


# --- the rules of one record ------------------------------------------------------------


def _err(field: str, kind: str, en: str, id_: str) -> RowError:
    return RowError(field, en, id_, kind)


def _target(item: Record, found: Resolved) -> Target | RowError:
    if item.enrollment_id is not None:
        if item.cohort_id is not None or item.learner_key is not None:
            return _err(
                "enrollment_id",
                "address_invalid",
                "Name the enrolment either by enrollment_id or by cohort_id and learner_key, "
                "not both; remove one of them.",
                "Sebutkan pendaftaran dengan enrollment_id atau dengan cohort_id dan "
                "learner_key, tidak keduanya; hapus salah satunya.",
            )
        target = found.by_id.get(item.enrollment_id)
        if target is None or target.cohort_id not in found.writable:
            return _err(
                "enrollment_id",
                "enrollment_not_found",
                f"No enrolment has id {item.enrollment_id} in a cohort your agency "
                "organises; check the id.",
                f"Tidak ada pendaftaran dengan id {item.enrollment_id} pada angkatan yang "
                "diselenggarakan instansi Anda; periksa id tersebut.",
            )
        return target
    if item.cohort_id is None or item.learner_key is None:
        return _err(
            "enrollment_id",
            "address_missing",
            "Name the enrolment: send enrollment_id, or cohort_id and learner_key.",
            "Sebutkan pendaftarannya: kirim enrollment_id, atau cohort_id dan learner_key.",
        )
    if item.cohort_id not in found.writable:
        return _err(
            "cohort_id",
            "cohort_not_found",
            f"No cohort has id {item.cohort_id} among those your agency organises; check the id.",
            f"Tidak ada angkatan dengan id {item.cohort_id} di antara angkatan yang "
            "diselenggarakan instansi Anda; periksa id tersebut.",
        )
    key = found.keys[item.learner_key]
    if isinstance(key, RowError):
        return key
    target = found.by_key.get((item.cohort_id, key))
    if target is None:
        return _err(
            "learner_key",
            "not_enrolled",
            f"The learner {key} is not enrolled in cohort {item.cohort_id}; enrol them "
            "first or correct the key.",
            f"Peserta {key} tidak terdaftar di angkatan {item.cohort_id}; daftarkan dulu "
            "atau perbaiki kuncinya.",
        )
    return target


def _state_errors(target: Target, cohort_status: str, issued: bool) -> RowError | None:
    if target.status not in WRITABLE:
        return _err(
            "enrollment_id",
            "enrollment_not_active",
            f"The enrolment is {target.status}; progress is recorded only for seated "
            "enrolments (proposed, verified, active) and evaluated ones (passed, failed). "
            "Seat the learner first or leave the record out.",
            f"Pendaftaran berstatus {target.status}; kemajuan hanya dicatat untuk "
            "pendaftaran yang mendapat kursi (proposed, verified, active) dan yang sudah "
            "dievaluasi (passed, failed). Beri peserta kursi dulu atau hapus catatan ini.",
        )
    if cohort_status in FINAL_COHORT:
        return _err(
            "enrollment_id",
            "cohort_final",
            f"The cohort is {cohort_status}; its progress no longer changes. Leave the record out.",
            f"Angkatan berstatus {cohort_status}; kemajuannya tidak dapat diubah lagi. "
            "Hapus catatan ini.",
        )
    if issued:
        return _err(
            "enrollment_id",
            "certificates_issued",
            "The cohort's certificates are issued, so its results are final and its "
            "progress no longer changes. Leave the record out.",
            "Sertifikat angkatan ini sudah diterbitkan sehingga hasilnya final dan "
            "kemajuannya tidak dapat diubah lagi. Hapus catatan ini.",
        )
    return None


def _field_errors(item: Record, module: tuple[str, int, bool]) -> tuple[list[RowError], int, int]:
    """Problems of the values, the percent and the JP halves to store."""
    errors: list[RowError] = []
    _curriculum, jp_halves, assessed = module
    completed = item.status == ProgressStatus.completed
    percent = item.percent if item.percent is not None else (100 if completed else 0)
    if completed and percent != 100:
        errors.append(
            _err(
                "percent",
                "percent_not_complete",
                "A completed module is 100 percent done; send percent 100 (or leave it "
                "out), or status in_progress.",
                "Modul yang selesai berarti 100 persen; kirim percent 100 (atau kosongkan), "
                "atau status in_progress.",
            )
        )
    if item.score is not None and not assessed:
        errors.append(
            _err(
                "score",
                "score_not_assessed",
                "This module is not assessed, so it takes no score; leave score out.",
                "Modul ini tidak dinilai sehingga tidak menerima nilai; kosongkan score.",
            )
        )
    if item.jp_earned is None:
        halves = jp_halves if completed else 0
    else:
        halves = int(item.jp_earned * 2)
        if halves > jp_halves:
            most = Decimal(jp_halves) / 2
            errors.append(
                _err(
                    "jp_earned",
                    "jp_over_module",
                    f"The module has {most.normalize():f} JP; send jp_earned of at most that.",
                    f"Modul ini berbobot {most.normalize():f} JP; kirim jp_earned paling "
                    "banyak sebesar itu.",
                )
            )
    return errors, percent, halves


def check(
    item: Record, found: Resolved
) -> tuple[Target | None, list[RowError], dict[str, Any] | None]:
    """The record's enrolment, its problems, and the row to write when it has none (ids
    and times are filled in by :func:`write`)."""
    target = _target(item, found)
    if isinstance(target, RowError):
        return None, [target], None
    organiser, cohort_status, curriculum_id = found.cohorts[target.cohort_id]
    problem = _state_errors(target, cohort_status, target.cohort_id in found.issued)
    if problem is not None:
        return target, [problem], None
    module = found.modules.get(item.module_id)
    if module is None or curriculum_id is None or module[0] != curriculum_id:
        return (
            target,
            [
                _err(
                    "module_id",
                    "module_not_in_curriculum",
                    f"Module {item.module_id} is not in the curriculum of this enrolment's "
                    f"cohort; use a module id from GET /v1/enrollments/"
                    f"{target.enrollment_id}/progress.",
                    f"Modul {item.module_id} tidak termasuk kurikulum angkatan pendaftaran "
                    f"ini; gunakan id modul dari GET /v1/enrollments/"
                    f"{target.enrollment_id}/progress.",
                )
            ],
            None,
        )
    errors, percent, halves = _field_errors(item, module)
    if errors:
        return target, errors, None
    return (
        target,
        [],
        {
            "enrollment_id": target.enrollment_id,
            "module_id": item.module_id,
            "status": item.status.value,
            "percent": percent,
            "score_centi": None if item.score is None else int(item.score * 100),
            "jp_earned_halves": halves,
            "time_spent_minutes": item.time_spent_minutes,
            "occurred_at": found.stamp(item.occurred_at),
            "source": item.source,
            "external_id": item.external_id,
            "version": 1,
        },
    )
