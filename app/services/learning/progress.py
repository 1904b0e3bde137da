"""Writing learner progress per module: PUT one record, POST a batch (reads: progress_reads).

Who writes: ``progress_batch.may_write`` (the organising agency's admins, platform
admins). Instructors do not: progress comes from the LMS, and instructors record
attendance. Who reads: whoever sees the enrolment (``visibility.enrollment_visible``:
organiser, partners, the learner's home agency, the learner's own login); others get 404.
The rules of a record and how it is written are in ``progress_batch``; both paths use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_jsonable_python
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.errors import ProblemError
from app.core.etag import resource_etag
from app.core.security import Principal
from app.models.catalogue import from_centi, halves_to_jp
from app.models.enrollment import BulkMode
from app.models.progress import (
    ProgressBatchItem,
    ProgressBatchQuery,
    ProgressIn,
    ProgressOutcome,
    ProgressRecord,
    ProgressRecordPublic,
)
from app.services.learning import progress_batch as rules
from app.services.learning import progress_store as store
from app.services.learning.enrollment_moves import visible
from app.services.learning.roster_cells import RowError

Out = ProgressOutcome

i18n.MESSAGES.update(
    {
        "progress_rejected": {
            "en": ("Progress records rejected", "Correct the rejected records and send again."),
            "id": (
                "Catatan kemajuan ditolak",
                "Perbaiki catatan yang ditolak lalu kirim ulang.",
            ),
        },
        "enrollment_not_active": {
            "en": ("Enrolment not active", "Progress is recorded only for seated enrolments."),
            "id": (
                "Pendaftaran tidak aktif",
                "Kemajuan hanya dicatat untuk pendaftaran yang mendapat kursi.",
            ),
        },
        "cohort_final": {
            "en": ("Cohort closed for changes", "The cohort is completed or cancelled."),
            "id": ("Angkatan tidak dapat diubah", "Angkatan sudah selesai atau dibatalkan."),
        },
        "certificates_issued": {
            "en": ("Certificates issued", "The cohort's results are final."),
            "id": ("Sertifikat sudah diterbitkan", "Hasil angkatan sudah final."),
        },
        "module_not_in_curriculum": {
            "en": ("Module not in the curriculum", "Use a module of the cohort's curriculum."),
            "id": (
                "Modul tidak termasuk kurikulum",
                "Gunakan modul dari kurikulum angkatan.",
            ),
        },
    }
)
# the status a single PUT answers for a record's first problem (others: 422)
_STATUS = {
    "module_not_in_curriculum": 404,
    "enrollment_not_active": 409,
    "cohort_final": 409,
    "certificates_issued": 409,
}


def public(record: ProgressRecord) -> ProgressRecordPublic:
    return ProgressRecordPublic(
        id=record.id,
        enrollment_id=record.enrollment_id,
        module_id=record.module_id,
        status=record.status,
        percent=record.percent,
        score=None if record.score_centi is None else from_centi(record.score_centi),
        jp_earned=halves_to_jp(record.jp_earned_halves),
        time_spent_minutes=record.time_spent_minutes,
        occurred_at=record.occurred_at,
        source=record.source,
        external_id=record.external_id,
        version=record.version,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _problem(errors: list[RowError]) -> ProblemError:
    first = errors[0]
    status = _STATUS.get(first.type)
    if status is not None:
        return ProblemError(status, first.type, first.msg, detail_id=first.msg_id)
    return ProblemError(
        422,
        "validation_error",
        first.msg,
        detail_id=first.msg_id,
        errors=[
            {"loc": ["body", e.field], "msg": e.msg, "msg_id": e.msg_id, "type": e.type}
            for e in errors
        ],
    )


def put_progress(
    *,
    session: Session,
    principal: Principal,
    enrollment_id: str,
    module_id: str,
    data: ProgressIn,
) -> tuple[ProgressRecordPublic, str, ProgressOutcome]:
    enrollment, _learner, _course, _ = visible(session, principal, enrollment_id)
    if not rules.may_write(principal, enrollment.agency_id):
        raise ProblemError(
            403,
            "forbidden",
            "Only the organising agency's admins record progress; the learner's home "
            "agency and partner agencies may read it.",
            detail_id="Hanya admin instansi penyelenggara yang mencatat kemajuan; instansi "
            "asal peserta dan instansi mitra dapat membacanya.",
        )
    item = ProgressBatchItem.model_construct(
        **dict(data),
        enrollment_id=enrollment_id,
        cohort_id=None,
        learner_key=None,
        module_id=module_id,
    )
    _target, errors, row = rules.check(item, rules.resolve(session, [item], principal))
    if errors or row is None:
        raise _problem(errors)
    outcome = store.write(session, [row])[(enrollment_id, module_id)]
    session.commit()
    record = session.exec(
        select(ProgressRecord).where(
            col(ProgressRecord.enrollment_id) == enrollment_id,
            col(ProgressRecord.module_id) == module_id,
        )
    ).one()
    return public(record), resource_etag(record.id, record.version), outcome


def batch(
    *,
    session: Session,
    principal: Principal,
    items: Sequence[ProgressBatchItem],
    query: ProgressBatchQuery,
) -> dict[str, Any]:
    """Check every record, write the good ones (unless ``all_or_nothing`` finds a bad one,
    or ``dry_run``: then the writes run and are rolled back, so the outcomes are exact).

    The answer is a ``ProgressBatchAnswer`` as plain dicts: 10,000 result models cost
    more than the upsert itself (model_construct ~40 ms, validation ~100 ms)."""
    found = rules.resolve(session, items, principal)
    results: list[dict[str, Any]] = []
    rows: dict[store.Pair, dict[str, Any]] = {}  # the newest record of each pair
    winner: dict[store.Pair, int] = {}  # and its index
    pairs: list[store.Pair | None] = []
    for index, item in enumerate(items):
        target, errors, row = rules.check(item, found)
        results.append(
            {
                "index": index,
                "outcome": Out.rejected,
                "enrollment_id": target.enrollment_id if target else None,
                "module_id": item.module_id,
                "errors": [
                    {
                        "loc": ["body", "records", index, e.field],
                        "msg": e.msg,
                        "msg_id": e.msg_id,
                        "type": e.type,
                    }
                    for e in errors
                ],
            }
        )
        if row is None:
            pairs.append(None)
            continue
        pair: store.Pair = (row["enrollment_id"], item.module_id)
        pairs.append(pair)
        kept = rows.get(pair)
        if kept is None or row["occurred_at"] > kept["occurred_at"]:
            rows[pair], winner[pair] = row, index
    outcomes = store.write(session, list(rows.values()))
    for index, kept_pair in enumerate(pairs):
        if kept_pair is None:
            continue
        pair = kept_pair
        if winner[pair] == index:
            results[index]["outcome"] = outcomes[pair]
            continue
        item, won = items[index], items[winner[pair]]  # a newer one in the batch won
        same = (won.source, won.external_id, won.occurred_at) == (
            item.source,
            item.external_id,
            item.occurred_at,
        )
        results[index]["outcome"] = Out.unchanged if same else Out.stale
    counts = dict.fromkeys(Out, 0)
    for result in results:
        counts[result["outcome"]] += 1
    rejected = counts[Out.rejected] > 0
    refuse = rejected and query.mode == BulkMode.all_or_nothing
    changed = counts[Out.created] + counts[Out.updated] > 0
    written = changed and not query.dry_run and not refuse
    answer = {
        "mode": query.mode,
        "dry_run": query.dry_run,
        "written": written,
        "counts": counts,
        "results": results,
    }
    if not written:
        session.rollback()
        if refuse and not query.dry_run:
            raise _rejected(answer)
        return answer
    session.commit()
    return answer


def _rejected(answer: dict[str, Any]) -> ProblemError:
    bad, total = answer["counts"][Out.rejected], len(answer["results"])
    return ProblemError(
        422,
        "progress_rejected",
        f"{bad} of {total} records were rejected, so nothing was written (mode "
        "all_or_nothing). Correct the records listed in results[].errors and send the batch "
        "again, or send it with mode=partial to write the good records.",
        detail_id=f"{bad} dari {total} catatan ditolak, sehingga tidak ada yang disimpan "
        "(mode all_or_nothing). Perbaiki catatan yang tercantum di results[].errors lalu "
        "kirim ulang, atau kirim dengan mode=partial untuk menyimpan catatan yang benar.",
        extra=to_jsonable_python(answer),
    )
