"""Writing the yearly JP ledger (``jp_record``): one credit per passed enrolment or attended
event, taken back when a re-evaluation says otherwise; and the external records (courses
taken elsewhere) the learner's home agency keeps by hand.

Credits of enrolments and events: callers hold the transaction: these functions add rows to
the session and never commit, so a credit and the outcome that earned it are written
together or not at all. A credit taken back is withdrawn, not deleted (``withdrawn_at``,
``withdrawn_reason``: app/models/jp.py), so a client syncing the ledger with
``updated_since`` sees it go; so is a deleted external record (reason ``deleted``). Every
write reaches the change feed as a ``jp_record`` entry (the session hook of
app/services/sync/changes.py; ``withdraw_credit`` writes with Core and names its rows). The
year is the year of the cohort's end date, which is already a date in the cohort's own time
zone (a cohort ending 31 December in Asia/Jayapura credits that year, whatever the UTC
instant).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import case, update
from sqlmodel import Session, col, select

from app.core.db import commit_or_409
from app.core.errors import ProblemError
from app.core.etag import check_if_match, resource_etag
from app.core.pagination import since_page
from app.core.security import Principal
from app.models.agency import Agency
from app.models.base import utcnow
from app.models.catalogue import halves_to_jp, jp_to_halves
from app.models.change import ChangeType
from app.models.cohort import Cohort
from app.models.course import Course
from app.models.enrollment import Enrollment
from app.models.jp import (
    JPRecord,
    JPRecordCreate,
    JPRecordPublic,
    JPRecordUpdate,
    JPSource,
    JPWithdrawal,
    SiasnKursus,
)
from app.models.learner import Learner
from app.services.learning.keys import parse_key
from app.services.learning.learners import by_key, not_found, owned, today
from app.services.sync.changes import record_changes
from app.services.validation import invalid, reject_nulls
from app.services.visibility import learner_personal_visible


def credit_enrollment(
    session: Session,
    *,
    enrollment: Enrollment,
    cohort: Cohort,
    course: Course,
    source: JPSource = JPSource.course,
    jp_halves: int | None = None,
    certificate_number: str | None = None,
) -> JPRecord:
    """Credit ``jp_halves`` (default: the course's total) to the learner's year for this
    enrolment; a second call updates the same credit (an enrolment has one live credit). A
    credit withdrawn for a changed outcome or attendance comes back (same row, new
    version); a revoked certificate's stays withdrawn and a new record is credited."""
    record = session.exec(
        select(JPRecord)
        .where(
            col(JPRecord.enrollment_id) == enrollment.id,
            col(JPRecord.withdrawn_reason).is_(None)
            | (col(JPRecord.withdrawn_reason) != JPWithdrawal.certificate_revoked),
        )
        .order_by(col(JPRecord.withdrawn_at).is_not(None), col(JPRecord.id))
    ).first()
    organiser = session.get(Agency, cohort.agency_id)
    values: dict[str, Any] = {
        "learner_id": enrollment.learner_id,
        "year": cohort.ends_on.year,
        "jp_halves": course.total_jp_halves if jp_halves is None else jp_halves,
        "source": source,
        "course_id": course.id,
        "title": course.title,
        "organiser": organiser.name if organiser else "",
        "starts_on": cohort.starts_on,
        "ends_on": cohort.ends_on,
    }
    if certificate_number is not None:
        values["certificate_number"] = certificate_number
    if record is None:
        record = JPRecord(enrollment_id=enrollment.id, **values)
    else:
        values.update(withdrawn_at=None, withdrawn_reason=None)
        if all(getattr(record, name) == value for name, value in values.items()):
            return record  # re-evaluated to the same credit: no new version, no feed entry
        for name, value in values.items():
            setattr(record, name, value)
        record.version += 1
        record.updated_at = utcnow()
    session.add(record)
    return record


def withdraw_credit(
    session: Session, *, enrollment_id: str, reason: JPWithdrawal | None = None
) -> None:
    """Take back the live credit of an enrolment: it is kept, withdrawn (not counted), with
    ``reason`` (default: ``attendance_changed`` for an event's credit, else
    ``outcome_changed``: re-evaluated as failed, or dropped)."""
    now = utcnow()
    why: Any = (
        reason
        if reason is not None
        else case(
            (col(JPRecord.source) == JPSource.event, JPWithdrawal.attendance_changed.value),
            else_=JPWithdrawal.outcome_changed.value,
        )
    )
    taken = session.execute(
        update(JPRecord)
        .where(col(JPRecord.enrollment_id) == enrollment_id, col(JPRecord.withdrawn_at).is_(None))
        .values(
            withdrawn_at=now,
            withdrawn_reason=why,
            version=col(JPRecord.version) + 1,
            updated_at=now,
        )
        .returning(col(JPRecord.id))
    )
    # written with Core, so the change log's session hook does not see it: say so
    record_changes(session, ChangeType.jp_record, list(taken.scalars()))


# --- external records: /v1/learners/{key}/jp-records -----------------------------------
# The ledger is the learner's personal data: their home agency (and platform admins) and
# their own login read it; its admins write the external records. Anyone else gets 404,
# the same rule as the learner's birth date (``learner_personal_visible``).

Saved = tuple[JPRecordPublic, str]  # a record and its ETag
ONE = TypeAdapter(JPRecordPublic)


def public(record: JPRecord) -> JPRecordPublic:
    return JPRecordPublic(
        **record.model_dump(exclude={"jp_halves", "recorded_by"}),
        jp=halves_to_jp(record.jp_halves),
    )


def saved(record: JPRecord) -> Saved:
    return public(record), resource_etag(record.id, record.version)


def record_url(learner_key: str, record_id: str) -> str:
    return f"/v1/learners/{learner_key}/jp-records/{record_id}"


def _clean(value: str) -> str:
    """Organiser names and certificate numbers compare with their spacing normalised."""
    return " ".join(value.split())


def _exists(learner_key: str, record_id: str) -> ProblemError:
    url = record_url(learner_key, record_id)
    return ProblemError(
        409,
        "jp_record_exists",
        f"This learner already has a JP record for this organiser and certificate number: "
        f"{url}. A certificate credits once; change that record instead.",
        detail_id=f"Peserta ini sudah memiliki catatan JP untuk penyelenggara dan nomor "
        f"sertifikat ini: {url}. Satu sertifikat hanya dihitung sekali; ubah catatan itu.",
        headers={"Location": url},
        extra={"record_url": url},
    )


def _raced() -> ProblemError:
    return ProblemError(
        409,
        "jp_record_exists",
        "Another request recorded this certificate for this learner just now; read the "
        "learner's JP records instead of recording it again.",
        detail_id="Permintaan lain baru saja mencatat sertifikat ini untuk peserta ini; baca "
        "catatan JP peserta alih-alih mencatatnya lagi.",
    )


def _bad_dates(starts_on: date, ends_on: date) -> ProblemError:
    return invalid(
        "ends_on",
        f"ends_on ({ends_on.isoformat()}) is before starts_on ({starts_on.isoformat()}); "
        "send the dates as the certificate states them.",
        f"ends_on ({ends_on.isoformat()}) lebih awal dari starts_on "
        f"({starts_on.isoformat()}); kirim tanggal sesuai yang tertulis di sertifikat.",
    )


def _duplicate_of(session: Session, record: JPRecord) -> JPRecord | None:
    with session.no_autoflush:
        return session.exec(
            select(JPRecord).where(
                col(JPRecord.learner_id) == record.learner_id,
                col(JPRecord.organiser) == record.organiser,
                col(JPRecord.certificate_number) == record.certificate_number,
                col(JPRecord.id) != record.id,
                _not_deleted(),
            )
        ).first()


def _not_deleted() -> Any:
    """Records that still hold their certificate (``uq_jp_record_external_kept``)."""
    reason = col(JPRecord.withdrawn_reason)
    return reason.is_(None) | (reason != JPWithdrawal.deleted)


def _save(session: Session, learner: Learner, record: JPRecord) -> None:
    if record.ends_on < record.starts_on:
        raise _bad_dates(record.starts_on, record.ends_on)
    record.year = record.ends_on.year
    twin = _duplicate_of(session, record)
    if twin is not None:
        raise _exists(learner.learner_key, twin.id)
    session.add(record)
    commit_or_409(session, _raced())


def add_external(
    *, session: Session, principal: Principal, raw_key: str, data: JPRecordCreate
) -> tuple[Saved, str]:
    """Record a course taken elsewhere (the home agency's admins); answers it and its URL."""
    learner = owned(session, principal, raw_key)
    record = JPRecord(
        learner_id=learner.id,
        year=data.ends_on.year,
        jp_halves=jp_to_halves(data.jp),
        source=JPSource.external,
        title=_clean(data.title),
        organiser=_clean(data.organiser),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        certificate_number=_clean(data.certificate_number),
        recorded_by=principal.subject,
    )
    _save(session, learner, record)
    return saved(record), record_url(learner.learner_key, record.id)


def _record_of(session: Session, learner: Learner, record_id: str) -> JPRecord:
    """The learner's record. Writers hold the learner's row lock (``owned``, PostgreSQL;
    SQLite's writer holds the database), which serialises every write to one ledger: so
    parallel DELETEs delete once and a PATCH never revives a deleted record
    (tests/test_jp_records_deleted.py races them; it fails without that lock)."""
    record = session.get(JPRecord, record_id)
    if record is None or record.learner_id != learner.id:
        raise ProblemError(
            404,
            "not_found",
            f"Learner {learner.learner_key} has no JP record with id {record_id}; list "
            f"them at /v1/learners/{learner.learner_key}/jp-records.",
            detail_id=f"Peserta {learner.learner_key} tidak memiliki catatan JP dengan id "
            f"{record_id}; lihat daftarnya di /v1/learners/{learner.learner_key}/jp-records.",
        )
    if record.withdrawn_reason == JPWithdrawal.deleted:
        raise _deleted(learner.learner_key, record)
    return record


def _deleted(learner_key: str, record: JPRecord) -> ProblemError:
    """A deleted external record stays deleted: its URL answers 410 to every method (a
    wrong id is 404). The row is kept only so that syncs learn it went: it is listed,
    withdrawn, with ``updated_since`` or ``include_withdrawn=true``."""
    when = record.withdrawn_at.isoformat() if record.withdrawn_at else ""
    url = f"/v1/learners/{learner_key}/jp-records"
    return ProblemError(
        410,
        "jp_record_deleted",
        f"JP record {record.id} was deleted at {when}; it counts in no total and cannot be "
        f"read, changed or deleted again. To credit this certificate again, record it anew "
        f"with POST {url}.",
        detail_id=f"Catatan JP {record.id} sudah dihapus pada {when}; catatan ini tidak "
        f"dihitung dalam total mana pun dan tidak dapat dibaca, diubah, atau dihapus lagi. "
        f"Untuk mengkreditkan sertifikat ini lagi, catat sebagai catatan baru dengan "
        f"POST {url}.",
        extra={"deleted_at": when},
    )


def _external_only(record: JPRecord) -> None:
    if record.source != JPSource.external:
        raise ProblemError(
            409,
            "jp_record_read_only",
            f"This JP was credited by a {record.source.value} ({record.title}); it follows "
            "the cohort's evaluation or attendance and cannot be changed here.",
            detail_id=f"JP ini dikreditkan dari {_SOURCE_ID[record.source]} ({record.title}); "
            "nilainya mengikuti evaluasi atau presensi angkatan dan tidak dapat diubah di sini.",
        )


_SOURCE_ID = {JPSource.course: "pelatihan", JPSource.event: "kegiatan", JPSource.external: "luar"}


def update_external(
    *,
    session: Session,
    principal: Principal,
    raw_key: str,
    record_id: str,
    data: JPRecordUpdate,
    if_match: str | None,
) -> Saved:
    learner = owned(session, principal, raw_key)
    record = _record_of(session, learner, record_id)
    check_if_match(if_match, resource_etag(record.id, record.version))
    _external_only(record)
    values = data.model_dump(exclude_unset=True)
    reject_nulls(values, values.keys())
    before = record.model_dump()
    with session.no_autoflush:
        if "jp" in values:
            record.jp_halves = jp_to_halves(values.pop("jp"))
        for name, value in values.items():
            setattr(record, name, _clean(value) if isinstance(value, str) else value)
        record.year = record.ends_on.year
    if record.model_dump() != before:  # the same values again are not a new version
        record.version += 1
        record.updated_at = utcnow()
    _save(session, learner, record)
    return saved(record)


def delete_external(
    *, session: Session, principal: Principal, raw_key: str, record_id: str, if_match: str | None
) -> None:
    learner = owned(session, principal, raw_key)
    record = _record_of(session, learner, record_id)
    check_if_match(if_match, resource_etag(record.id, record.version))
    _external_only(record)
    # kept, withdrawn: a sync (updated_since, the change feed) must see it go
    now = utcnow()
    record.withdrawn_at, record.withdrawn_reason = now, JPWithdrawal.deleted
    record.version += 1
    record.updated_at = now
    session.add(record)
    session.commit()


def read_record(*, session: Session, principal: Principal, raw_key: str, record_id: str) -> Saved:
    learner = ledger_owner(session, principal, raw_key)
    return saved(_record_of(session, learner, record_id))


def ledger_owner(session: Session, principal: Principal, raw_key: str) -> Learner:
    """The learner whose ledger the caller may read: home agency staff, platform admins,
    the learner's own login; 404 for anyone else (the ledger is personal data)."""
    key = parse_key(raw_key, today=today()).key
    learner = by_key(session, key)
    if learner is None or not learner_personal_visible(principal, learner.agency_id, learner.id):
        raise not_found(key)
    return learner


def list_records(
    *,
    session: Session,
    principal: Principal,
    raw_key: str,
    year: int | None,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
    include_withdrawn: bool = False,
) -> tuple[Learner, list[JPRecord], str | None]:
    """A learner's live records in creation order (on the (learner_id, year, id) index);
    with ``updated_since`` those changed since, withdrawn ones included (a sync must see
    a credit go), in (updated_at, id) order; ``include_withdrawn``: withdrawn ones too."""
    learner = ledger_owner(session, principal, raw_key)
    statement = select(JPRecord).where(col(JPRecord.learner_id) == learner.id)
    if updated_since is None and not include_withdrawn:
        statement = statement.where(col(JPRecord.withdrawn_at).is_(None))
    if year is not None:
        statement = statement.where(col(JPRecord.year) == year)
    rows, next_cursor = since_page(
        session, statement, JPRecord, limit=limit, cursor=cursor, updated_since=updated_since
    )
    return learner, rows, next_cursor


def siasn(record: JPRecord) -> SiasnKursus:
    """The record in BKN SIASN's course-history terms (see SiasnKursus for the mapping)."""
    return SiasnKursus(
        namaKursus=record.title,
        jumlahJam=halves_to_jp(record.jp_halves),
        nomorSertipikat=record.certificate_number,
        tanggalKursus=record.starts_on.strftime("%d-%m-%Y"),
        tanggalSelesaiKursus=record.ends_on.strftime("%d-%m-%Y"),
        tahunKursus=record.year,
        institusiPenyelenggara=record.organiser,
        withdrawn_at=record.withdrawn_at,
    )
