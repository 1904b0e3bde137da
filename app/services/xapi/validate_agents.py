"""Agents and Groups in xAPI statements (IEEE 9274.1.1 Part 2 section 2.4.2.2-2.4.2.3):
exactly one inverse functional identifier, anonymous groups with members."""

from __future__ import annotations

import re
from typing import Any

from app.services.xapi.validate_values import invalid, iri, keys, string

MBOX = re.compile(r"^mailto:[^@\s:]+@[^@\s]+\.[^@\s]+$")
SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
GROUP_KEYS = frozenset({"objectType", "name", "member", *IFIS})
AGENT_KEYS = frozenset({"objectType", "name", *IFIS})
ACCOUNT_KEYS = frozenset({"homePage", "name"})


def agent(value: Any, where: str, *, group: bool = True) -> dict[str, Any]:
    """An Agent or (when ``group``) a Group, with exactly one inverse functional identifier
    (an anonymous Group: none, and members)."""
    if not isinstance(value, dict):
        raise invalid(where, "must be an Agent object.", "harus berupa objek Agent.")
    kind = value.get("objectType", "Agent")
    if kind == "Group" and group:
        keys(value, where, GROUP_KEYS)
    elif kind == "Agent":
        keys(value, where, AGENT_KEYS)
    else:
        raise invalid(
            f"{where}.objectType",
            "must be Agent" + (" or Group." if group else "."),
            "harus Agent" + (" atau Group." if group else "."),
        )
    if "name" in value:
        string(value["name"], f"{where}.name")
    present = [k for k in IFIS if k in value]
    if len(present) > 1 or (not present and kind == "Agent"):
        raise invalid(
            where,
            "needs exactly one of mbox, mbox_sha1sum, openid or account.",
            "memerlukan tepat satu dari mbox, mbox_sha1sum, openid atau account.",
        )
    ifi(value, where)
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


def ifi(value: dict[str, Any], where: str) -> None:
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
        iri(value["openid"], f"{where}.openid")
    if "account" in value:
        account = keys(value["account"], f"{where}.account", ACCOUNT_KEYS)
        if "homePage" not in account or "name" not in account:
            raise invalid(
                f"{where}.account", "needs homePage and name.", "memerlukan homePage dan name."
            )
        iri(account["homePage"], f"{where}.account.homePage")
        string(account["name"], f"{where}.account.name")
