"""Who may see which catalogue rows: the one home of the rule, in Python and in SQL.

Callers are anonymous, a member of an agency (any role; a partner agency named
in a course's ``partner_agency_ids`` is just another member) or a platform admin.

=====================  ===========================  ====================================
row                    anonymous / other agency     owning agency, platform admin
=====================  ===========================  ====================================
course                 published only               every status (draft, archived too)
cohort                 course published and cohort  every status
                       not draft/cancelled
curriculum version     published only (of a         every status
                       visible course)
session                as its cohort                as its cohort
learner                nobody (404; auth required)  home agency (any role: with birth
                       organiser/partner of a       date, email, phone), platform admin
                       cohort they are enrolled in
                       (read-only, no personal data)
enrolment              nobody                       learner's home agency, organiser,
                                                    course partners (read-only), platform;
                                                    the learner's own login (its own)
=====================  ===========================  ====================================

A learner login (role ``learner``, ``Principal.is_learner``) is no member of its agency:
it reads the catalogue exactly as anonymous does (``who`` answers ``anonymous``, ``owns``
answers False), and of the learners it sees only its own record, personal data included
(``learner_id`` / ``self_id`` below); every other learner is 404.

Learners and enrolments are the rows another agency may see only through a relation:
the organiser of a cohort (and the partner agencies of its course) sees the learners
enrolled in it (any enrolment status), read-only and without personal data, and those
enrolments. ``learner_visible`` takes that relation as ``through``: the agencies that
organise or partner a cohort the learner is enrolled in (``enrolment_agencies``).

Each rule has a Python form (for a row already loaded: single reads) and an SQL
form (for lists and filters) side by side; tests/test_visibility_rule.py checks
they agree on every status for every kind of caller. The SQL forms take ``me``,
the caller's agency id as a value or a bind parameter (cached statements).
Besides the single predicate, the lists use *branches*: the same set split into
disjoint conditions that each walk one index in keyset order (UNION ALL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import Text, and_, cast, false, or_, select, true
from sqlmodel import Session

from app.core.security import Principal
from app.models import Cohort, Course, Curriculum, Enrollment, Learner, LearnerGrant
from app.models.cohort import CohortStatus
from app.models.course import CourseStatus
from app.models.curriculum import CurriculumStatus

C = Course.__table__.c  # type: ignore[attr-defined]
H = Cohort.__table__.c  # type: ignore[attr-defined]
K = Curriculum.__table__.c  # type: ignore[attr-defined]
L = Learner.__table__.c  # type: ignore[attr-defined]
EN = Enrollment.__table__.c  # type: ignore[attr-defined]
GR = LearnerGrant.__table__.c  # type: ignore[attr-defined]

PUBLISHED = CourseStatus.published.value
HIDDEN_COHORT_STATUSES = (CohortStatus.draft.value, CohortStatus.cancelled.value)


class Who(StrEnum):
    anonymous = "anonymous"
    member = "member"
    platform = "platform"


def who(principal: Principal | None) -> Who:
    if principal is None or principal.is_learner:
        return Who.anonymous
    return Who.platform if principal.is_platform_admin else Who.member


# --- Python forms ------------------------------------------------------------------


def owns(principal: Principal | None, agency_id: str) -> bool:
    return (
        principal is not None
        and not principal.is_learner
        and (principal.is_platform_admin or principal.agency_id == agency_id)
    )


def is_self(principal: Principal | None, learner_id: str | None) -> bool:
    """A learner login reading its own learner record."""
    return (
        principal is not None
        and principal.is_learner
        and learner_id is not None
        and principal.learner_id == learner_id
    )


def course_visible(principal: Principal | None, agency_id: str, status: str) -> bool:
    return status == PUBLISHED or owns(principal, agency_id)


def cohort_visible(
    principal: Principal | None, agency_id: str, course_status: str, status: str
) -> bool:
    if owns(principal, agency_id):
        return True
    return course_status == PUBLISHED and status not in HIDDEN_COHORT_STATUSES


def curriculum_visible(principal: Principal | None, course_agency_id: str, status: str) -> bool:
    """A version of a course the caller may already see."""
    return status == CurriculumStatus.published.value or owns(principal, course_agency_id)


def learner_visible(
    principal: Principal | None,
    home_agency_id: str,
    learner_id: str | None = None,
    through: Callable[[], Iterable[str]] | Iterable[str] = (),
) -> bool:
    """The home agency, platform admins and the learner's own login; and, read-only, the
    agencies ``through`` which the learner is seen: organisers and partners of cohorts
    they are enrolled in (a callable is only called when the cheaper checks fail)."""
    if owns(principal, home_agency_id) or is_self(principal, learner_id):
        return True
    if principal is None or principal.is_learner:
        return False
    agencies = through() if callable(through) else through
    return principal.agency_id in set(agencies)


def enrolment_agencies(session: Session, learner_id: str) -> set[str]:
    """The ``through`` of ``learner_visible``: organisers of the learner's cohorts and the
    partner agencies of their courses."""
    rows = session.execute(
        select(EN.agency_id, C.partner_agency_ids)
        .select_from(Enrollment.__table__.join(Course.__table__, C.id == EN.course_id))  # type: ignore[attr-defined]
        .where(EN.learner_id == learner_id)
    ).all()
    return {a for organiser, partners in rows for a in (organiser, *(partners or []))}


def learner_personal_visible(
    principal: Principal | None, home_agency_id: str, learner_id: str | None = None
) -> bool:
    """Birth date, email and phone: the home agency's staff (any role), platform admins,
    the learner themselves."""
    return owns(principal, home_agency_id) or is_self(principal, learner_id)


def partner_of(principal: Principal | None, partner_agency_ids: list[str]) -> bool:
    return principal is not None and principal.agency_id in partner_agency_ids


def enrollment_visible(
    principal: Principal | None,
    home_agency_id: str,
    organiser_id: str,
    partners: list[str],
    learner_id: str | None = None,
) -> bool:
    """An enrolment: the learner's home agency, the cohort's organiser and the course's
    partner agencies (read-only), platform admins; and the learner's own login (its own
    enrolments only: ``learner_id`` is the enrolment's learner)."""
    if principal is not None and principal.is_learner:
        return is_self(principal, learner_id)
    return (
        owns(principal, home_agency_id)
        or owns(principal, organiser_id)
        or partner_of(principal, partners)
    )


# --- SQL forms (over the tables C course, H cohort, K curriculum) ---------------------


def partner_sql(me: str) -> Any:
    """C's partner_agency_ids (a JSON list) holds ``me``: the JSON text holds ``"me"``, which
    reads alike on SQLite and PostgreSQL (ids are quoted strings; LIKE wildcards escaped)."""
    return cast(C.partner_agency_ids, Text).contains(f'"{me}"', autoescape=True)


def course_branches(caller: Who, me: Any = None) -> list[Any]:
    """Disjoint conditions on C whose union is the visible courses."""
    if caller is Who.anonymous:
        return [C.status == PUBLISHED]
    if caller is Who.platform:
        return [true()]
    return [C.status == PUBLISHED, and_(C.agency_id == me, C.status != PUBLISHED)]


def course_visible_sql(caller: Who, me: Any = None) -> Any:
    return or_(*course_branches(caller, me))


def cohort_branches(caller: Who, me: Any = None) -> list[Any]:
    """Disjoint conditions on H joined (or correlated) with its course C."""
    public = and_(C.status == PUBLISHED, H.status.not_in(HIDDEN_COHORT_STATUSES))
    if caller is Who.anonymous:
        return [public]
    if caller is Who.platform:
        return [true()]
    return [and_(public, H.agency_id != me), H.agency_id == me]


def cohort_visible_sql(caller: Who, me: Any = None) -> Any:
    return or_(*cohort_branches(caller, me))


def curriculum_visible_sql(caller: Who, me: Any = None) -> Any:
    """Versions (K) of a course the caller may see (K.agency_id is the course's agency)."""
    published = K.status == CurriculumStatus.published.value
    if caller is Who.anonymous:
        return published
    if caller is Who.platform:
        return true()
    return or_(published, K.agency_id == me)


def learner_branches(caller: Who, me: Any = None, self_id: str | None = None) -> list[Any]:
    """Disjoint conditions on L whose union is the visible learners: the home agency's,
    and others' enrolled in a cohort ``me`` organises or partners (read-only): those are
    the learner_grant rows of ``me`` (app/services/learning/grants.py keeps them equal to
    what ``enrolment_agencies`` computes from the enrolments).
    ``self_id``: a learner login's own learner (its ``who`` is anonymous)."""
    if self_id is not None:
        return [L.id == self_id]
    if caller is Who.anonymous:
        return [false()]
    if caller is Who.platform:
        return [true()]
    granted = select(GR.learner_id).where(GR.agency_id == me)
    return [L.agency_id == me, and_(L.agency_id != me, L.id.in_(granted))]


def learner_list_branches(
    statement: Any, caller: Who, me: Any = None, self_id: str | None = None
) -> list[tuple[Any, Any]]:
    """``learner_branches`` as keyset statements over ``statement`` (a select of L), each
    with the column its page is ordered and resumed by. The "enrolled with me" branch is a
    join walking learner_grant's primary key (agency_id, learner_id) from the cursor: an
    ``IN (grants)`` would read all of the caller's grants on every page (bench/scale.py:
    the first page grew 9x for 10x the learners)."""
    branches = learner_branches(caller, me, self_id)
    if len(branches) == 1:
        return [(statement.where(branches[0]), L.id)]
    granted = statement.join(LearnerGrant.__table__, GR.learner_id == L.id).where(  # type: ignore[attr-defined]
        GR.agency_id == me, L.agency_id != me
    )
    # resumed on both sides of the join: bound on learner_grant alone, PostgreSQL walked
    # learner's primary key from its start (a deep page at 1,000,000 learners: 365 ms for
    # 475,969 rows filtered out; bound on both, a merge join from the cursor: 0.35 ms)
    return [(statement.where(branches[0]), L.id), (granted, (GR.learner_id, L.id))]


def learner_visible_sql(caller: Who, me: Any = None, self_id: str | None = None) -> Any:
    return or_(*learner_branches(caller, me, self_id))


def learner_self_id(principal: Principal | None) -> str | None:
    """The ``self_id`` of the SQL forms: the caller's own learner, for learner logins."""
    return principal.learner_id if principal is not None and principal.is_learner else None
