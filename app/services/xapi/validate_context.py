"""The result, context and attachments of xAPI statements (IEEE 9274.1.1 Part 2
sections 2.4.5, 2.4.6 and 2.4.11)."""

from __future__ import annotations

from typing import Any

from app.services.xapi.validate_agents import agent
from app.services.xapi.validate_objects import activity_list, statement_ref
from app.services.xapi.validate_values import (
    LANG,
    boolean,
    duration,
    extensions,
    invalid,
    iri,
    keys,
    langmap,
    number,
    string,
    uuid,
)

RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})


def result(value: Any, where: str) -> None:
    r = keys(value, where, RESULT_KEYS)
    if "score" in r:
        s = keys(r["score"], f"{where}.score", SCORE_KEYS)
        nums = {
            k: number(s[k], f"{where}.score.{k}") for k in ("scaled", "raw", "min", "max") if k in s
        }
        if "scaled" in nums and not -1 <= nums["scaled"] <= 1:
            raise invalid(
                f"{where}.score.scaled", "must be between -1 and 1.", "harus di antara -1 dan 1."
            )
        low, high, raw = nums.get("min"), nums.get("max"), nums.get("raw")
        if low is not None and high is not None and low >= high:
            raise invalid(
                f"{where}.score", "min must be below max.", "min harus lebih kecil dari max."
            )
        if raw is not None and (
            (low is not None and raw < low) or (high is not None and raw > high)
        ):
            raise invalid(
                f"{where}.score.raw",
                "must lie between min and max.",
                "harus berada di antara min dan max.",
            )
    for key in ("success", "completion"):
        if key in r:
            boolean(r[key], f"{where}.{key}")
    if "response" in r:
        string(r["response"], f"{where}.response")
    if "duration" in r:
        duration(r["duration"], f"{where}.duration")
    if "extensions" in r:
        extensions(r["extensions"], f"{where}.extensions")


def context(value: Any, where: str, object_kind: str) -> None:
    c = keys(
        value,
        where,
        {
            "registration",
            "instructor",
            "team",
            "contextActivities",
            "revision",
            "platform",
            "language",
            "statement",
            "extensions",
            "contextAgents",
            "contextGroups",
        },
    )
    if "registration" in c:
        uuid(c["registration"], f"{where}.registration")
    if "instructor" in c:
        agent(c["instructor"], f"{where}.instructor")
    if "team" in c:
        team = agent(c["team"], f"{where}.team")
        if team.get("objectType") != "Group":
            raise invalid(f"{where}.team", "must be a Group.", "harus berupa Group.")
    if "contextActivities" in c:
        ca = keys(
            c["contextActivities"],
            f"{where}.contextActivities",
            {"parent", "grouping", "category", "other"},
        )
        for key, acts in ca.items():
            activity_list(acts, f"{where}.contextActivities.{key}")
    for key in ("revision", "platform"):
        if key in c:
            string(c[key], f"{where}.{key}")
            if object_kind != "Activity":
                raise invalid(
                    f"{where}.{key}",
                    "is only allowed when the object is an Activity; remove it.",
                    "hanya boleh jika object berupa Activity; hapus properti itu.",
                )
    if "language" in c and (not isinstance(c["language"], str) or not LANG.match(c["language"])):
        raise invalid(
            f"{where}.language",
            "must be an RFC 5646 language tag, e.g. id-ID.",
            "harus berupa tag bahasa RFC 5646, misalnya id-ID.",
        )
    if "statement" in c:
        statement_ref(c["statement"], f"{where}.statement")
    if "extensions" in c:
        extensions(c["extensions"], f"{where}.extensions")
    for key, kind, inner in (
        ("contextAgents", "contextAgent", "agent"),
        ("contextGroups", "contextGroup", "group"),
    ):
        if key not in c:
            continue
        if not isinstance(c[key], list):
            raise invalid(f"{where}.{key}", "must be a list.", "harus berupa daftar.")
        for n, item in enumerate(c[key]):
            w = f"{where}.{key}[{n}]"
            entry = keys(item, w, {"objectType", inner, "relevantTypes"})
            if entry.get("objectType") != kind or inner not in entry:
                raise invalid(
                    w,
                    f"needs objectType {kind} and {inner}.",
                    f"memerlukan objectType {kind} dan {inner}.",
                )
            found = agent(entry[inner], f"{w}.{inner}", group=inner == "group")
            if inner == "group" and found.get("objectType") != "Group":
                raise invalid(f"{w}.group", "must be a Group.", "harus berupa Group.")
            if "relevantTypes" in entry:
                types = entry["relevantTypes"]
                if not isinstance(types, list) or not types:
                    raise invalid(
                        f"{w}.relevantTypes",
                        "must be a non-empty list of IRIs.",
                        "harus berupa daftar IRI yang tidak kosong.",
                    )
                for t, iri in enumerate(types):
                    iri(iri, f"{w}.relevantTypes[{t}]")


def attachment_list(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise invalid(where, "must be a list.", "harus berupa daftar.")
    for n, item in enumerate(value):
        w = f"{where}[{n}]"
        a = keys(
            item,
            w,
            {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"},
        )
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in a:
                raise invalid(w, f"needs {key}.", f"memerlukan {key}.")
        iri(a["usageType"], f"{w}.usageType")
        langmap(a["display"], f"{w}.display")
        if "description" in a:
            langmap(a["description"], f"{w}.description")
        string(a["contentType"], f"{w}.contentType")
        string(a["sha2"], f"{w}.sha2")
        if isinstance(a["length"], bool) or not isinstance(a["length"], int) or a["length"] < 0:
            raise invalid(
                f"{w}.length",
                "must be a whole number of bytes.",
                "harus berupa bilangan bulat byte.",
            )
        if "fileUrl" not in a:
            continue  # its content must come as a part of the request (attachments.py)
        iri(a["fileUrl"], f"{w}.fileUrl")
