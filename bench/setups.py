"""Setup hooks: run in the bench process after the temporary SQLite DB is migrated
and before any server starts. Each gets the shared ``Context`` and publishes values
for row templates in ``ctx.vars`` (ids, tokens). Keep them idempotent and fast."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Context:
    database_url: str
    vars: dict[str, str] = field(default_factory=dict)


Setup = Callable[[Context], None]


def bearer_token(ctx: Context) -> None:
    """An agency, an agency admin and a valid access token: ``{agency_id}``,
    ``{user_id}``, ``{token}``. The server shares BANGKOM_SECRET_KEY with this process."""
    from app.core.db import session_scope
    from app.core.security import Principal, create_access_token
    from app.models import Agency, User
    from app.models.agency import AgencyKind

    with session_scope(write=True) as session:
        agency = Agency(
            name="Instansi Benchmark",
            slug="instansi-bench",
            kind=AgencyKind.regency_city,
            timezone="Asia/Jakarta",
        )
        session.add(agency)
        session.flush()
        user = User(
            agency_id=agency.id,
            email="bench@instansi-bench.example",
            email_normalized="bench@instansi-bench.example",
            full_name="Pengguna Benchmark",
            roles=["agency_admin"],
            password_hash="!no-login",  # never verified: the bench uses a token
        )
        session.add(user)
        session.commit()
        principal = Principal(subject=user.id, agency_id=agency.id, roles=frozenset(user.roles))
        token, _ = create_access_token(principal, ttl_seconds=3600)
    ctx.vars.update(agency_id=agency.id, user_id=user.id, token=token)


def catalogue(ctx: Context) -> None:
    """2,000 published courses of one agency, made through the service (as an admin
    would), plus a token: ``{course_id}`` (one in the middle), ``{course_etag}``."""
    if "token" not in ctx.vars:
        bearer_token(ctx)
    from decimal import Decimal

    from app.core.db import session_scope
    from app.core.security import Principal
    from app.models.course import (
        CompetencyType,
        CourseCreate,
        CourseKind,
        CourseStatus,
        Delivery,
    )
    from app.services.courses import create_course

    principal = Principal(
        subject=ctx.vars["user_id"],
        agency_id=ctx.vars["agency_id"],
        roles=frozenset({"agency_admin"}),
    )
    ids = []
    with session_scope(write=True) as session:
        for n in range(2000):
            data = CourseCreate(
                code=f"BENCH-{n:04d}",
                title=f"Pelatihan Sosial Kultural Jenjang {n % 5 + 1} Angkatan {n}",
                summary="Pelatihan blended learning bagi pengawas, 73 JP.",
                kind=CourseKind.training,
                competency_type=CompetencyType.socio_cultural,
                delivery=Delivery.blended,
                total_jp=Decimal(73),
                tags=["sosial-kultural", "pengawas"],
                status=CourseStatus.published,
            )
            doc = create_course(session=session, principal=principal, data=data)
            ids.append((doc.id, doc.etag))
    course_id, etag = ids[len(ids) // 2]
    ctx.vars.update(course_id=course_id, course_etag=etag)


def certificates(ctx: Context) -> None:
    """A cohort in evaluation with 200 passed enrolments, their certificates issued through
    the service: ``{verify_code}`` (one in the middle) for the public /verify/{code} row."""
    if "token" not in ctx.vars:
        bearer_token(ctx)
    from datetime import date
    from decimal import Decimal

    from sqlmodel import col, select

    from app.core.db import session_scope
    from app.core.security import Principal
    from app.models import Certificate, Cohort, Enrollment, Learner
    from app.models.cohort import CohortStatus
    from app.models.course import CompetencyType, CourseCreate, CourseKind, CourseStatus, Delivery
    from app.models.enrollment import EnrollmentStatus
    from app.models.learner import AsnType
    from app.services.courses import create_course
    from app.services.learning import certificates as issuing

    principal = Principal(
        subject=ctx.vars["user_id"],
        agency_id=ctx.vars["agency_id"],
        roles=frozenset({"agency_admin"}),
    )
    with session_scope(write=True) as session:
        course = create_course(
            session=session,
            principal=principal,
            data=CourseCreate(
                code="PSK-BENCH",
                title="Pelatihan Sosial Kultural Jenjang Pengawas",
                kind=CourseKind.training,
                competency_type=CompetencyType.socio_cultural,
                delivery=Delivery.blended,
                total_jp=Decimal(73),
                status=CourseStatus.published,
            ),
        )
        cohort = Cohort(
            agency_id=principal.agency_id,
            course_id=course.id,
            number=2,
            year=2025,
            starts_on=date(2025, 5, 14),
            ends_on=date(2025, 5, 26),
            timezone="Asia/Jakarta",
            venue="Gedung Diklat, Tigaraksa",
            status=CohortStatus.evaluation,
        )
        session.add(cohort)
        session.flush()
        learners = []
        for i in range(200):
            key = f"19800101200501{1 + i % 2}{i + 1:03d}"
            learners.append(
                Learner(
                    learner_key=key,
                    agency_id=principal.agency_id,
                    asn_type=AsnType.pns,
                    nip=key,
                    name=f"Peserta Benchmark {i}",
                    rank="III/a",
                    search=f"peserta benchmark {i} {key}",
                )
            )
        session.add_all(learners)
        session.flush()  # no ORM relationships: the rows go in the order they are flushed
        for i, learner in enumerate(learners):
            session.add(
                Enrollment(
                    cohort_id=cohort.id,
                    course_id=course.id,
                    agency_id=principal.agency_id,
                    learner_id=learner.id,
                    status=EnrollmentStatus.passed,
                    final_score_centi=8000 + i,
                    grade="memuaskan",
                )
            )
        session.commit()
        issuing.issue(session=session, principal=principal, cohort_id=cohort.id)
        codes = sorted(session.exec(select(col(Certificate.verification_code))).all())
    ctx.vars.update(verify_code=codes[len(codes) // 2])


def enrolment(ctx: Context) -> None:
    """Two open cohorts of one published course: ``{enrol_cohort_id}`` (no capacity
    bound, empty: the POST row fills it) and ``{roster_cohort_id}`` with 2,000 enrolled
    learners (the roster page row), plus a token."""
    if "token" not in ctx.vars:
        bearer_token(ctx)
    from datetime import date
    from decimal import Decimal

    from sqlalchemy import insert

    from app.core.db import session_scope
    from app.core.security import Principal
    from app.models import Cohort, Enrollment, EnrollmentEvent, Learner
    from app.models.base import new_id, utcnow
    from app.models.cohort import CohortStatus
    from app.models.course import (
        CompetencyType,
        CourseCreate,
        CourseKind,
        CourseStatus,
        Delivery,
    )
    from app.services.courses import create_course

    agency_id = ctx.vars["agency_id"]
    principal = Principal(
        subject=ctx.vars["user_id"], agency_id=agency_id, roles=frozenset({"agency_admin"})
    )
    with session_scope(write=True) as session:
        course = create_course(
            session=session,
            principal=principal,
            data=CourseCreate(
                code="BENCH-ENROL",
                title="Pelatihan Dasar CPNS (benchmark pendaftaran)",
                kind=CourseKind.training,
                competency_type=CompetencyType.basic,
                delivery=Delivery.blended,
                total_jp=Decimal(647),
                status=CourseStatus.published,
            ),
        )
        cohorts = [
            Cohort(
                agency_id=agency_id, course_id=course.id, number=n, year=2025 + n,
                starts_on=date(2025 + n, 5, 14), ends_on=date(2025 + n, 5, 26),
                timezone="Asia/Jakarta", status=CohortStatus.open,
            )
            for n in (1, 2)
        ]  # fmt: skip
        session.add_all(cohorts)
        session.flush()
        roster = cohorts[1]
        now, learners, enrolments = utcnow(), [], []
        for i in range(2000):
            key = f"198501012010{i // 999 % 12 + 1:02d}1{i % 999 + 1:03d}"
            learner_id, enrollment_id = new_id("lrn"), new_id("enr")
            learners.append(
                {"id": learner_id, "learner_key": key, "agency_id": agency_id,
                 "asn_type": "pns", "nip": key, "name": f"Peserta Roster {i}",
                 "search": f"peserta roster {i} {key}", "version": 1,
                 "created_at": now, "updated_at": now}
            )  # fmt: skip
            enrolments.append(
                {"id": enrollment_id, "cohort_id": roster.id, "course_id": course.id,
                 "agency_id": agency_id, "learner_id": learner_id, "status": "proposed",
                 "queue_no": None, "self_enrolled": False, "version": 1,
                 "created_at": now, "updated_at": now}
            )  # fmt: skip
        session.execute(insert(Learner.__table__), learners)  # type: ignore[attr-defined]
        session.execute(insert(Enrollment.__table__), enrolments)  # type: ignore[attr-defined]
        session.execute(
            insert(EnrollmentEvent.__table__),  # type: ignore[attr-defined]
            [
                {"id": new_id("eev"), "enrollment_id": e["id"], "seq": 1, "from_status": None,
                 "to_status": "proposed", "reason": None, "actor_user_id": principal.subject,
                 "actor_agency_id": agency_id, "at": now}
                for e in enrolments
            ],
        )  # fmt: skip
        roster.seats_taken = len(enrolments)
        session.add(roster)
        session.commit()
        ctx.vars.update(enrol_cohort_id=cohorts[0].id, roster_cohort_id=roster.id)


def change_feed(ctx: Context) -> None:
    """The catalogue's 2,000 courses are 2,000 entries of the change log (the session hook
    writes one per created course): ``{feed_cursor}``, a cursor with every one of them after
    it (the feed row reads 1,000 from there), and ``{courses_since}``, an RFC 3339 instant
    at which the newest 200 courses changed (``updated_since`` on the course list)."""
    if "course_id" not in ctx.vars:
        catalogue(ctx)
    from sqlalchemy import func, select
    from sqlmodel import col

    from app.core.db import session_scope
    from app.models import Course
    from app.models.change import Change
    from app.services.sync import feed

    with session_scope() as session:
        first = session.execute(select(func.min(col(Change.seq)))).scalar_one()
        entries = session.execute(select(func.count()).select_from(Change)).scalar_one()
        stamps = session.execute(
            select(col(Course.updated_at)).order_by(col(Course.updated_at), col(Course.id))
        ).scalars()
        since = list(stamps)[-200]
    assert entries >= 2000, f"the change log has {entries} entries; the feed row reads 1,000"
    ctx.vars.update(
        feed_cursor=feed.encode(first - 1),
        courses_since=since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
