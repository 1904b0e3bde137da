"""What the LRS knows of an agent and of an activity: the Agents resource's Person object
(Communication 2.4) and the Activities resource's full Activity object (Communication 2.5),
read from the caller's agency's statements.

Both answer for anything asked: an agent or activity the LRS has not seen is returned as
given (a Person with the one identifier; an Activity with its id alone). They read the
newest ``RECENT`` statements naming the agent or activity through the statement index
(xapi_statement_ref), so the cost is bounded whatever the number of statements.

A module activity of Bangkom (``{BANGKOM_PUBLIC_URL}/activities/modules/{module_id}``)
answers its catalogue definition (app/services/xapi/activities.py), the canonical one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from app.core.errors import ProblemError
from app.models.xapi import XapiStatement, XapiStatementRef
from app.services.xapi import activities as modules
from app.services.xapi.progress import module_prefix
from app.services.xapi.query import is_authority
from app.services.xapi.refs import agent_keys, index_key

RECENT = 100
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
MERGED = ("name", "description", "extensions")  # objects merged key by key
S = XapiStatement.__table__.c  # type: ignore[attr-defined]
R = XapiStatementRef.__table__.c  # type: ignore[attr-defined]


def _bodies(session: Session, agency_id: str, kind: str, value: str) -> list[dict[str, Any]]:
    """The newest ``RECENT`` statements naming the agent or activity (an agent also as
    their authority), oldest first."""
    key = index_key(value)
    pks = (
        select(R.statement_pk)
        .where(R.agency_id == agency_id, R.kind == kind, R.value == key)
        .distinct()
        .scalar_subquery()
    )
    naming = S.id.in_(pks)
    if kind == "agent" and is_authority(session, agency_id, key):
        naming = or_(naming, S.authority == key)
    rows = session.execute(
        select(S.body)
        .where(S.agency_id == agency_id, naming)
        .order_by(S.stored.desc(), S.id.desc())
        .limit(RECENT)
    ).all()
    return [json.loads(r[0]) for r in reversed(rows)]


def _agents(value: Any) -> Iterator[dict[str, Any]]:
    """Every Agent or Group object anywhere in a statement (members included)."""
    if isinstance(value, dict):
        if any(k in value for k in IFIS) and value.get("objectType") in (None, "Agent", "Group"):
            yield value
        for key, inner in value.items():
            if key not in ("account", "extensions", "definition"):
                yield from _agents(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _agents(inner)


def person(session: Session, agency_id: str, sent: dict[str, Any], key: str) -> dict[str, Any]:
    """The Person object of an Agent: its identifier and the names it was given."""
    names: list[str] = [sent["name"]] if isinstance(sent.get("name"), str) else []
    for body in _bodies(session, agency_id, "agent", key):
        for found in _agents(body):
            name = found.get("name")
            if isinstance(name, str) and name not in names and next(agent_keys(found), None) == key:
                names.append(name)
    out: dict[str, Any] = {"objectType": "Person"}
    if names:
        out["name"] = names
    ifi = next(k for k in IFIS if k in sent)
    out[ifi] = [sent[ifi]]
    return out


def _activities(statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    obj = statement.get("object") or {}
    if obj.get("objectType", "Activity") == "Activity":
        yield obj
    elif obj.get("objectType") == "SubStatement":
        yield from _activities(obj)
    context = statement.get("context") or {}
    for acts in (context.get("contextActivities") or {}).values():
        yield from acts if isinstance(acts, list) else [acts]


def activity(session: Session, agency_id: str, iri: str) -> dict[str, Any]:
    """The Activity object with every definition the agency's statements gave it merged,
    the newest winning (language maps and extensions merged entry by entry)."""
    prefix = module_prefix()
    if iri.startswith(prefix) and "/" not in iri[len(prefix) :]:
        try:
            return modules.module_activity(session, iri[len(prefix) :])
        except ProblemError:
            pass  # not a published module: what the statements said of it
    definition: dict[str, Any] = {}
    for body in _bodies(session, agency_id, "activity", iri):
        for act in _activities(body):
            if act.get("id") != iri or not isinstance(act.get("definition"), dict):
                continue
            for name, value in act["definition"].items():
                if name in MERGED and isinstance(value, dict):
                    definition[name] = {**definition.get(name, {}), **value}
                else:
                    definition[name] = value
    out: dict[str, Any] = {"objectType": "Activity", "id": iri}
    if definition:
        out["definition"] = definition
    return out
