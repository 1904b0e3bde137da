"""Voiding takes back progress: where a module's stored record is a voided statement's,
the newest remaining statement for the same module and enrolment is put back, or the
record removed when none is left (app/services/xapi/progress.py says how a statement
becomes progress)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col
from sqlmodel import select as sqlmodel_select

from app.core.security import Principal
from app.models.base import utcnow
from app.models.progress import ProgressRecord
from app.models.xapi import XapiStatement
from app.services.learning import progress_batch as rules
from app.services.oneroster import tombstones
from app.services.xapi.progress import StatementRecord, _addressed, item_of


def undo(session: Session, principal: Principal, voided: Sequence[XapiStatement]) -> None:
    """Voided statements take back their progress: where the stored record is a voided
    statement's, the newest remaining statement for the same module and enrolment is put
    back, or the record removed when none is left. Only where the progress rules still
    allow a write (not after the cohort closed or its certificates were issued). Written
    with the ORM, so the change log records it as it records every progress write."""
    for row in voided:
        if row.unmatched or row.enrollment_id is None or row.module_id is None:
            continue
        record = session.exec(
            sqlmodel_select(ProgressRecord).where(
                col(ProgressRecord.enrollment_id) == row.enrollment_id,
                col(ProgressRecord.module_id) == row.module_id,
            )
        ).first()
        if record is None or (record.source, record.external_id) != ("xapi", row.statement_id):
            continue
        if _checked(session, principal, json.loads(row.body), row.enrollment_id) is None:
            continue  # the enrolment's progress is final
        rest = session.exec(
            sqlmodel_select(XapiStatement)
            .where(
                col(XapiStatement.agency_id) == row.agency_id,
                col(XapiStatement.enrollment_id) == row.enrollment_id,
                col(XapiStatement.module_id) == row.module_id,
                col(XapiStatement.voided).is_(False),
                col(XapiStatement.unmatched).is_(False),
                col(XapiStatement.id) != row.id,
            )
            .order_by(col(XapiStatement.timestamp).desc(), col(XapiStatement.stored).desc())
        ).first()
        checked = (
            None
            if rest is None
            else _checked(session, principal, json.loads(rest.body), row.enrollment_id)
        )
        if checked is None:
            tombstones.result_removed(session, record=record)  # OneRoster's delta sync
            session.delete(record)
            continue
        item, values = checked
        for name in ("status", "percent", "score_centi", "jp_earned_halves", "time_spent_minutes"):
            setattr(record, name, values[name])
        record.occurred_at = item.occurred_at
        record.source, record.external_id = item.source, item.external_id
        record.version += 1
        record.updated_at = utcnow()
        session.add(record)
    session.flush()


def _checked(
    session: Session, principal: Principal, statement: dict[str, Any], enrollment_id: str
) -> tuple[StatementRecord, dict[str, Any]] | None:
    addressed = _addressed(statement)
    if addressed is None:
        return None
    item = item_of(statement, addressed[0], addressed[1], enrollment_id)
    found = rules.resolve(session, [item], principal)
    module = found.modules.get(item.module_id)
    if module is not None and not module[2]:
        item.score = None
    _target, errors, values = rules.check(item, found)
    return None if errors or values is None else (item, values)
