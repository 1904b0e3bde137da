"""Storing statements: ids, ``stored``, ``authority``, ``version``; conflicts; voiding;
the agent and activity index; and their progress (app/services/xapi/progress.py), all in
one transaction.

A statement is immutable: sent again with the same id it must be the same statement
(compared on what the client sent, without ``stored``, ``authority`` and ``version``,
which the LRS sets): then nothing changes; otherwise 409 and nothing of the request is
kept. A voiding statement (verb .../voided) marks its target voided (a voiding statement
or an unknown id: stored, no effect) and takes back the target's progress.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Table, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import bulk, i18n
from app.core.config import get_settings
from app.core.errors import ProblemError
from app.core.security import Principal
from app.models.base import utcnow
from app.models.xapi import XapiAuthority, XapiStatement, XapiStatementRef
from app.services.learning import progress_store
from app.services.xapi import attachments, progress, progress_match, progress_undo
from app.services.xapi import rows as table_rows
from app.services.xapi.refs import agent_keys, agent_query_key, index_key, statement_refs
from app.services.xapi.signature import same, signature
from app.services.xapi.validate import VOIDED, invalid, statement, timestamp

# the index keys stay importable from here, where they were first defined
__all__ = ["agent_keys", "agent_query_key", "index_key", "store"]

i18n.MESSAGES.update(
    {
        "xapi_invalid_statement": {
            "en": ("Invalid statement", "Correct the statement as the message says."),
            "id": ("Pernyataan tidak sah", "Perbaiki pernyataan sesuai pesannya."),
        },
        "xapi_conflict": {
            "en": ("Statement id already used", "Send a new id for a different statement."),
            "id": (
                "Id pernyataan sudah dipakai",
                "Kirim id baru untuk pernyataan yang berbeda.",
            ),
        },
    }
)
STATEMENT: Table = XapiStatement.__table__  # type: ignore[attr-defined]
REF: Table = XapiStatementRef.__table__  # type: ignore[attr-defined]
AUTHORITY: Table = XapiAuthority.__table__  # type: ignore[attr-defined]
STATEMENT_COLUMNS = (
    "id",
    "agency_id",
    "statement_id",
    "verb_id",
    "registration",
    "timestamp",
    "stored",
    "voids",
    "target",
    "voided",
    "body",
    "signature",
    "enrollment_id",
    "module_id",
    "progress",
    "unmatched",
    "note",
    "learner_ref",
    "authority",
)
REF_COLUMNS = ("statement_pk", "agency_id", "kind", "value", "direct")
AUTHORITY_COLUMNS = ("agency_id", "key")
NO_MATCH = progress.Match()


def authority(principal: Principal) -> dict[str, Any]:
    """Who vouches for the statements: the client (or person) that sent them."""
    return {
        "objectType": "Agent",
        "name": principal.subject,
        "account": {"homePage": get_settings().public_url.rstrip("/"), "name": principal.subject},
    }


def _conflict(ident: str) -> ProblemError:
    return ProblemError(
        409,
        "xapi_conflict",
        f"A different statement with id {ident} is already stored; statements are "
        "immutable. Send this one with a new id.",
        detail_id=f"Pernyataan lain dengan id {ident} sudah tersimpan; pernyataan tidak "
        "dapat diubah. Kirim pernyataan ini dengan id baru.",
    )


def _complete(
    sent: dict[str, Any], vouching: dict[str, Any], stamp: str, version: str
) -> dict[str, Any]:
    """The statement as kept: with its id, timestamp, ``stored`` (``stamp``), authority
    (``vouching``) and version."""
    body = dict(sent)
    if "id" not in body:
        body["id"] = str(uuidlib.uuid4())
    body.setdefault("timestamp", stamp)
    body["stored"] = stamp
    body["authority"] = vouching
    body.setdefault("version", version)
    _arrays(body)
    if body["object"].get("objectType") == "SubStatement":
        body["object"] = dict(body["object"])
        _arrays(body["object"])
    return body


def _arrays(body: dict[str, Any]) -> None:
    """Context activities as arrays, as the LRS answers them (Data 2.4.6.2)."""
    context = body.get("context")
    if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
        acts = context["contextActivities"]
        body["context"] = {
            **context,
            "contextActivities": {k: v if isinstance(v, list) else [v] for k, v in acts.items()},
        }


def store(
    *,
    session: Session,
    principal: Principal,
    sent: Sequence[Any],
    version: str,
    parts: dict[str, attachments.Part] | None = None,
) -> list[str]:
    """Validate and keep ``sent``; their ids in order. One retry when a concurrent request
    stored one of the same ids first (then it is compared like any resend)."""
    for n, one in enumerate(sent):
        statement(one, f"statement[{n}]" if len(sent) > 1 else "statement")
    ids = [s["id"].lower() for s in sent if "id" in s]
    if len(ids) != len(set(ids)):
        raise invalid(
            "statements",
            "two statements of the batch share an id; give each its own.",
            "dua pernyataan dalam batch memakai id yang sama; beri masing-masing id sendiri.",
        )
    parts = attachments.check(sent, parts or {})
    try:
        return _store_once(session, principal, sent, version, parts)
    except IntegrityError:
        session.rollback()
        return _store_once(session, principal, sent, version, parts)


def _store_once(
    session: Session,
    principal: Principal,
    sent: Sequence[Any],
    version: str,
    parts: dict[str, attachments.Part],
) -> list[str]:
    agency_id = principal.agency_id
    now = utcnow()  # to the millisecond, as ``stored`` is shown: since/until compare alike
    stored = now.replace(microsecond=now.microsecond // 1000 * 1000)
    stamp_text = stored.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    vouching = authority(principal)
    vouching_key = agent_query_key(vouching)
    bodies = [_complete(s, vouching, stamp_text, version) for s in sent]
    for body in bodies:
        body["id"] = body["id"].lower()
    existing = table_rows.stored_signatures(
        session.connection(), agency_id, [b["id"] for b in bodies]
    )
    new: list[tuple[dict[str, Any], str]] = []
    for one, body in zip(sent, bodies, strict=True):
        if body["id"] in existing:
            if not same(existing[body["id"]], one):
                raise _conflict(body["id"])
            continue
        new.append((body, signature(one)))
    if not new:
        return [b["id"] for b in bodies]
    plain = [b for b, _ in new if b["verb"]["id"] != VOIDED]
    matches = dict(
        zip((id(b) for b in plain), progress.apply(session, principal, plain), strict=True)
    )
    stamp = progress_match.cached_stamp(session.get_bind().dialect.name)
    stored_at = stamp(stored)
    rows: list[tuple[Any, ...]] = []
    refs: list[tuple[Any, ...]] = []
    voids: list[str] = []
    for (body, sig), pk in zip(new, progress_store.new_ids("xst", len(new)), strict=True):
        match = matches.get(id(body)) or NO_MATCH
        context = body.get("context") or {}
        obj = body["object"]
        voided_id = obj["id"].lower() if body["verb"]["id"] == VOIDED else None
        if voided_id is not None:
            voids.append(voided_id)
        rows.append(
            (
                pk,
                agency_id,
                body["id"],
                index_key(body["verb"]["id"]),
                (context.get("registration") or "").lower() or None,
                stamp(timestamp(body["timestamp"], "timestamp")),
                stored_at,
                voided_id,
                obj["id"].lower() if obj.get("objectType") == "StatementRef" else None,
                False,
                to_json(body).decode(),
                sig,
                match.enrollment_id,
                match.module_id,
                match.outcome,
                match.unmatched,
                match.note,
                match.learner_ref,
                vouching_key,
            )
        )
        refs += [
            (pk, agency_id, kind, key, direct)
            for (kind, key), direct in statement_refs(body).items()
        ]
    bulk.insert_all(
        session.connection(),
        [
            bulk.Write(STATEMENT, STATEMENT_COLUMNS, rows),
            # the authority is listed once per agency (a conflict: listed already)
            bulk.Write(AUTHORITY, AUTHORITY_COLUMNS, [(agency_id, vouching_key)], True),
            bulk.Write(REF, REF_COLUMNS, refs),
        ],
    )
    attachments.keep(session, agency_id, parts)
    _void(session, principal, agency_id, voids)
    session.commit()
    return [b["id"] for b in bodies]


def _void(session: Session, principal: Principal, agency_id: str, targets: list[str]) -> None:
    if not targets:
        return
    found = list(
        session.exec(
            select(XapiStatement).where(
                col(XapiStatement.agency_id) == agency_id,
                col(XapiStatement.statement_id).in_(targets),
                col(XapiStatement.voids).is_(None),
                col(XapiStatement.voided).is_(False),
            )
        )
    )
    if not found:
        return
    session.execute(
        update(XapiStatement)
        .where(col(XapiStatement.id).in_([r.id for r in found]))
        .values(voided=True)
    )
    progress_undo.undo(session, principal, found)
