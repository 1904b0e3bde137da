"""Verbs and objects of xAPI statements (IEEE 9274.1.1 Part 2 sections 2.4.3-2.4.4):
activities with their definitions (interaction types and components), and statement
references. Agents as objects are app/services/xapi/validate_agents.py; a SubStatement
is a statement (app/services/xapi/validate.py)."""

from __future__ import annotations

from typing import Any

from app.services.xapi.validate_values import extensions as extensions_map
from app.services.xapi.validate_values import invalid, iri, keys, langmap, string, uuid

INTERACTIONS = {
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
}
COMPONENTS = ("choices", "scale", "source", "target", "steps")
VERB_KEYS = frozenset({"id", "display"})
ACTIVITY_KEYS = frozenset({"objectType", "id", "definition"})


def verb(value: Any, where: str) -> str:
    found = keys(value, where, VERB_KEYS)
    if "id" not in found:
        raise invalid(where, "needs an id (an IRI).", "memerlukan id (sebuah IRI).")
    if "display" in found:
        langmap(found["display"], f"{where}.display")
    return iri(found["id"], f"{where}.id")


def activity(value: Any, where: str) -> None:
    act = keys(value, where, ACTIVITY_KEYS)
    if act.get("objectType", "Activity") != "Activity":
        raise invalid(f"{where}.objectType", "must be Activity.", "harus Activity.")
    if "id" not in act:
        raise invalid(where, "needs an id (an IRI).", "memerlukan id (sebuah IRI).")
    iri(act["id"], f"{where}.id")
    if "definition" not in act:
        return
    d = keys(
        act["definition"],
        f"{where}.definition",
        {
            "name",
            "description",
            "type",
            "moreInfo",
            "extensions",
            "interactionType",
            "correctResponsesPattern",
            *COMPONENTS,
        },
    )
    w = f"{where}.definition"
    for key in ("name", "description"):
        if key in d:
            langmap(d[key], f"{w}.{key}")
    for key in ("type", "moreInfo"):
        if key in d:
            iri(d[key], f"{w}.{key}")
    if "extensions" in d:
        extensions_map(d["extensions"], f"{w}.extensions")
    interaction = d.get("interactionType")
    if "interactionType" in d and (
        not isinstance(interaction, str) or interaction not in INTERACTIONS
    ):
        raise invalid(
            f"{w}.interactionType",
            f"must be one of {', '.join(sorted(INTERACTIONS))}.",
            f"harus salah satu dari {', '.join(sorted(INTERACTIONS))}.",
        )
    if "correctResponsesPattern" in d:
        pattern = d["correctResponsesPattern"]
        if "interactionType" not in d:
            raise invalid(
                f"{w}.correctResponsesPattern",
                "needs an interactionType beside it.",
                "memerlukan interactionType di sampingnya.",
            )
        if not isinstance(pattern, list):
            raise invalid(
                f"{w}.correctResponsesPattern",
                "must be a list of strings.",
                "harus berupa daftar string.",
            )
        for n, item in enumerate(pattern):
            string(item, f"{w}.correctResponsesPattern[{n}]")
    for key in COMPONENTS:
        if key not in d:
            continue
        if "interactionType" not in d or not isinstance(d[key], list):
            raise invalid(
                f"{w}.{key}",
                "must be a list of components, with an interactionType.",
                "harus berupa daftar komponen, disertai interactionType.",
            )
        seen: set[str] = set()
        for n, item in enumerate(d[key]):
            comp = keys(item, f"{w}.{key}[{n}]", {"id", "description"})
            ident = string(comp.get("id"), f"{w}.{key}[{n}].id")
            if ident in seen:
                raise invalid(f"{w}.{key}[{n}].id", "repeats another id.", "mengulang id lain.")
            seen.add(ident)
            if "description" in comp:
                langmap(comp["description"], f"{w}.{key}[{n}].description")


def statement_ref(value: Any, where: str) -> str:
    ref = keys(value, where, {"objectType", "id"})
    if ref.get("objectType") != "StatementRef":
        raise invalid(f"{where}.objectType", "must be StatementRef.", "harus StatementRef.")
    return uuid(ref.get("id"), f"{where}.id")


def activity_list(value: Any, where: str) -> None:
    for n, item in enumerate(value if isinstance(value, list) else [value]):
        activity(item, f"{where}[{n}]" if isinstance(value, list) else where)
