"""Writing progress: one record (PUT) or up to 10,000 (batch), through the same rules.

Addresses are resolved with a few set-based queries (enrolments by id, enrolments by
cohort and learner key, cohorts, modules), every record is checked on its own (errors per
field, in both languages), and the good ones go to the database in one
``INSERT ... ON CONFLICT (enrollment_id, module_id) DO UPDATE ... WHERE excluded.occurred_at
> progress_record.occurred_at`` executemany, returning the rows it wrote. So the database,
not Python, decides what is newer: a replay or an older record (LMS platforms retry and
reorder) changes nothing, also when two batches race. Rows go in (enrolment, module)
order, so two PostgreSQL transactions lock the rows they share in the same order and
never deadlock. ORM objects for 10,000 rows cost ~1 s (/work/shared/performance.md);
Core costs a tenth of that.

Outcomes: ``created`` (a new row), ``updated`` (a newer record replaced the row),
``unchanged`` (the stored row already is this record: same source, external id and time),
``stale`` (the stored row is newer, or as new, from another record; or a newer record
for the same module came later in the same batch), ``rejected`` (errors say why).
"""

from __future__ import annotations

import base64
import functools
import itertools
import operator
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Table, column, select, table, tuple_
from sqlmodel import Session

from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Cohort, Enrollment, Learner
from app.models.base import UTCDateTime, utcnow
from app.models.cohort import CohortStatus
from app.models.curriculum import CurriculumModule
from app.models.enrollment import EnrollmentStatus
from app.models.progress import ProgressBatchItem, ProgressOutcome, ProgressRecord, ProgressStatus
from app.services.learning import learners as core
from app.services.learning.keys import parse_key
from app.services.learning.roster_cells import RowError
from app.services.visibility import owns

T: Table = ProgressRecord.__table__  # type: ignore[attr-defined]
EN = Enrollment.__table__.c  # type: ignore[attr-defined]
H = Cohort.__table__.c  # type: ignore[attr-defined]
L = Learner.__table__.c  # type: ignore[attr-defined]
M = CurriculumModule.__table__.c  # type: ignore[attr-defined]
CHUNK = 500  # values per IN (...) list: well under every engine's bound-parameter limit
Out = ProgressOutcome
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


def _stamp(dialect: str) -> Callable[[datetime], Any]:
    """Instants as the column stores them, so no type processing runs per row: SQLite keeps
    SQLAlchemy's text form of the UTC time (fixed width: compares as it sorts), PostgreSQL
    takes the aware datetime itself."""
    if dialect == "sqlite":
        return lambda at: at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return lambda at: at


def resolve(session: Session, items: Sequence[ProgressBatchItem], principal: Principal) -> Resolved:
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
    for part in _chunks(cohort_ids):
        rows = session.execute(
            select(H.id, H.agency_id, H.status, H.curriculum_id).where(H.id.in_(part))
        ).all()
        cohorts.update({r[0]: (r[1], r[2], r[3]) for r in rows})
    modules: dict[str, tuple[str, int, bool]] = {}
    for part in _chunks(sorted({i.module_id for i in items})):
        rows = session.execute(
            select(M.id, M.curriculum_id, M.jp_halves, M.assessed).where(M.id.in_(part))
        ).all()
        modules.update({r[0]: (r[1], r[2], bool(r[3])) for r in rows})
    writable = {c for c, (organiser, _, _) in cohorts.items() if may_write(principal, organiser)}
    stamp = _stamp(session.get_bind().dialect.name)
    return Resolved(by_id, by_key, cohorts, modules, keys, writable, stamp)


# --- the rules of one record ------------------------------------------------------------


def _err(field: str, kind: str, en: str, id_: str) -> RowError:
    return RowError(field, en, id_, kind)


def _target(item: ProgressBatchItem, found: Resolved) -> Target | RowError:
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


def _state_errors(target: Target, cohort_status: str) -> RowError | None:
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
    return None


def _field_errors(
    item: ProgressBatchItem, module: tuple[str, int, bool]
) -> tuple[list[RowError], int, int]:
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
    item: ProgressBatchItem, found: Resolved
) -> tuple[Target | None, list[RowError], dict[str, Any] | None]:
    """The record's enrolment, its problems, and the row to write when it has none (ids
    and times are filled in by :func:`write`)."""
    target = _target(item, found)
    if isinstance(target, RowError):
        return None, [target], None
    organiser, cohort_status, curriculum_id = found.cohorts[target.cohort_id]
    problem = _state_errors(target, cohort_status)
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


_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789abcdefghjkmnpqrstvwxyz"
)


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids exactly as ``models.base.new_id`` makes them (the time in ms, then 80
    random bits, in Crockford base 32) but encoded in one ``base64`` call: 10,000 in ~5 ms
    instead of ~30. Each id is 20 bytes (4 zero, 6 of time, 10 random) = 32 base-32
    characters, of which the first 6 only encode the zero padding."""
    head = b"\0\0\0\0" + int(time.time() * 1000).to_bytes(6, "big")
    noise = os.urandom(10 * count)
    raw = b"".join([head + noise[n : n + 10] for n in range(0, 10 * count, 10)])
    text = base64.b32encode(raw).translate(_CROCKFORD).decode()
    return [f"{prefix}_{text[n + 6 : n + 32]}" for n in range(0, 32 * count, 32)]


# --- writing -----------------------------------------------------------------------------

_UPDATED = (
    "status",
    "percent",
    "score_centi",
    "jp_earned_halves",
    "time_spent_minutes",
    "occurred_at",
    "source",
    "external_id",
    "updated_at",
)


# The table without column types, for reading stored values in the form the rows hold
# them (see _stamp).
LITE = table("progress_record", *(column(c.name) for c in T.columns))
COLUMNS = tuple(c.name for c in T.columns)
ROWS_PER_STATEMENT = 2_000  # x 14 values: under SQLite's 32,766 and PostgreSQL's 65,535


_CONFLICT = (
    " ON CONFLICT (enrollment_id, module_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPDATED)
    + ", version = progress_record.version + 1"
    " WHERE excluded.occurred_at > progress_record.occurred_at"
    " RETURNING enrollment_id, module_id, version"
)


def _pg_type(column: Any) -> str:
    if isinstance(column.type, UTCDateTime):
        return "timestamptz"
    return "int" if isinstance(column.type, Integer) else "text"


# PostgreSQL: one statement for the whole batch, a column per array (unnest), 14
# parameters in all. With multi-row VALUES psycopg spent ~0.9 s per 10,000 rows
# finding the 140,000 placeholders in the query text (it caches only short queries).
PG_UPSERT = (
    f"INSERT INTO progress_record ({', '.join(COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{_pg_type(c)}[]" for c in T.columns)
    + ")"
    + _CONFLICT
)


@functools.lru_cache(maxsize=16)
def _upsert_sql(dialect: str, count: int) -> str:
    """``count`` rows in one INSERT ... ON CONFLICT DO UPDATE ... RETURNING, in SQL both
    engines speak. Hand-written, with the values in one flat parameter list: SQLAlchemy's
    executemany (insertmanyvalues, the same multi-row statements) spent ~130 ms of Python
    per 10,000 rows building parameters, more than SQLite spent writing them
    (bench/progress_batch.py: write 0.18-0.21 s CPU with Core, ~0.06 s like this)."""
    one = "(" + ", ".join(["?"] * len(COLUMNS)) + ")"
    return (
        f"INSERT INTO progress_record ({', '.join(COLUMNS)}) VALUES "
        + ", ".join([one] * count)
        + _CONFLICT
    )


Pair = tuple[str, str]


def write(session: Session, rows: list[dict[str, Any]]) -> dict[Pair, Out]:
    """Upsert ``rows`` (one per (enrolment, module)); the outcome of each pair. Does not
    commit: the caller holds the transaction."""
    if not rows:
        return {}
    rows.sort(key=lambda r: (r["enrollment_id"], r["module_id"]))
    dialect = session.get_bind().dialect.name
    now = _stamp(dialect)(utcnow())
    for row, ident in zip(rows, new_ids("prg", len(rows)), strict=True):
        row["id"], row["created_at"], row["updated_at"] = ident, now, now
    values = operator.itemgetter(*COLUMNS)
    connection = session.connection()
    outcomes: dict[Pair, Out] = {}
    written: list[Any] = []
    if dialect == "postgresql":
        arrays = tuple(list(c) for c in zip(*map(values, rows), strict=True))
        written = list(connection.exec_driver_sql(PG_UPSERT, arrays).all())
    else:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            part = rows[start : start + ROWS_PER_STATEMENT]
            flat = tuple(itertools.chain.from_iterable(map(values, part)))
            written += connection.exec_driver_sql(_upsert_sql(dialect, len(part)), flat).all()
    for enrollment_id, module_id, version in written:
        outcomes[(enrollment_id, module_id)] = Out.created if version == 1 else Out.updated
    rest = [
        (r["enrollment_id"], r["module_id"])
        for r in rows
        if (r["enrollment_id"], r["module_id"]) not in outcomes
    ]
    if rest:
        stored: dict[Pair, tuple[str, str, Any]] = {}
        old = LITE.c  # untyped: occurred_at comes back in the form the rows hold it
        for pairs in _chunks(rest):
            found = session.execute(
                select(
                    old.enrollment_id, old.module_id, old.source, old.external_id, old.occurred_at
                ).where(tuple_(old.enrollment_id, old.module_id).in_(pairs))
            ).all()
            stored.update({(r[0], r[1]): (r[2], r[3], r[4]) for r in found})
        for row in rows:
            pair = (row["enrollment_id"], row["module_id"])
            if pair in outcomes:
                continue
            same = stored.get(pair) == (row["source"], row["external_id"], row["occurred_at"])
            outcomes[pair] = Out.unchanged if same else Out.stale
    return outcomes
