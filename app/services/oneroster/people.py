"""Users: learners as role ``student``, instructors as role ``teacher``.

A learner -> user with role student (NIP / NI PPPK / external reference as ``userIds``);
an agency user with the instructor role, or teaching a session of one of the agency's
cohorts (``cohort_teacher``: always a user of the cohort's agency) -> user with role
teacher; one taken off every session and without the role, or who lost the role without
teaching (``oneroster_tombstone``), is kept, ``tobedeleted``, with the removal's
``dateLastModified``. The agency sees its home learners and, read-only and
without their email, the learners of other agencies it sees through ``learner_grant``
(enrolled in a cohort it organises or partners: the rule of /v1/learners,
app/services/visibility.py); a guest's ``dateLastModified`` is the later of the learner's
and the grant's, so a delta sync sees a guest appear. A learner the agency stops seeing
(the grant ended, or a home learner moved away) stays, ``tobedeleted`` and without their
personal data, from ``oneroster_tombstone`` (app/services/oneroster/tombstones.py) until
the agency sees them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select, union_all
from sqlmodel import col

from app.models.grant import LearnerGrant
from app.models.learner import Learner
from app.models.oneroster import OneRosterTombstone, TombstoneKind
from app.models.teaching import CohortTeacher
from app.models.user import User
from app.services.oneroster.query import DATETIME, Field
from app.services.oneroster.rostering import base_kinds, fields_of, latest, soft_status
from app.services.oneroster.views import Ctx, View, head

G = LearnerGrant.__table__.c  # type: ignore[attr-defined]
T = OneRosterTombstone.__table__.c  # type: ignore[attr-defined]


def _instructor_role() -> Any:
    return cast(col(User.roles), String).like('%"instructor"%')


def _pairs(agency_id: str, *, active: bool = False) -> Any:
    """The user's ``cohort_teacher`` rows in the agency (only the taught ones: ``active``)."""
    T = CohortTeacher
    statement = select(col(T.user_id)).where(
        col(T.agency_id) == agency_id, col(T.user_id) == col(User.id)
    )
    return statement.where(col(T.removed_at).is_(None)) if active else statement


def teacher_filter(agency_id: str) -> Any:
    """An agency user with the instructor role, or one who teaches or taught a session of
    the agency's cohorts, or lost the role (kept, ``tobedeleted``, once they teach nothing
    and lack the role; the role's removal moved their ``updated_at``)."""
    lost_role = select(T.object_id).where(
        T.agency_id == agency_id,
        T.kind == TombstoneKind.teacher.value,
        T.object_id == col(User.id),
    )
    return (col(User.agency_id) == agency_id) & (
        _instructor_role() | _pairs(agency_id).exists() | lost_role.exists()
    )


def _students(agency_id: str, *, home: bool) -> Any:
    # a guest's key is learner_grant's: its primary key (agency_id, learner_id) walks them
    # in id order, as ix_learner_agency_id walks the home learners
    changed: Any = col(Learner.updated_at)
    if not home:  # granted later than the learner's last change: the guest appeared then
        changed = latest(changed, func.coalesce(G.granted_at, changed))
    statement = select(
        (col(Learner.id) if home else G.learner_id).label("sourcedId"),
        literal("active").label("status"),
        changed.label("dateLastModified"),
        col(Learner.name).label("givenName"),
        literal("").label("familyName"),
        literal("student").label("role"),
        # a guest's email belongs to their home agency (as in /v1/learners)
        (col(Learner.email) if home else literal(None, String)).label("email"),
        col(Learner.learner_key).label("identifier"),
        col(Learner.agency_id).label("org_id"),
        col(Learner.nip).label("nip"),
        col(Learner.ni_pppk).label("ni_pppk"),
        col(Learner.external_ref).label("external_ref"),
    )
    if home:
        return statement.where(col(Learner.agency_id) == agency_id)
    return statement.join(LearnerGrant, G.learner_id == col(Learner.id)).where(
        G.agency_id == agency_id, col(Learner.agency_id) != agency_id
    )


def _left(agency_id: str) -> Any:
    """Learners the agency no longer sees (neither home nor granted): tombstones only."""
    home_again = select(col(Learner.id)).where(
        col(Learner.id) == T.object_id, col(Learner.agency_id) == agency_id
    )
    granted_again = select(G.learner_id).where(
        G.agency_id == agency_id, G.learner_id == T.object_id
    )
    return select(
        T.object_id.label("sourcedId"),
        literal("tobedeleted").label("status"),
        T.removed_at.label("dateLastModified"),
        literal("").label("givenName"),
        literal("").label("familyName"),
        literal("student").label("role"),
        literal(None, String).label("email"),
        literal(None, String).label("identifier"),  # None: a tombstone (see _user)
        T.agency_id.label("org_id"),
        literal(None, String).label("nip"),
        literal(None, String).label("ni_pppk"),
        literal(None, String).label("external_ref"),
    ).where(
        T.agency_id == agency_id,
        T.kind == TombstoneKind.student.value,
        ~home_again.exists(),
        ~granted_again.exists(),
    )


def _teachers(agency_id: str) -> Any:
    pairs_changed = (
        select(func.max(col(CohortTeacher.updated_at)))
        .where(col(CohortTeacher.agency_id) == agency_id)
        .where(col(CohortTeacher.user_id) == col(User.id))
        .scalar_subquery()
    )
    # no longer a teacher: deactivated, or neither the role nor a session taught
    gone = col(User.is_active).is_(False) | ~(
        _instructor_role() | _pairs(agency_id, active=True).exists()
    )
    return select(
        col(User.id).label("sourcedId"),
        soft_status(gone).label("status"),
        # without the role, a teaching assignment made or removed may make or end the
        # teacher: delta syncs see it (with the role, the account alone says)
        case(
            (_instructor_role(), col(User.updated_at)),
            else_=latest(col(User.updated_at), func.coalesce(pairs_changed, col(User.updated_at))),
        ).label("dateLastModified"),
        col(User.full_name).label("givenName"),
        literal("").label("familyName"),
        literal("teacher").label("role"),
        col(User.email).label("email"),
        col(User.email).label("identifier"),
        col(User.agency_id).label("org_id"),
        literal(None, String).label("nip"),
        literal(None, String).label("ni_pppk"),
        literal(None, String).label("external_ref"),
    ).where(teacher_filter(agency_id))


def users(agency_id: str, *, role: str | None = None) -> View:
    """Disjoint parts, each read on its own index in id order (home learners:
    ix_learner_agency_id; guests: learner_grant's primary key, then the learner's; the
    agency's few teachers), merged by the database. One ``OR`` instead made it scan and
    sort every learner (2.8 s for a page of 150,000); guests read from the enrolments read
    every enrolment of the agency for each page and count (bench/oneroster.py: 0.37-0.52 s
    a first page at 100,000 learners on SQLite)."""
    parts: list[Any] = []
    if role in (None, "student"):
        parts += [
            _students(agency_id, home=True),
            _students(agency_id, home=False),
            _left(agency_id),
        ]
    if role in (None, "teacher"):
        parts.append(_teachers(agency_id))
    # the guests' keys and count from learner_grant's primary key alone (index-only): it
    # never names a learner's home agency (app/services/learning/grants.py keeps it so,
    # transfers included), so the join to learner only fetches the page's rows. Joined,
    # PostgreSQL hashed and sorted every guest for a deep page (offset 100,000 of 150,000
    # with 50,000 guests: 134 ms -> 14 ms for the keys, the count 97 -> 6 ms)
    lean = {1: select(G.learner_id.label("sourcedId")).where(G.agency_id == agency_id)}
    merged: Any = parts[0] if len(parts) == 1 else union_all(*parts)
    sq = merged.subquery("users")
    fields = fields_of(sq, **base_kinds(), givenName="str", familyName="str", email="str",
                       identifier="str")  # fmt: skip
    fields["dateLastModified"] = Field(
        sq.c.dateLastModified, DATETIME, since=lambda value: sq.c.sourcedId.in_(
            _changed_since(agency_id, value))
    )  # fmt: skip
    fields["username"] = Field(sq.c.identifier)
    fields["role"] = Field(sq.c.role)
    fields["roles.role"] = Field(sq.c.role)
    fields["primaryOrg.sourcedId"] = Field(sq.c.org_id)
    names = ("sourcedId", "status", "dateLastModified", "metadata", "username", "userIds",
             "enabledUser", "givenName", "familyName", "roles", "primaryOrg", "identifier",
             "email")  # fmt: skip
    return View(sq, fields, _user, names, lean=lean if role in (None, "student") else {})


def _changed_since(agency_id: str, value: Any) -> Any:
    """The keys whose dateLastModified may be ``>= value``: learners changed since
    (ix_learner_updated_at_id), the agency's grants made since
    (ix_learner_grant_agency_granted) and tombstones, and the agency's staff users (a few:
    a teacher's date is the latest of the account's and its teaching pairs'). A delta sync
    computed the latest of a guest's and the grant's for every guest instead. A poll with
    nothing to return, 60,000 learners (20,000 guests), in process, load 5-6: PostgreSQL
    users 128 -> 17 ms (10.6 ms before guests had a grant date), students 134 -> 14 ms
    (7.2); SQLite users 123 -> 14.5 ms, students 124 -> 10 ms (both scanned before)."""
    return union_all(
        select(col(Learner.id)).where(col(Learner.updated_at) >= value),
        select(G.learner_id).where(G.agency_id == agency_id, G.granted_at >= value),
        select(T.object_id).where(
            T.agency_id == agency_id,
            T.kind == TombstoneKind.student.value,
            T.removed_at >= value,
        ),
        select(col(User.id)).where(col(User.agency_id) == agency_id),
    )


def _user(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    if row["identifier"] is None:  # a learner the agency no longer sees: no personal data
        org = ctx.ref("org", row["org_id"])
        return {
            **head(row),
            "metadata": {"bangkom.kind": "learner", "bangkom.removed": True},
            "enabledUser": "false",
            "givenName": "",
            "familyName": "",
            "roles": [{"roleType": "primary", "role": "student", "org": org}],
        }
    ids = []
    if row["nip"]:
        ids.append({"type": "NIP", "identifier": row["nip"]})
    if row["ni_pppk"]:
        ids.append({"type": "NI PPPK", "identifier": row["ni_pppk"]})
    if row["external_ref"]:
        ids.append({"type": "external_ref", "identifier": row["external_ref"]})
    org = ctx.ref("org", row["org_id"])
    out = {
        **head(row),
        "metadata": {"bangkom.kind": "learner" if row["role"] == "student" else "instructor"},
        "username": row["identifier"],
        "userIds": ids,
        "enabledUser": "true" if row["status"] == "active" else "false",
        "givenName": row["givenName"],
        "familyName": row["familyName"],
        "roles": [{"roleType": "primary", "role": row["role"], "org": org}],
        "primaryOrg": org,
        "identifier": row["identifier"],
    }
    if row["email"]:
        out["email"] = row["email"]
    return out
