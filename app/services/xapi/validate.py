"""Statement validation as xAPI requires it (2.0, IEEE 9274.1.1 Part 2 section 2.4; and
1.0.3): unknown properties, wrong types and malformed values are a 400 naming where.

Written as plain checks on the parsed JSON rather than a schema: the rules depend on
each other (exactly one inverse functional identifier, anonymous groups need members,
``revision``/``platform`` only with an Activity object, a SubStatement's own limits,
voiding needs a StatementRef), and each message says in both languages what to fix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.core.errors import ProblemError

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
MAX_IRI = 2048
UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
MBOX = re.compile(r"^mailto:[^@\s:]+@[^@\s]+\.[^@\s]+$")
SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
LANG = re.compile(r"^(?:[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*|[iIxX](?:-[A-Za-z0-9]{1,8})+)$")
VERSION = re.compile(r"^[12]\.0(\.\d+)?$")
STAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$"
)
_N = r"(\d+(?:[.,]\d+)?)"
DURATION = re.compile(
    rf"^P(?!$)(?:{_N}Y)?(?:{_N}M)?(?:{_N}D)?(?:T(?=\d)(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?$"
)
WEEKS = re.compile(rf"^P{_N}W$")
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
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
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


def invalid(where: str, en: str, id_: str) -> ProblemError:
    return ProblemError(
        400,
        "xapi_invalid_statement",
        f"{where}: {en}",
        detail_id=f"{where}: {id_}",
        extra={"where": where},
    )


def _keys(value: Any, where: str, allowed: set[str] | tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(where, "must be a JSON object.", "harus berupa objek JSON.")
    extra = sorted(set(value) - set(allowed))
    if extra:
        raise invalid(
            where,
            f"unknown properties {', '.join(extra)}; remove them.",
            f"properti tidak dikenal {', '.join(extra)}; hapus properti itu.",
        )
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise invalid(where, "must be a string.", "harus berupa string.")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(where, "must be true or false.", "harus true atau false.")
    return value


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(where, "must be a number.", "harus berupa angka.")
    return Decimal(str(value))


def _iri(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_IRI or not IRI.match(value):
        raise invalid(
            where,
            f"must be an absolute IRI of at most {MAX_IRI} characters, e.g. "
            "http://adlnet.gov/expapi/verbs/completed.",
            f"harus berupa IRI absolut paling panjang {MAX_IRI} karakter, misalnya "
            "http://adlnet.gov/expapi/verbs/completed.",
        )
    return value


def uuid(value: Any, where: str) -> str:
    if not isinstance(value, str) or not UUID.match(value):
        raise invalid(
            where,
            "must be a UUID (RFC 4122), e.g. 8f87ccde-bb56-4c2e-ab83-44982ef22df0.",
            "harus berupa UUID (RFC 4122), misalnya 8f87ccde-bb56-4c2e-ab83-44982ef22df0.",
        )
    return value


def timestamp(value: Any, where: str) -> datetime:
    match = STAMP.match(value) if isinstance(value, str) else None
    if match is None or (match.group(8) or "").replace(":", "") == "-0000":
        raise invalid(
            where,
            "must be an ISO 8601 date-time with seconds, e.g. 2025-05-15T08:00:00+07:00 "
            "(an offset of -00:00 is not allowed).",
            "harus berupa tanggal-waktu ISO 8601 dengan detik, misalnya "
            "2025-05-15T08:00:00+07:00 (offset -00:00 tidak diperbolehkan).",
        )
    text = value.upper().replace("Z", "+00:00")
    offset = match.group(8) or ""
    if len(offset) == 5:  # +0700
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(
            where, "is not a real date or time.", "bukan tanggal atau waktu yang valid."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not 1900 <= parsed.astimezone(UTC).year <= 2200:
        raise invalid(where, "must fall in 1900-2200.", "harus di antara 1900-2200.")
    return parsed


def duration(value: Any, where: str) -> timedelta:
    weeks = WEEKS.match(value) if isinstance(value, str) else None
    if weeks is not None:
        return timedelta(days=7 * float(weeks.group(1).replace(",", ".")))
    match = DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(
            where,
            "must be an ISO 8601 duration, e.g. PT1H30M (weeks only alone, e.g. P2W).",
            "harus berupa durasi ISO 8601, misalnya PT1H30M (minggu hanya sendirian, "
            "misalnya P2W).",
        )
    y, mo, d, h, mi, s = (Decimal((g or "0").replace(",", ".")) for g in match.groups())
    days = y * 365 + mo * 30 + d
    seconds = ((days * 24 + h) * 60 + mi) * 60 + s
    return timedelta(seconds=float(min(seconds, Decimal(10**11))))


def _langmap(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise invalid(
            where,
            'must be a language map, e.g. {"en-US": "completed"}.',
            'harus berupa peta bahasa, misalnya {"id-ID": "selesai"}.',
        )
    for tag, text in value.items():
        if not LANG.match(tag):
            raise invalid(
                f"{where}.{tag}",
                "is not an RFC 5646 language tag (e.g. en-US, id).",
                "bukan tag bahasa RFC 5646 (misalnya en-US, id).",
            )
        _string(text, f"{where}.{tag}")


def _extensions(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise invalid(where, "must be a JSON object.", "harus berupa objek JSON.")
    for key in value:
        _iri(key, f"{where} key {key}")


def agent(value: Any, where: str, *, group: bool = True) -> dict[str, Any]:
    """An Agent or (when ``group``) a Group, with exactly one inverse functional identifier
    (an anonymous Group: none, and members)."""
    if not isinstance(value, dict):
        raise invalid(where, "must be an Agent object.", "harus berupa objek Agent.")
    kind = value.get("objectType", "Agent")
    if kind == "Group" and group:
        _keys(value, where, {"objectType", "name", "member", *IFIS})
    elif kind == "Agent":
        _keys(value, where, {"objectType", "name", *IFIS})
    else:
        raise invalid(
            f"{where}.objectType",
            "must be Agent" + (" or Group." if group else "."),
            "harus Agent" + (" atau Group." if group else "."),
        )
    if "name" in value:
        _string(value["name"], f"{where}.name")
    present = [k for k in IFIS if k in value]
    if len(present) > 1 or (not present and kind == "Agent"):
        raise invalid(
            where,
            "needs exactly one of mbox, mbox_sha1sum, openid or account.",
            "memerlukan tepat satu dari mbox, mbox_sha1sum, openid atau account.",
        )
    _ifi(value, where)
    if kind == "Group":
        if "member" in value or not present:
            members = value.get("member")
            if not isinstance(members, list) or (not present and not members):
                raise invalid(
                    f"{where}.member",
                    "must list the group's Agents (an anonymous group needs at least one).",
                    "harus berisi daftar Agent anggota (grup anonim memerlukan minimal satu).",
                )
            for n, member in enumerate(members):
                agent(member, f"{where}.member[{n}]", group=False)
    return value


def _ifi(value: dict[str, Any], where: str) -> None:
    if "mbox" in value and (not isinstance(value["mbox"], str) or not MBOX.match(value["mbox"])):
        raise invalid(
            f"{where}.mbox",
            "must be mailto:<email address>.",
            "harus berbentuk mailto:<alamat email>.",
        )
    if "mbox_sha1sum" in value and (
        not isinstance(value["mbox_sha1sum"], str) or not SHA1.match(value["mbox_sha1sum"])
    ):
        raise invalid(
            f"{where}.mbox_sha1sum",
            "must be 40 hexadecimal digits (SHA-1).",
            "harus berupa 40 digit heksadesimal (SHA-1).",
        )
    if "openid" in value:
        _iri(value["openid"], f"{where}.openid")
    if "account" in value:
        account = _keys(value["account"], f"{where}.account", {"homePage", "name"})
        if "homePage" not in account or "name" not in account:
            raise invalid(
                f"{where}.account", "needs homePage and name.", "memerlukan homePage dan name."
            )
        _iri(account["homePage"], f"{where}.account.homePage")
        _string(account["name"], f"{where}.account.name")


def _verb(value: Any, where: str) -> str:
    verb = _keys(value, where, {"id", "display"})
    if "id" not in verb:
        raise invalid(where, "needs an id (an IRI).", "memerlukan id (sebuah IRI).")
    if "display" in verb:
        _langmap(verb["display"], f"{where}.display")
    return _iri(verb["id"], f"{where}.id")


def activity(value: Any, where: str) -> None:
    act = _keys(value, where, {"objectType", "id", "definition"})
    if act.get("objectType", "Activity") != "Activity":
        raise invalid(f"{where}.objectType", "must be Activity.", "harus Activity.")
    if "id" not in act:
        raise invalid(where, "needs an id (an IRI).", "memerlukan id (sebuah IRI).")
    _iri(act["id"], f"{where}.id")
    if "definition" not in act:
        return
    d = _keys(
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
            _langmap(d[key], f"{w}.{key}")
    for key in ("type", "moreInfo"):
        if key in d:
            _iri(d[key], f"{w}.{key}")
    if "extensions" in d:
        _extensions(d["extensions"], f"{w}.extensions")
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
            _string(item, f"{w}.correctResponsesPattern[{n}]")
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
            comp = _keys(item, f"{w}.{key}[{n}]", {"id", "description"})
            ident = _string(comp.get("id"), f"{w}.{key}[{n}].id")
            if ident in seen:
                raise invalid(f"{w}.{key}[{n}].id", "repeats another id.", "mengulang id lain.")
            seen.add(ident)
            if "description" in comp:
                _langmap(comp["description"], f"{w}.{key}[{n}].description")


def statement_ref(value: Any, where: str) -> str:
    ref = _keys(value, where, {"objectType", "id"})
    if ref.get("objectType") != "StatementRef":
        raise invalid(f"{where}.objectType", "must be StatementRef.", "harus StatementRef.")
    return uuid(ref.get("id"), f"{where}.id")


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


def _result(value: Any, where: str) -> None:
    r = _keys(
        value, where, {"score", "success", "completion", "response", "duration", "extensions"}
    )
    if "score" in r:
        s = _keys(r["score"], f"{where}.score", {"scaled", "raw", "min", "max"})
        nums = {
            k: _number(s[k], f"{where}.score.{k}")
            for k in ("scaled", "raw", "min", "max")
            if k in s
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
            _bool(r[key], f"{where}.{key}")
    if "response" in r:
        _string(r["response"], f"{where}.response")
    if "duration" in r:
        duration(r["duration"], f"{where}.duration")
    if "extensions" in r:
        _extensions(r["extensions"], f"{where}.extensions")


def _activity_list(value: Any, where: str) -> None:
    for n, item in enumerate(value if isinstance(value, list) else [value]):
        activity(item, f"{where}[{n}]" if isinstance(value, list) else where)


def _context(value: Any, where: str, object_kind: str) -> None:
    c = _keys(
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
        ca = _keys(
            c["contextActivities"],
            f"{where}.contextActivities",
            {"parent", "grouping", "category", "other"},
        )
        for key, acts in ca.items():
            _activity_list(acts, f"{where}.contextActivities.{key}")
    for key in ("revision", "platform"):
        if key in c:
            _string(c[key], f"{where}.{key}")
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
        _extensions(c["extensions"], f"{where}.extensions")
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
            entry = _keys(item, w, {"objectType", inner, "relevantTypes"})
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
                    _iri(iri, f"{w}.relevantTypes[{t}]")


def _attachments(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise invalid(where, "must be a list.", "harus berupa daftar.")
    for n, item in enumerate(value):
        w = f"{where}[{n}]"
        a = _keys(
            item,
            w,
            {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"},
        )
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in a:
                raise invalid(w, f"needs {key}.", f"memerlukan {key}.")
        _iri(a["usageType"], f"{w}.usageType")
        _langmap(a["display"], f"{w}.display")
        if "description" in a:
            _langmap(a["description"], f"{w}.description")
        _string(a["contentType"], f"{w}.contentType")
        _string(a["sha2"], f"{w}.sha2")
        if isinstance(a["length"], bool) or not isinstance(a["length"], int) or a["length"] < 0:
            raise invalid(
                f"{w}.length",
                "must be a whole number of bytes.",
                "harus berupa bilangan bulat byte.",
            )
        if "fileUrl" not in a:
            continue  # its content must come as a part of the request (attachments.py)
        _iri(a["fileUrl"], f"{w}.fileUrl")


def _statement(value: Any, where: str, *, sub: bool) -> None:
    s = _keys(value, where, SUB if sub else TOP)
    for key in ("actor", "verb", "object"):
        if key not in s:
            raise invalid(where, f"needs {key}.", f"memerlukan {key}.")
    agent(s["actor"], f"{where}.actor")
    verb = _verb(s["verb"], f"{where}.verb")
    kind = _object(s["object"], f"{where}.object", sub=sub)
    if verb == VOIDED and kind != "StatementRef":
        raise invalid(
            f"{where}.object",
            "a voiding statement's object must be the StatementRef of the statement it voids.",
            "object dari pernyataan pembatalan harus berupa StatementRef pernyataan yang dibatalkan.",
        )
    if "result" in s:
        _result(s["result"], f"{where}.result")
    if "context" in s:
        _context(s["context"], f"{where}.context", kind)
    if "timestamp" in s:
        timestamp(s["timestamp"], f"{where}.timestamp")
    if "attachments" in s:
        _attachments(s["attachments"], f"{where}.attachments")


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
