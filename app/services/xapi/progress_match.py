"""Finding the enrolments that statements address, and what the progress rules need to
check them, in one query a batch.

The common case (every statement names a learner enrolled in a cohort of the caller's
agency whose curriculum holds the module) takes one query: learners (by key, or by
e-mail through ``lower(email)``'s index) joined to their enrolments in the agency's
cohorts and those cohorts' modules. It also brings what ``progress_batch.check`` needs
(enrolment status, cohort organiser/status/curriculum/certificates, module JP and
assessment), so ``progress_batch.resolve`` (three more queries) is not run. Only when
some statement is not matched are the learners and modules read again, to say which
was unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlmodel import Session

from app.core.security import Principal
from app.models import Cohort, Enrollment, Learner
from app.models.curriculum import CurriculumModule
from app.services.learning import progress_batch as rules
from app.services.learning.progress_store import stamp_for

EN = Enrollment.__table__.c  # type: ignore[attr-defined]
H = Cohort.__table__.c  # type: ignore[attr-defined]
L = Learner.__table__.c  # type: ignore[attr-defined]
M = CurriculumModule.__table__.c  # type: ignore[attr-defined]
JOINED = (
    Learner.__table__.join(Enrollment.__table__, EN.learner_id == L.id)  # type: ignore[attr-defined]
    .join(Cohort.__table__, H.id == EN.cohort_id)  # type: ignore[attr-defined]
    .join(CurriculumModule.__table__, M.curriculum_id == H.curriculum_id)  # type: ignore[attr-defined]
)


@dataclass(slots=True)
class Found:
    """(learner ref, module) -> enrolment id, and the progress rules' view of them."""

    enrolments: dict[tuple[str, str], str]
    resolved: rules.Resolved


def _who(refs: set[str]) -> list[ColumnElement[bool]]:
    keys = sorted(r[4:] for r in refs if r.startswith("key:"))
    mails = sorted(r[5:] for r in refs if r.startswith("mbox:"))
    who: list[ColumnElement[bool]] = []
    if keys:
        who.append(L.learner_key.in_(keys))
    if mails:
        who.append(func.lower(L.email).in_(mails))
    return who


def enrolments(session: Session, principal: Principal, refs: set[str], modules: set[str]) -> Found:
    """The enrolment of each (learner ref, module) in a cohort of the caller's agency whose
    curriculum holds the module: a seated or evaluated enrolment before others, then the
    newest (the highest id)."""
    stamp = stamp_for(session.get_bind().dialect.name)
    resolved = rules.Resolved({}, {}, {}, {}, {}, set(), set(), stamp)
    who = _who(refs)
    if not who or not modules:
        return Found({}, resolved)
    rows = session.execute(
        select(
            EN.id,
            EN.status,
            EN.cohort_id,
            L.learner_key,
            func.lower(L.email),
            M.id,
            M.curriculum_id,
            M.jp_halves,
            M.assessed,
            H.agency_id,
            H.status,
            H.curriculum_id,
            H.certificates_issued_at,
        )
        .select_from(JOINED)
        .where(or_(*who), H.agency_id == principal.agency_id, M.id.in_(sorted(modules)))
        .order_by(EN.id)
    ).all()
    ranked: dict[tuple[str, str], tuple[bool, str]] = {}
    for row in rows:
        (enrollment_id, status, cohort_id, key, mail, module_id) = row[:6]
        resolved.by_id[enrollment_id] = rules.Target(enrollment_id, cohort_id, status)
        resolved.modules[module_id] = (row[6], row[7], bool(row[8]))
        resolved.cohorts[cohort_id] = (row[9], row[10], row[11])
        if row[12] is not None:
            resolved.issued.add(cohort_id)
        rank = (status in rules.WRITABLE, enrollment_id)
        for ref in {f"key:{key}", f"mbox:{mail}"} & refs:
            if rank > ranked.get((ref, module_id), (False, "")):
                ranked[(ref, module_id)] = rank
    resolved.writable.update(
        c
        for c, (organiser, _, _) in resolved.cohorts.items()
        if rules.may_write(principal, organiser)
    )
    return Found({pair: rank[1] for pair, rank in ranked.items()}, resolved)


def learner_refs(session: Session, refs: set[str]) -> set[str]:
    """The refs of ``refs`` that name a learner (any agency's)."""
    who = _who(refs)
    if not who:
        return set()
    rows = session.execute(select(L.learner_key, func.lower(L.email)).where(or_(*who)))
    named: set[str] = set()
    for key, mail in rows:
        named |= {f"key:{key}", f"mbox:{mail}"} & refs
    return named


def known_modules(session: Session, modules: set[str]) -> set[str]:
    if not modules:
        return set()
    return set(session.execute(select(M.id).where(M.id.in_(sorted(modules)))).scalars())
