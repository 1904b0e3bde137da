"""Statement validation as xAPI requires it (2.0, IEEE 9274.1.1 Part 2 section 2.4; and
1.0.3): unknown properties, wrong types and malformed values are a 400 naming where.

Written as plain checks on the parsed JSON rather than a schema: the rules depend on
each other (exactly one inverse functional identifier, anonymous groups need members,
``revision``/``platform`` only with an Activity object, a SubStatement's own limits,
voiding needs a StatementRef), and each message says in both languages what to fix.

Split by part: app/services/xapi/validate_values.py (strings, IRIs, UUIDs, timestamps,
durations, language maps), validate_agents.py, validate_objects.py (verbs, activities,
statement references), validate_context.py (result, context, attachments). Their public
names stay importable from here.
"""

from __future__ import annotations

import re
from typing import Any

from app.services.xapi.validate_agents import IFIS, MBOX, SHA1, agent
from app.services.xapi.validate_context import attachment_list, context, result
from app.services.xapi.validate_objects import (
    COMPONENTS,
    INTERACTIONS,
    activity,
    statement_ref,
    verb,
)
from app.services.xapi.validate_values import (
    DURATION,
    IRI,
    LANG,
    MAX_IRI,
    STAMP,
    UUID,
    WEEKS,
    duration,
    invalid,
    keys,
    timestamp,
    uuid,
)

__all__ = [
    "COMPONENTS",
    "DURATION",
    "IFIS",
    "INTERACTIONS",
    "IRI",
    "LANG",
    "MAX_IRI",
    "MBOX",
    "SHA1",
    "STAMP",
    "SUB",
    "TOP",
    "UUID",
    "VERSION",
    "VOIDED",
    "WEEKS",
    "activity",
    "agent",
    "duration",
    "invalid",
    "statement",
    "statement_ref",
    "timestamp",
    "uuid",
]

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
VERSION = re.compile(r"^[12]\.0(\.\d+)?$")
TOP = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
SUB = {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}


def _object(value: Any, where: str, *, sub: bool) -> str:
    if not isinstance(value, dict):
        raise invalid(where, "must be a JSON object.", "harus berupa objek JSON.")
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        activity(value, where)
    elif kind in ("Agent", "Group"):
        agent(value, where)
    elif kind == "StatementRef":
        statement_ref(value, where)
    elif kind == "SubStatement" and not sub:
        _statement(value, where, sub=True)
    else:
        raise invalid(
            f"{where}.objectType",
            "must be Activity, Agent, Group, StatementRef"
            + (" (a SubStatement cannot hold another)." if sub else " or SubStatement."),
            "harus Activity, Agent, Group, StatementRef"
            + (
                " (SubStatement tidak boleh memuat SubStatement lain)."
                if sub
                else " atau SubStatement."
            ),
        )
    return str(kind)


def _statement(value: Any, where: str, *, sub: bool) -> None:
    s = keys(value, where, SUB if sub else TOP)
    for key in ("actor", "verb", "object"):
        if key not in s:
            raise invalid(where, f"needs {key}.", f"memerlukan {key}.")
    agent(s["actor"], f"{where}.actor")
    verb_id = verb(s["verb"], f"{where}.verb")
    kind = _object(s["object"], f"{where}.object", sub=sub)
    if verb_id == VOIDED and kind != "StatementRef":
        raise invalid(
            f"{where}.object",
            "a voiding statement's object must be the StatementRef of the statement it voids.",
            "object dari pernyataan pembatalan harus berupa StatementRef pernyataan yang dibatalkan.",
        )
    if "result" in s:
        result(s["result"], f"{where}.result")
    if "context" in s:
        context(s["context"], f"{where}.context", kind)
    if "timestamp" in s:
        timestamp(s["timestamp"], f"{where}.timestamp")
    if "attachments" in s:
        attachment_list(s["attachments"], f"{where}.attachments")


def statement(value: Any, where: str = "statement") -> dict[str, Any]:
    """Check one statement; the statement itself when it is valid."""
    _statement(value, where, sub=False)
    if "id" in value:
        uuid(value["id"], f"{where}.id")
    if "stored" in value:
        timestamp(value["stored"], f"{where}.stored")
    if "authority" in value:
        found = agent(value["authority"], f"{where}.authority")
        members = found.get("member")
        if found.get("objectType") == "Group" and (
            any(k in found for k in IFIS) or not isinstance(members, list) or len(members) != 2
        ):
            raise invalid(
                f"{where}.authority",
                "a Group as authority must be anonymous with exactly two Agents (OAuth "
                "consumer and user).",
                "Group sebagai authority harus anonim dengan tepat dua Agent (konsumen OAuth "
                "dan pengguna).",
            )
    if "version" in value and (
        not isinstance(value["version"], str) or not VERSION.match(value["version"])
    ):
        raise invalid(
            f"{where}.version",
            "must be an xAPI version 1.0.x or 2.0.x.",
            "harus berupa versi xAPI 1.0.x atau 2.0.x.",
        )
    return value
