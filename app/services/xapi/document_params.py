"""The parameters of the xAPI document resources, read as xAPI defines them
(Communication 2.3, 2.6, 2.7): unknown or repeated parameters, a missing required one, an
``agent`` that is not an Agent in JSON, an ``activityId`` that is not an IRI, a
``registration`` that is not a UUID or a ``since`` that is not a timestamp are 400.

A document's context is hashed into ``scope`` (kind, activity, agent) and its identity
into ``key`` (scope, registration, id): fixed-length values for the unique key and the
index, whatever the length of the IRIs and ids (app/models/xapi.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core import i18n
from app.core.errors import ProblemError
from app.services.xapi.query import bad
from app.services.xapi.statements import agent_keys
from app.services.xapi.validate import IRI, MAX_IRI, agent, timestamp, uuid

i18n.MESSAGES.update(
    {
        "xapi_invalid_agent": {
            "en": ("Invalid agent parameter", "Send an Agent as JSON with one identifier."),
            "id": ("Parameter agent tidak sah", "Kirim Agent dalam JSON dengan satu pengenal."),
        }
    }
)
# The request line holds at most 64 KiB (uvicorn): the largest request the contract
# allows, every character 4 bytes of UTF-8 percent-encoded (12 bytes), must fit. The State
# resource's activityId (2,048) + agent (1,536) + stateId (1,024) take 55 KiB at worst.
MAX_DOCUMENT_ID = 1024  # characters of a stateId or profileId
MAX_AGENT = 1536  # characters of the agent parameter (JSON)
# kind -> (label in messages, the document id parameter, the context parameters)
KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "state": ("State", "stateId", ("activityId", "agent", "registration")),
    "activity": ("Activity Profile", "profileId", ("activityId",)),
    "agent": ("Agent Profile", "profileId", ("agent",)),
}


@dataclass(frozen=True)
class Target:
    kind: str
    activity_id: str | None
    agent: str | None  # the agent's key (statements.agent_keys), e.g. mbox:mailto:...
    registration: str | None
    document_id: str | None
    since: datetime | None = None

    @property
    def label(self) -> str:
        return KINDS[self.kind][0]

    @property
    def id_param(self) -> str:
        return KINDS[self.kind][1]

    @property
    def scope(self) -> str:
        text = json.dumps([self.kind, self.activity_id, self.agent])
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def key(self) -> str:
        text = json.dumps([self.scope, self.registration or "", self.document_id])
        return hashlib.sha256(text.encode()).hexdigest()


def activity_iri(raw: str) -> str:
    if len(raw) > MAX_IRI or not IRI.match(raw):
        raise bad(
            f"activityId must be an absolute IRI of at most {MAX_IRI} characters, e.g. "
            "http://example.com/activities/module-1.",
            f"activityId harus berupa IRI absolut paling panjang {MAX_IRI} karakter, "
            "misalnya http://example.com/activities/module-1.",
        )
    return raw


def agent_param(raw: str) -> tuple[dict[str, Any], str]:
    """An Agent given as JSON (not a Group, Communication 2.6) and its key."""
    try:
        if len(raw) > MAX_AGENT:
            raise ValueError("too long")
        value = json.loads(raw)
        agent(value, "agent", group=False)
    except (ValueError, RecursionError, ProblemError):
        raise ProblemError(
            400,
            "xapi_invalid_agent",
            f"agent must be an Agent as JSON (at most {MAX_AGENT} characters) with exactly "
            'one identifier, e.g. {"mbox": "mailto:ani@example.go.id"} or {"account": '
            '{"homePage": "https://lms.example.go.id", "name": "199001012015031001"}}.',
            detail_id=f"agent harus berupa Agent dalam JSON (paling panjang {MAX_AGENT} "
            'karakter) dengan tepat satu pengenal, misalnya {"mbox": '
            '"mailto:ani@example.go.id"} atau {"account": {"homePage": '
            '"https://lms.example.go.id", "name": "199001012015031001"}}.',
        ) from None
    return value, next(agent_keys(value))


def check_params(params: dict[str, str], multi: set[str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise bad(
            f"Unknown parameters {', '.join(unknown)}; this request takes "
            f"{', '.join(sorted(allowed))}.",
            f"Parameter tidak dikenal {', '.join(unknown)}; permintaan ini menerima "
            f"{', '.join(sorted(allowed))}.",
        )
    if multi:
        raise bad(
            f"Give each parameter once (repeated: {', '.join(sorted(multi))}).",
            f"Berikan setiap parameter satu kali (berulang: {', '.join(sorted(multi))}).",
        )


def required(params: dict[str, str], name: str) -> str:
    if name not in params:
        raise bad(f"The parameter {name} is required.", f"Parameter {name} wajib diisi.")
    return params[name]


def parse(
    kind: str, params: dict[str, str], multi: set[str], *, one: bool, listing: bool = False
) -> Target:
    """The document a request names (``one``: the id parameter is required), or, without
    the id, its context (``listing``: a GET of the ids, which takes ``since``)."""
    _label, id_param, context = KINDS[kind]
    allowed = {*context, id_param} | ({"since"} if listing else set())
    check_params(params, multi, allowed)
    activity_id = activity_iri(required(params, "activityId")) if "activityId" in context else None
    agent_key = agent_param(required(params, "agent"))[1] if "agent" in context else None
    registration = since = None
    try:
        if "registration" in params:
            registration = uuid(params["registration"], "registration").lower()
        if "since" in params:
            since = timestamp(params["since"], "since")
    except ProblemError as exc:
        raise bad(exc.detail or "", exc.detail_id or "") from None
    document_id = required(params, id_param) if one else params.get(id_param)
    if document_id is not None and not 0 < len(document_id) <= MAX_DOCUMENT_ID:
        raise bad(
            f"{id_param} must be 1 to {MAX_DOCUMENT_ID} characters.",
            f"{id_param} harus 1 sampai {MAX_DOCUMENT_ID} karakter.",
        )
    return Target(kind, activity_id, agent_key, registration, document_id, since)
