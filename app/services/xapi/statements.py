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

import hashlib
import json
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from datetime import UTC
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Table, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.config import get_settings
from app.core.errors import ProblemError
from app.core.security import Principal
from app.models.base import utcnow
from app.models.xapi import XapiStatement, XapiStatementRef
from app.services.learning import progress_store
from app.services.xapi import attachments, progress
from app.services.xapi import rows as table_rows
from app.services.xapi.validate import VOIDED, invalid, statement, timestamp

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
S = STATEMENT.c
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
)
REF_COLUMNS = ("statement_pk", "agency_id", "kind", "value", "direct")
NO_MATCH = progress.Match()
LRS_SET = ("stored", "authority", "version")
SIGNATURE_DROPS = (*LRS_SET, "id")


def authority(principal: Principal) -> dict[str, Any]:
    """Who vouches for the statements: the client (or person) that sent them."""
    return {
        "objectType": "Agent",
        "name": principal.subject,
        "account": {"homePage": get_settings().public_url.rstrip("/"), "name": principal.subject},
    }


def signature(sent: dict[str, Any]) -> str:
    kept = {k: v for k, v in sent.items() if k not in SIGNATURE_DROPS}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _conflict(ident: str) -> ProblemError:
    return ProblemError(
        409,
        "xapi_conflict",
        f"A different statement with id {ident} is already stored; statements are "
        "immutable. Send this one with a new id.",
        detail_id=f"Pernyataan lain dengan id {ident} sudah tersimpan; pernyataan tidak "
        "dapat diubah. Kirim pernyataan ini dengan id baru.",
    )


def agent_keys(value: dict[str, Any]) -> Iterator[str]:
    """The index keys of an Agent or identified Group (and of a Group's members)."""
    if "mbox" in value:
        yield "mbox:" + value["mbox"]
    elif "mbox_sha1sum" in value:
        yield "sha1:" + value["mbox_sha1sum"].lower()
    elif "openid" in value:
        yield "openid:" + value["openid"]
    elif "account" in value:
        yield "account:" + value["account"]["homePage"] + "|" + value["account"]["name"]


def index_key(key: str) -> str:
    """A key as the index holds it: long ones (an IRI may run to 2048 characters, a
    UTF-8 character to 4 bytes) by their SHA-256, under PostgreSQL's B-tree entry limit;
    so are keys with a NUL character, which PostgreSQL's text cannot hold (an account
    name is any string)."""
    if "\x00" not in key and (len(key) <= 128 or len(key.encode()) <= 512):
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def agent_query_key(value: dict[str, Any]) -> str | None:
    key = next(agent_keys(value), None)
    return None if key is None else index_key(key)


Found = dict[tuple[str, str], bool]


def _refs(body: dict[str, Any]) -> Found:
    """Each agent and activity the statement names, once, as the index holds it
    ((kind, key) -> direct: whether the actor or object names it). Module-level functions
    filling one dict, not nested generators or closures (a recursive closure is a
    reference cycle per statement, left to the garbage collector)."""
    found: Found = {}
    _statement_refs(found, body, True)
    _agent_refs(found, body.get("authority"), False)
    return found


def _agent_refs(found: Found, value: Any, direct: bool) -> None:
    if not isinstance(value, dict):
        return
    for key in agent_keys(value):
        pair = ("agent", index_key(key))
        found[pair] = found.get(pair, False) or direct
    for member in value.get("member") or ():
        for key in agent_keys(member):
            found.setdefault(("agent", index_key(key)), False)


def _activity_ref(found: Found, ident: str, direct: bool) -> None:
    pair = ("activity", index_key(ident))
    found[pair] = found.get(pair, False) or direct


def _statement_refs(found: Found, s: dict[str, Any], top: bool) -> None:
    _agent_refs(found, s.get("actor"), top)
    obj = s.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        _activity_ref(found, obj["id"], top)
    elif kind in ("Agent", "Group"):
        _agent_refs(found, obj, top)
    elif kind == "SubStatement":
        _statement_refs(found, obj, False)
    context = s.get("context")
    if not context:
        return
    _agent_refs(found, context.get("instructor"), False)
    _agent_refs(found, context.get("team"), False)
    for entry in context.get("contextAgents") or ():
        _agent_refs(found, entry.get("agent"), False)
    for entry in context.get("contextGroups") or ():
        _agent_refs(found, entry.get("group"), False)
    for acts in (context.get("contextActivities") or {}).values():
        for act in acts if isinstance(acts, list) else (acts,):
            _activity_ref(found, act["id"], False)


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
    bodies = [_complete(s, vouching, stamp_text, version) for s in sent]
    for body in bodies:
        body["id"] = body["id"].lower()
    found = session.execute(
        sa_select(S.statement_id, S.signature).where(
            S.agency_id == agency_id, S.statement_id.in_([b["id"] for b in bodies])
        )
    )
    existing: dict[str, str] = dict(found.all())
    new: list[tuple[dict[str, Any], str]] = []
    for one, body in zip(sent, bodies, strict=True):
        sig = signature({**one, "id": body["id"]})
        if body["id"] in existing:
            if existing[body["id"]] != sig:
                raise _conflict(body["id"])
            continue
        new.append((body, sig))
    if not new:
        return [b["id"] for b in bodies]
    plain = [b for b, _ in new if b["verb"]["id"] != VOIDED]
    matches = dict(
        zip((id(b) for b in plain), progress.apply(session, principal, plain), strict=True)
    )
    stamp = progress_store.stamp_for(session.get_bind().dialect.name)
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
            )
        )
        refs += [(pk, agency_id, kind, key, direct) for (kind, key), direct in _refs(body).items()]
    connection = session.connection()
    table_rows.insert(connection, STATEMENT, STATEMENT_COLUMNS, rows)
    table_rows.insert(connection, REF, REF_COLUMNS, refs)
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
    progress.undo(session, principal, found)
