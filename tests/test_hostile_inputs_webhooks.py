"""Hostile input against the /v1/webhooks endpoints: subscriptions, their secret, the
delivery log, redelivery and ping. Every case answers a clear 4xx problem+json (never 5xx,
never a hang) and changes no data (``_failure`` of tests/test_hostile_inputs.py compares
every data table before and after).

Names in URLs are resolved by a stub (no packet leaves the machine): every name is
unknown to it except the one public receiver the world's subscription uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.webhook import WebhookDelivery
from app.services import outbound
from tests.factories import auth_headers, make_agency, make_user
from tests.test_hostile_inputs import _failure

RECEIVER = "https://hooks.lms.example/bangkom"
Request = tuple[str, str, dict[str, Any]]
Case = Callable[["World"], Request]


def _stub(host: str, port: int) -> list[str]:
    if host == "hooks.lms.example":
        return ["93.184.215.14"]
    raise OSError(f"{host} does not resolve")


@pytest.fixture(autouse=True)
def _no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound, "system_resolver", _stub)


@dataclass
class World:
    admin: dict[str, str]
    webhook: str
    delivery: str
    foreign: str  # another agency's subscription


def _world(client: TestClient, session: Session) -> World:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    other = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()
    body = {"url": RECEIVER, "event_types": ["enrollment.created"]}
    made = client.post("/v1/webhooks", json=body, headers=admin)
    foreign = client.post("/v1/webhooks", json=body, headers=other)
    assert made.status_code == foreign.status_code == 201, made.text
    webhook = made.json()["id"]
    delivery = WebhookDelivery(
        subscription_id=webhook,
        agency_id=made.json()["agency_id"],
        event_type="enrollment.created",
        change_seq=1,
        payload="{}",
        status="failed",
    )
    session.add(delivery)
    session.commit()
    return World(admin, webhook, delivery.id, foreign.json()["id"])


def _post(path: str, raw: bytes | None = None, **body: Any) -> Case:
    def build(w: World) -> Request:
        content = raw if raw is not None else json.dumps(body).encode()
        headers = {**w.admin, "Content-Type": "application/json"}
        return "POST", path.format(w=w), {"content": content, "headers": headers}

    return build


def _json(method: str, path: str, body: Any, **headers: str) -> Case:
    return lambda w: (method, path.format(w=w), {"json": body, "headers": {**w.admin, **headers}})


def _bare(method: str, path: str) -> Case:
    return lambda w: (method, path.format(w=w), {"headers": w.admin})


def _create(**fields: Any) -> Case:
    body: dict[str, Any] = {"url": RECEIVER, "event_types": ["course.updated"]}
    body.update(fields)
    return _json("POST", "/v1/webhooks", body)


HUGE = "x" * 2_000_000
URLS = {
    "metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "metadata-v6-mapped": "http://[::ffff:a9fe:a9fe]/",
    "private": "http://10.0.0.1/",
    "loopback-v6": "http://[::1]:5432/",
    "nat64-private": "http://[64:ff9b::a00:1]/",
    "userinfo-private": "http://admin:admin@192.168.1.1/",
    "unresolvable": "https://nowhere.lms.example/hook",
    "ftp": "ftp://hooks.lms.example/",
    "javascript": "javascript:alert(1)",
    "data": "data:text/plain,hello",
    "file": "file:///etc/passwd",
    "no-scheme": "hooks.lms.example/bangkom",
    "bad-port": "https://hooks.lms.example:99999/",
    "port-0": "https://hooks.lms.example:0/",
    "port-negative": "https://hooks.lms.example:-1/",
    "crlf": "https://hooks.lms.example/\r\nHost: evil",
    "nul": "https://hooks.lms.example/\x00",
    "space": "https://hooks.lms.example/a b",
    "unicode-host": "https://hööks.lms.example/",
    "too-long": RECEIVER + "/" + "a" * 2000,
    "huge": HUGE,
    "empty": "",
}


def _create_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {f"create-url-{k}": _create(url=v) for k, v in URLS.items()}
    cases |= {
        "create-not-json": _post("/v1/webhooks", b"url=https://x"),
        "create-array": _post("/v1/webhooks", b"[]"),
        "create-nested": _post("/v1/webhooks", b"[" * 100_000 + b"]" * 100_000),
        "create-invalid-utf8": _post("/v1/webhooks", b'{"url": "\xff\xfe"}'),
        "create-url-number": _create(url=1),
        "create-url-null": _create(url=None),
        "create-url-list": _create(url=[RECEIVER]),
        "create-events-empty": _create(event_types=[]),
        "create-events-string": _create(event_types="course.updated"),
        "create-events-null-item": _create(event_types=[None]),
        "create-events-unknown": _create(event_types=["course.deleted"]),
        "create-events-ping": _create(event_types=["webhook.ping"]),
        "create-events-duplicate": _create(event_types=["course.updated"] * 2),
        "create-events-10000": _create(event_types=["course.updated"] * 10_000),
        "create-events-sql": _create(event_types=["course.updated' OR '1'='1"]),
        "create-description-long": _create(description="d" * 201),
        "create-description-control": _create(description="a\x1b[31mred"),
        "create-description-number": _create(description=5),
        "create-secret-short": _create(secret="whsec_" + "A" * 31),
        "create-secret-not-base64": _create(secret="whsec_" + "!" * 40),
        "create-secret-huge": _create(secret="whsec_" + "A" * 1_000_000),
        "create-secret-nul": _create(secret="whsec_" + "A" * 39 + "\x00"),
        "create-secret-number": _create(secret=123),
        "create-agency-id": _create(agency_id="agc_other"),
        "create-start-seq": _create(start_seq=0),
        "create-active": _create(active=False),
        "create-unknown": _create(callback="https://x"),
        "create-idempotency-key-10000": lambda w: (
            "POST",
            "/v1/webhooks",
            {
                "json": {"url": "http://10.0.0.1/", "event_types": ["course.updated"]},
                "headers": {**w.admin, "Idempotency-Key": "k" * 10_000},
            },
        ),
    }
    return cases


ONE = "/v1/webhooks/{w.webhook}"


def _change_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {f"patch-url-{k}": _json("PATCH", ONE, {"url": v}) for k, v in URLS.items()}  # fmt: skip
    cases |= {
        "patch-url-null": _json("PATCH", ONE, {"url": None}),
        "patch-events-null": _json("PATCH", ONE, {"event_types": None}),
        "patch-events-empty": _json("PATCH", ONE, {"event_types": []}),
        "patch-active-string": _json("PATCH", ONE, {"active": "false"}),
        "patch-active-int": _json("PATCH", ONE, {"active": 0}),
        "patch-active-null": _json("PATCH", ONE, {"active": None}),
        "patch-secret": _json("PATCH", ONE, {"secret": "whsec_" + "A" * 43 + "="}),
        "patch-agency": _json("PATCH", ONE, {"agency_id": "agc_x"}),
        "patch-disabled-reason": _json("PATCH", ONE, {"disabled_reason": None}),
        "patch-version": _json("PATCH", ONE, {"version": 99}),
        "patch-array": _json("PATCH", ONE, []),
        "patch-stale-if-match": _json(
            "PATCH", ONE, {"description": "x"}, **{"If-Match": '"whk_x-9"'}
        ),  # fmt: skip
        "patch-if-match-10000": _json(
            "PATCH", ONE, {"description": "x"}, **{"If-Match": '"' + "k" * 10_000 + '"'}
        ),  # fmt: skip
        "delete-stale-if-match": lambda w: (
            "DELETE",
            ONE.format(w=w),
            {"headers": {**w.admin, "If-Match": '"whk_x-9"'}},
        ),  # fmt: skip
        "rotate-keep-string": _json("POST", ONE + "/rotate-secret", {"keep_previous": "false"}),
        "rotate-keep-int": _json("POST", ONE + "/rotate-secret", {"keep_previous": 0}),
        "rotate-array": _json("POST", ONE + "/rotate-secret", []),
        "rotate-unknown": _json("POST", ONE + "/rotate-secret", {"secret": "whsec_x"}),
        "rotate-not-json": _post(ONE + "/rotate-secret", b"keep_previous=false"),
    }
    return cases


def _query_cases() -> dict[str, Case]:
    lists = {"list": "/v1/webhooks", "deliveries": ONE + "/deliveries"}
    queries = {
        "limit-0": "limit=0",
        "limit-huge": "limit=100000000000000000000",
        "limit-text": "limit=ten",
        "cursor-garbage": "cursor=not-a-cursor",
        "cursor-sql": "cursor=%27%20OR%20%271%27%3D%271",
        "cursor-huge": "cursor=" + "A" * 10_000,
        "cursor-other-list": "cursor=WyJpZCIsbnVsbCwid2hrXzAxIl0",  # an id-order cursor
        "unknown": "x=1",
        "repeated-limit": "limit=1&limit=abc",
    }
    cases: dict[str, Case] = {}
    for name, path in lists.items():
        for q, query in queries.items():
            if name == "list" and q == "cursor-other-list":
                continue  # a valid cursor of this very list
            cases[f"query-{name}-{q}"] = _bare("GET", f"{path}?{query}")
    cases |= {
        "query-list-since-garbage": _bare("GET", "/v1/webhooks?updated_since=yesterday"),
        "query-list-since-9999": _bare("GET", "/v1/webhooks?updated_since=9999-01-01T00:00:00Z"),
        "query-list-since-naive": _bare("GET", "/v1/webhooks?updated_since=2025-01-01T00:00:00"),
        "query-list-agency-sql": _bare("GET", "/v1/webhooks?agency_id=%27%20OR%201%3D1--"),
        "query-deliveries-status": _bare("GET", ONE + "/deliveries?status=lost"),
        "query-deliveries-event-sql": _bare(
            "GET", ONE + "/deliveries?event_type=a%27%20OR%201%3D1"
        ),  # fmt: skip
        "query-deliveries-event-long": _bare(
            "GET", ONE + "/deliveries?event_type=" + "a" * 5000 + ".b"
        ),  # fmt: skip
    }
    return cases


IDS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%00", "' OR '1'='1", "whk_" + "9" * 5000]


def _path_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for n, ident in enumerate(IDS):
        cases[f"path-get{n}"] = _bare("GET", f"/v1/webhooks/{ident}")
        cases[f"path-patch{n}"] = _json("PATCH", f"/v1/webhooks/{ident}", {"description": "x"})
        cases[f"path-delete{n}"] = _bare("DELETE", f"/v1/webhooks/{ident}")
        cases[f"path-rotate{n}"] = _bare("POST", f"/v1/webhooks/{ident}/rotate-secret")
        cases[f"path-ping{n}"] = _bare("POST", f"/v1/webhooks/{ident}/ping")
        cases[f"path-deliveries{n}"] = _bare("GET", f"/v1/webhooks/{ident}/deliveries")
        cases[f"path-delivery{n}"] = _bare("GET", ONE + f"/deliveries/{ident}")
        cases[f"path-redeliver{n}"] = _bare("POST", ONE + f"/deliveries/{ident}/redeliver")
    foreign = "/v1/webhooks/{w.foreign}"
    cases |= {
        "foreign-get": _bare("GET", foreign),
        "foreign-patch": _json("PATCH", foreign, {"active": False}),
        "foreign-delete": _bare("DELETE", foreign),
        "foreign-rotate": _bare("POST", foreign + "/rotate-secret"),
        "foreign-ping": _bare("POST", foreign + "/ping"),
        "foreign-deliveries": _bare("GET", foreign + "/deliveries"),
        # our delivery under their subscription, and theirs under ours
        "foreign-delivery": _bare("GET", foreign + "/deliveries/{w.delivery}"),
        "foreign-redeliver": _bare("POST", foreign + "/deliveries/{w.delivery}/redeliver"),
    }
    return cases


CASES: dict[str, Case] = {
    **_create_cases(),
    **_change_cases(),
    **_query_cases(),
    **_path_cases(),
}
GROUPS = sorted({name.split("-")[0] for name in CASES})


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_input_to_webhook_endpoints_is_a_clear_4xx_and_changes_nothing(
    group: str, client: TestClient, session: Session, engine: Engine
) -> None:
    w = _world(client, session)
    failures = [
        found
        for name in sorted(CASES)
        if name.split("-")[0] == group
        and (found := _failure(name, CASES[name], w, client, engine)) is not None  # type: ignore[arg-type]
    ]
    assert failures == []
