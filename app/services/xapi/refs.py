"""The agent and activity index of a statement (xapi_statement_ref): the keys an Agent,
Group or activity is found by, as the index holds them, for the query parameters
``agent`` and ``activity`` (``related_agents``/``related_activities``). The statement's
``authority`` is not in it: the statement's ``authority`` column holds its key (the same
for every statement of a client), and ``xapi_authority`` lists the keys that are one."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any


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


def statement_refs(body: dict[str, Any]) -> Found:
    """Each agent and activity the statement names, once, as the index holds it
    ((kind, key) -> direct: whether the actor or object names it), its ``authority``
    aside. Module-level functions filling one dict, not nested generators or closures (a
    recursive closure is a reference cycle per statement, left to the garbage collector)."""
    found: Found = {}
    _statement_refs(found, body, True)
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
