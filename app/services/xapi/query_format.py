"""A statement in the ``format`` the caller asked for (xAPI Communication 2.1.3): exact as
stored; ids (agents and groups by identifier, activities and verbs by id); canonical
(each language map down to the language the caller prefers)."""

from __future__ import annotations

from typing import Any


def shaped(body: dict[str, Any], fmt: str, languages: list[str]) -> dict[str, Any]:
    """A statement in ``format``: exact as stored; ids (agents and groups by identifier,
    activities and verbs by id); canonical (each language map down to the language the
    caller prefers, by Accept-Language, else its first entry)."""
    if fmt == "exact":
        return body
    if fmt == "ids":
        return _ids_statement(body)
    return _canonical(body, languages, None)


IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")


def _ids_agent(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kept = {k: v for k, v in value.items() if k in ("objectType", *IFI_KEYS)}
    if "member" in value and not any(k in value for k in IFI_KEYS):
        kept["member"] = [_ids_agent(m) for m in value["member"]]
    return kept


def _ids_statement(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    out["actor"] = _ids_agent(body["actor"])
    out["verb"] = {"id": body["verb"]["id"]}
    obj = body["object"]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        out["object"] = {"id": obj["id"]}
    elif kind in ("Agent", "Group"):
        out["object"] = _ids_agent(obj)
    elif kind == "SubStatement":
        out["object"] = {**_ids_statement(obj), "objectType": "SubStatement"}
    if "authority" in body:
        out["authority"] = _ids_agent(body["authority"])
    context = body.get("context")
    if isinstance(context, dict):
        context = dict(context)
        for key in ("instructor", "team"):
            if key in context:
                context[key] = _ids_agent(context[key])
        if "contextActivities" in context:
            context["contextActivities"] = {
                k: [{"id": a["id"]} for a in v] for k, v in context["contextActivities"].items()
            }
        if "contextAgents" in context:
            context["contextAgents"] = [
                {**e, "agent": _ids_agent(e["agent"])} for e in context["contextAgents"]
            ]
        if "contextGroups" in context:
            context["contextGroups"] = [
                {**e, "group": _ids_agent(e["group"])} for e in context["contextGroups"]
            ]
        out["context"] = context
    return out


LANGUAGE_MAPS = {"display", "name", "description"}


def _best(value: dict[str, str], languages: list[str]) -> dict[str, str]:
    lowered = {tag.lower(): tag for tag in value}
    for lang in languages:
        if lang in lowered:
            return {lowered[lang]: value[lowered[lang]]}
    for lang in languages:
        for low, tag in lowered.items():
            if low.split("-")[0] == lang.split("-")[0]:
                return {tag: value[tag]}
    tag = next(iter(value))
    return {tag: value[tag]}


def _canonical(value: Any, languages: list[str], key: str | None) -> Any:
    if isinstance(value, list):
        return [_canonical(v, languages, None) for v in value]
    if not isinstance(value, dict):
        return value
    if key == "extensions":
        return value
    if key in LANGUAGE_MAPS and value and all(isinstance(v, str) for v in value.values()):
        return _best(value, languages)
    return {k: _canonical(v, languages, k) for k, v in value.items()}
