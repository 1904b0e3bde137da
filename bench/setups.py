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
