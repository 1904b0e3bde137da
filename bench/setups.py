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
