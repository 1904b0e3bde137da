"""Statements become module progress, through the progress rules and store
(app/services/learning/progress_batch.py and progress_store.py): the same checks, the same
``ON CONFLICT ... WHERE excluded.occurred_at > stored`` upsert, the same change log.

A statement addresses progress when its verb is one of ``VERBS`` and its object is the
activity ``{BANGKOM_PUBLIC_URL}/activities/modules/{module_id}``. The learner is the
actor: an ``account`` whose ``name`` is the NIP (spaces allowed), under any ``homePage``
(an LMS names its users under its own; a NIP is national), or another learner key
(pppk:..., ext:...) under Bangkom's public URL (or a page under it, e.g.
``/agencies/{slug}``); or an ``mbox`` with the learner's e-mail. The enrolment is the learner's in a cohort
the caller's agency organises whose curriculum holds the module (a seated one first).

The record: ``completed``/``passed``/cmi5 ``satisfied`` -> completed; ``failed`` ->
in_progress (the score is kept, the JP are not earned); ``progressed`` -> in_progress
with the cmi5 progress extension as percent; ``attended`` -> completed when
``result.completion`` is true, else in_progress. Score: ``scaled`` x 100, else
``raw``/``max`` (from ``min``), two decimals, kept only for assessed modules. Duration:
whole minutes, half up. ``occurred_at`` is the statement's timestamp; ``source`` is
``xapi`` and ``external_id`` the statement id, so a replay is ``unchanged``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session, col
from sqlmodel import select as sqlmodel_select

from app.core.config import get_settings
from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Cohort, Enrollment, Learner
from app.models.base import utcnow
from app.models.curriculum import CurriculumModule
from app.models.progress import MAX_MINUTES, ProgressBatchItem, ProgressRecord, ProgressStatus
from app.models.xapi import XapiStatement
from app.services.learning import learners as core
from app.services.learning import progress_batch as rules
from app.services.learning import progress_store as store
from app.services.learning.keys import parse_key
from app.services.xapi.validate import duration, timestamp

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {
    ADL + "completed": "completed",
    ADL + "passed": "completed",
    "https://w3id.org/xapi/adl/verbs/satisfied": "completed",
    ADL + "failed": "failed",
    ADL + "progressed": "progressed",
    ADL + "attended": "attended",
}
NIP = re.compile(r"^\d{8} ?\d{6} ?\d ?\d{3}$")  # 18 digits, as people space them
CMI5_PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
EN = Enrollment.__table__.c  # type: ignore[attr-defined]
H = Cohort.__table__.c  # type: ignore[attr-defined]
L = Learner.__table__.c  # type: ignore[attr-defined]
M = CurriculumModule.__table__.c  # type: ignore[attr-defined]
CENT = Decimal("0.01")
MAX_EMAIL = 254  # learner.email
MAX_MODULE_ID = 40  # xapi_statement.module_id


def module_prefix() -> str:
    return get_settings().public_url.rstrip("/") + "/activities/modules/"


@dataclass(slots=True)
class Match:
    """What one statement did to progress."""

    enrollment_id: str | None = None
    module_id: str | None = None
    outcome: str | None = None
    unmatched: bool = False
    note: str | None = None
    learner_ref: str | None = None


def _learner_ref(actor: dict[str, Any]) -> str | None:
    """``key:<learner key>`` or ``mbox:<email>`` for an actor Bangkom can name."""
    if actor.get("objectType", "Agent") != "Agent":
        return None
    account = actor.get("account")
    home = get_settings().public_url.rstrip("/")
    if account is not None:
        page, name = account["homePage"].rstrip("/"), account["name"]
        ours = page == home or page.startswith(home + "/")
        if not ours and not NIP.match(name):
            return None  # another system's own account name: only a NIP is national
        try:
            return "key:" + parse_key(name, today=core.today()).key
        except ProblemError:
            return None
    if "mbox" in actor:
        mail = actor["mbox"][len("mailto:") :].lower()
        # no learner's e-mail is longer or holds a control character (nor may the column)
        if len(mail) <= MAX_EMAIL and mail.isprintable():
            return "mbox:" + mail
    return None


def _addressed(statement: dict[str, Any], prefix: str | None = None) -> tuple[str, str] | None:
    """(verb kind, module id) when the statement is about a module's progress."""
    kind = VERBS.get(statement["verb"]["id"])
    obj = statement["object"]
    if kind is None or obj.get("objectType", "Activity") != "Activity":
        return None
    prefix = prefix or module_prefix()
    if not obj["id"].startswith(prefix):
        return None
    return kind, obj["id"][len(prefix) :]


def score_of(result: dict[str, Any]) -> Decimal | None:
    score = result.get("score") or {}
    if "scaled" in score:
        value = Decimal(str(score["scaled"])) * 100
    elif "raw" in score and "max" in score:
        low, high = Decimal(str(score.get("min", 0))), Decimal(str(score["max"]))
        if high <= low:
            return None
        value = (Decimal(str(score["raw"])) - low) / (high - low) * 100
    elif "raw" in score and 0 <= score["raw"] <= 100:
        value = Decimal(str(score["raw"]))
    else:
        return None
    return min(max(value, Decimal(0)), Decimal(100)).quantize(CENT, ROUND_HALF_UP)


def item_of(
    statement: dict[str, Any], kind: str, module_id: str, enrollment_id: str
) -> ProgressBatchItem:
    result = statement.get("result") or {}
    percent: int | None = None
    if kind == "completed" or (kind == "attended" and result.get("completion") is True):
        status = ProgressStatus.completed
    else:
        status = ProgressStatus.in_progress
        progress = (result.get("extensions") or {}).get(CMI5_PROGRESS)
        if isinstance(progress, int) and not isinstance(progress, bool) and 0 <= progress < 100:
            percent = progress
    minutes = 0
    if "duration" in result:
        seconds = Decimal(duration(result["duration"], "duration").total_seconds())
        minutes = min(int((seconds / 60).quantize(Decimal(1), ROUND_HALF_UP)), MAX_MINUTES)
    return ProgressBatchItem.model_construct(
        status=status,
        percent=percent,
        score=score_of(result),
        jp_earned=None,
        time_spent_minutes=minutes,
        occurred_at=timestamp(statement["timestamp"], "timestamp"),
        source="xapi",
        external_id=statement["id"],
        enrollment_id=enrollment_id,
        cohort_id=None,
        learner_key=None,
        module_id=module_id,
    )


def _learners(session: Session, refs: set[str]) -> dict[str, set[str]]:
    """Learner id -> the refs (``key:...``, ``mbox:...``) of ``refs`` that name them."""
    keys = sorted(r[4:] for r in refs if r.startswith("key:"))
    mails = sorted(r[5:] for r in refs if r.startswith("mbox:"))
    who = []
    if keys:
        who.append(L.learner_key.in_(keys))
    if mails:
        who.append(func.lower(L.email).in_(mails))
    if not who:
        return {}
    rows = session.execute(select(L.id, L.learner_key, func.lower(L.email)).where(or_(*who)))
    return {ident: {f"key:{key}", f"mbox:{mail}"} & refs for ident, key, mail in rows}


def _enrolments(
    session: Session, agency_id: str, named: dict[str, set[str]], modules: set[str]
) -> dict[tuple[str, str], str]:
    """(learner ref, module) -> enrolment id in a cohort of ``agency_id`` whose curriculum
    holds the module; a seated or evaluated enrolment before others, then the newest.

    Led by the learners' ids (their index), not by the agency's cohorts: joined from the
    cohort, PostgreSQL read every enrolment of the cohort for each batch (70 ms a batch of
    100 with 2,000 learners in one cohort, growing with the cohort)."""
    if not named or not modules:
        return {}
    joined = Enrollment.__table__.join(Cohort.__table__, H.id == EN.cohort_id).join(  # type: ignore[attr-defined]
        CurriculumModule.__table__,  # type: ignore[attr-defined]
        M.curriculum_id == H.curriculum_id,
    )
    rows = session.execute(
        select(EN.id, EN.status, EN.learner_id, M.id)
        .select_from(joined)
        .where(
            EN.learner_id.in_(sorted(named)),
            H.agency_id == agency_id,
            M.id.in_(sorted(modules)),
        )
        .order_by(EN.id)
    ).all()
    found: dict[tuple[str, str], tuple[bool, str]] = {}
    for enrollment_id, status, learner_id, module_id in rows:
        rank = (status in rules.WRITABLE, enrollment_id)
        for ref in named[learner_id]:
            if rank > found.get((ref, module_id), (False, "")):
                found[(ref, module_id)] = rank
    return {pair: rank[1] for pair, rank in found.items()}


def _known_modules(session: Session, modules: set[str]) -> set[str]:
    if not modules:
        return set()
    return set(session.execute(select(M.id).where(M.id.in_(sorted(modules)))).scalars())


def apply(
    session: Session, principal: Principal, statements: Sequence[dict[str, Any]]
) -> list[Match]:
    """Write the progress of ``statements`` (complete, with ids and timestamps); what each
    did. Does not commit."""
    matches = [Match() for _ in statements]
    wanted: list[tuple[int, str, str, str]] = []  # index, kind, module, learner ref
    prefix = module_prefix()
    read: dict[tuple[Any, ...], str | None] = {}  # an LMS sends a learner's together
    for n, statement in enumerate(statements):
        addressed = _addressed(statement, prefix)
        if addressed is None:
            continue
        actor = statement["actor"]
        account = actor.get("account") or {}
        said = (
            actor.get("objectType"),
            account.get("homePage"),
            account.get("name"),
            actor.get("mbox"),
        )
        if said not in read:
            read[said] = _learner_ref(actor)
        ref = read[said]
        matches[n].learner_ref = ref
        # an id longer than any module's is no module (nor does it fit the column)
        matches[n].module_id = addressed[1] if len(addressed[1]) <= MAX_MODULE_ID else None
        if ref is None:
            matches[n].unmatched, matches[n].note = True, "learner_unknown"
            continue
        wanted.append((n, addressed[0], addressed[1], ref))
    if not wanted:
        return matches
    refs = {w[3] for w in wanted}
    modules = {w[2] for w in wanted}
    named = _learners(session, refs)
    enrolments = _enrolments(session, principal.agency_id, named, modules)
    missing = [w for w in wanted if (w[3], w[2]) not in enrolments]
    if missing:
        learners = set().union(*named.values())
        known = _known_modules(session, modules)
        for n, _kind, module_id, ref in missing:
            note = (
                "learner_unknown"
                if ref not in learners
                else "module_unknown"
                if module_id not in known
                else "not_enrolled"
            )
            matches[n].module_id = module_id if module_id in known else None
            matches[n].unmatched, matches[n].note = True, note
    items: list[tuple[int, ProgressBatchItem]] = [
        (n, item_of(statements[n], kind, module_id, enrolments[(ref, module_id)]))
        for n, kind, module_id, ref in wanted
        if (ref, module_id) in enrolments
    ]
    if not items:
        return matches
    found = rules.resolve(session, [i for _, i in items], principal)
    rows: dict[store.Pair, dict[str, Any]] = {}
    winner: dict[store.Pair, int] = {}
    for n, item in items:
        module = found.modules.get(item.module_id)
        if module is not None and not module[2]:
            item.score = None  # a score on an unassessed module is not progress's business
        target, errors, row = rules.check(item, found)
        match = matches[n]
        match.enrollment_id = item.enrollment_id
        if errors or row is None:
            match.unmatched, match.note = True, errors[0].type if errors else "rejected"
            continue
        pair = (row["enrollment_id"], item.module_id)
        kept = rows.get(pair)
        if kept is None or row["occurred_at"] > kept["occurred_at"]:
            rows[pair], winner[pair] = row, n
        match.outcome = "stale"
    outcomes = store.write(session, list(rows.values()))
    for pair, n in winner.items():
        matches[n].outcome = outcomes[pair].value
    return matches


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
) -> tuple[ProgressBatchItem, dict[str, Any]] | None:
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
