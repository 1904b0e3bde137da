"""Reading statements: one by ``statementId``/``voidedStatementId``, or a StatementResult
filtered by ``agent``, ``verb``, ``activity``, ``registration`` (``related_agents``,
``related_activities``), ``since``/``until``, in ``stored`` order (``ascending``), a page
of ``limit`` with a ``more`` link carrying the same filters and a keyset cursor.

Voided statements are left out of lists and answer 404 by ``statementId``; only
``voidedStatementId`` returns them (xAPI Data 2.3.2, Communication 2.1.3).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from app.core import i18n
from app.core.errors import ProblemError
from app.core.pagination import id_page
from app.models.xapi import UnmatchedStatement, XapiAuthority, XapiStatement, XapiStatementRef
from app.services.xapi.query_format import shaped
from app.services.xapi.refs import agent_query_key, index_key
from app.services.xapi.validate import agent, timestamp, uuid

i18n.MESSAGES.update(
    {
        "xapi_bad_request": {
            "en": ("Bad xAPI request", "Correct the request as the message says."),
            "id": ("Permintaan xAPI tidak sah", "Perbaiki permintaan sesuai pesannya."),
        },
        "xapi_not_found": {
            "en": ("No such statement", "Check the statement id."),
            "id": ("Pernyataan tidak ditemukan", "Periksa id pernyataan."),
        },
    }
)
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
PARAMS = {
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "cursor",
}
__all__ = ["bad", "more_link", "one", "page", "parse", "shaped", "unmatched"]
SINGLE_OK = {"statementId", "voidedStatementId", "format", "attachments"}
S = XapiStatement.__table__.c  # type: ignore[attr-defined]
R = XapiStatementRef.__table__.c  # type: ignore[attr-defined]
A = XapiAuthority.__table__.c  # type: ignore[attr-defined]


def bad(en: str, id_: str) -> ProblemError:
    return ProblemError(400, "xapi_bad_request", en, detail_id=id_)


def _bool(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise bad(f"{name} must be true or false.", f"{name} harus true atau false.")
    return value == "true"


@dataclass
class Query:
    statement_id: str | None = None
    voided_id: str | None = None
    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_agents: bool = False
    related_activities: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    format: str = "exact"
    attachments: bool = False
    ascending: bool = False
    after: tuple[datetime, str] | None = None


def parse(params: dict[str, str], multi: set[str]) -> Query:
    unknown = sorted(set(params) - PARAMS)
    if unknown:
        raise bad(
            f"Unknown parameters {', '.join(unknown)}; the statement resource takes "
            f"{', '.join(sorted(PARAMS - {'cursor'}))}.",
            f"Parameter tidak dikenal {', '.join(unknown)}; sumber pernyataan menerima "
            f"{', '.join(sorted(PARAMS - {'cursor'}))}.",
        )
    if multi:
        raise bad(
            f"Give each parameter once (repeated: {', '.join(sorted(multi))}).",
            f"Berikan setiap parameter satu kali (berulang: {', '.join(sorted(multi))}).",
        )
    q = Query()
    single = [p for p in ("statementId", "voidedStatementId") if p in params]
    if single and (len(single) > 1 or set(params) - SINGLE_OK):
        raise bad(
            "statementId and voidedStatementId go alone (with format and attachments only).",
            "statementId dan voidedStatementId dipakai sendiri (hanya dengan format dan "
            "attachments).",
        )
    try:
        if "statementId" in params:
            q.statement_id = uuid(params["statementId"], "statementId").lower()
        if "voidedStatementId" in params:
            q.voided_id = uuid(params["voidedStatementId"], "voidedStatementId").lower()
        if "registration" in params:
            q.registration = uuid(params["registration"], "registration").lower()
        if "since" in params:
            q.since = timestamp(params["since"], "since")
        if "until" in params:
            q.until = timestamp(params["until"], "until")
    except ProblemError as exc:
        raise bad(exc.detail or "", exc.detail_id or "") from None
    if "agent" in params:
        try:
            value = json.loads(params["agent"])
            agent(value, "agent")
        except (ValueError, ProblemError):
            raise bad(
                'agent must be an Agent or identified Group as JSON, e.g. {"mbox": '
                '"mailto:ani@example.go.id"}.',
                "agent harus berupa Agent atau Group beridentitas dalam JSON, misalnya "
                '{"mbox": "mailto:ani@example.go.id"}.',
            ) from None
        q.agent = agent_query_key(value)
        if q.agent is None:
            raise bad(
                "agent must carry an identifier (mbox, mbox_sha1sum, openid or account).",
                "agent harus memuat pengenal (mbox, mbox_sha1sum, openid atau account).",
            )
    q.verb, q.activity = params.get("verb"), params.get("activity")
    q.related_agents = _bool(params, "related_agents")
    q.related_activities = _bool(params, "related_activities")
    q.attachments = _bool(params, "attachments")
    q.ascending = _bool(params, "ascending")
    q.format = params.get("format", "exact")
    if q.format not in ("exact", "ids", "canonical"):
        raise bad(
            "format must be exact, ids or canonical.", "format harus exact, ids atau canonical."
        )
    if "limit" in params:
        raw = params["limit"]
        if not raw.isdigit() or len(raw) > 9:
            raise bad("limit must be a whole number from 0.", "limit harus bilangan bulat mulai 0.")
        q.limit = min(int(raw), MAX_LIMIT) or MAX_LIMIT
    if "cursor" in params:
        q.after = _cursor(params["cursor"])
    return q


def _cursor(raw: str) -> tuple[datetime, str]:
    try:
        stored, pk = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return datetime.fromisoformat(stored), str(pk)
    except (ValueError, TypeError):
        raise bad(
            "The cursor is not one this LRS gave; follow the more link as given.",
            "Kursor ini bukan dari LRS ini; ikuti tautan more apa adanya.",
        ) from None


def one(session: Session, agency_id: str, q: Query) -> XapiStatement:
    ident = q.statement_id or q.voided_id
    row = session.exec(
        sm_select(XapiStatement).where(
            col(XapiStatement.agency_id) == agency_id, col(XapiStatement.statement_id) == ident
        )
    ).first()
    voided_wanted = q.voided_id is not None
    if row is None or row.voided != voided_wanted:
        raise ProblemError(
            404,
            "xapi_not_found",
            f"No {'voided ' if voided_wanted else ''}statement has id {ident} here"
            + ("" if voided_wanted else " (a voided one is read with voidedStatementId)")
            + ".",
            detail_id=f"Tidak ada pernyataan{' yang dibatalkan' if voided_wanted else ''} "
            f"dengan id {ident} di sini"
            + ("" if voided_wanted else " (yang dibatalkan dibaca dengan voidedStatementId)")
            + ".",
        )
    return row


def _ref(table: Any, kind: str, value: str, agency_id: str, related: bool) -> Any:
    wanted = select(R.statement_pk).where(
        R.agency_id == agency_id, R.kind == kind, R.value == value
    )
    if not related:
        wanted = wanted.where(R.direct.is_(True))
    return table.c.id.in_(wanted)


def is_authority(session: Session, agency_id: str, key: str) -> bool:
    """Whether the agent of index key ``key`` is the authority of some statement of the
    agency (then the statements' ``authority`` column can match it; else it need not be
    looked at: a term on that unindexed column would read every statement)."""
    found = session.execute(select(A.key).where(A.agency_id == agency_id, A.key == key))
    return found.first() is not None


def _filters(table: Any, agency_id: str, q: Query, authority: bool) -> list[Any]:
    """What the statement itself must match (agent, verb, activity, registration);
    ``authority``: the agent is an authority, matched with ``related_agents``."""
    where: list[Any] = []
    if q.verb is not None:
        where.append(table.c.verb_id == index_key(q.verb))
    if q.registration is not None:
        where.append(table.c.registration == q.registration)
    if q.agent is not None:
        term = _ref(table, "agent", q.agent, agency_id, q.related_agents)
        if authority:
            term = or_(term, table.c.authority == q.agent)
        where.append(term)
    if q.activity is not None:
        where.append(
            _ref(table, "activity", index_key(q.activity), agency_id, q.related_activities)
        )
    return where


def page(session: Session, agency_id: str, q: Query) -> tuple[list[XapiStatement], str | None]:
    """A page of statements and the cursor of the next one (None on the last). A filtered
    list also holds the statements whose object refers (StatementRef) to a statement the
    filter matches, voided or not (Communication 2.1.3, Filter Conditions for
    StatementRefs; one level of reference)."""
    where: list[Any] = [S.agency_id == agency_id, S.voided.is_(False)]
    authority = (
        q.related_agents and q.agent is not None and is_authority(session, agency_id, q.agent)
    )
    own = _filters(XapiStatement.__table__, agency_id, q, authority)  # type: ignore[attr-defined]
    if own:
        T = XapiStatement.__table__.alias("referred")  # type: ignore[attr-defined]
        referred = select(T.c.statement_id).where(
            T.c.agency_id == agency_id, *_filters(T, agency_id, q, authority)
        )
        where.append(or_(and_(*own), S.target.in_(referred)))
    if q.since is not None:
        where.append(S.stored > q.since)
    if q.until is not None:
        where.append(S.stored <= q.until)
    order = (S.stored, S.id) if q.ascending else (S.stored.desc(), S.id.desc())
    if q.after is not None:
        at, pk = q.after
        if q.ascending:
            where.append(or_(S.stored > at, and_(S.stored == at, S.id > pk)))
        else:
            where.append(or_(S.stored < at, and_(S.stored == at, S.id < pk)))
    found = list(
        session.exec(sm_select(XapiStatement).where(*where).order_by(*order).limit(q.limit + 1))
    )
    if len(found) <= q.limit:
        return found, None
    last = found[q.limit - 1]
    token = json.dumps([last.stored.isoformat(), last.id]).encode()
    return found[: q.limit], base64.urlsafe_b64encode(token).decode().rstrip("=")


def more_link(path: str, params: dict[str, str], cursor: str) -> str:
    kept = {k: v for k, v in params.items() if k != "cursor"}
    return path + "?" + urlencode({**kept, "cursor": cursor})


def unmatched(
    session: Session, agency_id: str, *, limit: int, cursor: str | None
) -> tuple[list[UnmatchedStatement], str | None]:
    """The agency's statements that carried a progress verb on a module but did not land
    as progress, oldest first (the reason says what to fix: an unknown learner or module,
    no enrolment, or the progress rule that refused it)."""
    statement = sm_select(XapiStatement).where(
        col(XapiStatement.agency_id) == agency_id, col(XapiStatement.unmatched).is_(True)
    )
    rows, next_cursor = id_page(session, statement, XapiStatement, limit=limit, cursor=cursor)
    items = []
    for row in rows:
        body = json.loads(row.body)
        obj = body["object"]
        items.append(
            UnmatchedStatement(
                statement_id=row.statement_id,
                stored=row.stored,
                timestamp=row.timestamp,
                verb=body["verb"]["id"],
                activity=obj["id"] if obj.get("objectType", "Activity") == "Activity" else None,
                learner=row.learner_ref,
                reason=row.note or "unmatched",
                voided=row.voided,
            )
        )
    return items, next_cursor
