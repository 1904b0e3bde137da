"""The /v1/webhooks API: subscriptions (create, list, read, change, delete, rotate the
secret), the delivery log, redelivery and ping; agency isolation, scopes, and the SSRF
guard on every URL an agency gives.

No test resolves a real name: ``system_resolver`` is replaced by a table (a name missing
from it fails the test), and IP literals never reach a resolver.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.core.config import get_settings
from app.models.base import utcnow
from app.models.change import ChangeCounter
from app.models.webhook import (
    PING_EVENT,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
)
from app.services import outbound
from tests.factories import auth_headers, course_payload, make_agency, make_user
from tests.test_clients import bearer, client_token, register

PUBLIC_IP = "93.184.215.14"
NAMES = {
    "hooks.lms.example": [PUBLIC_IP],
    "other.lms.example": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "internal.lms.example": ["10.0.0.1"],
    "split.lms.example": [PUBLIC_IP, "192.168.1.20"],
}
URL = "https://hooks.lms.example/bangkom"


def _stub(host: str, port: int) -> list[str]:
    if host == "nowhere.lms.example":
        raise OSError("name does not resolve")
    assert host in NAMES, f"a test tried to resolve {host} for real"
    return NAMES[host]


@pytest.fixture(autouse=True)
def _no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound, "system_resolver", _stub)


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BANGKOM_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("BANGKOM_OUTBOUND_ALLOWED_NETWORKS")
    get_settings.cache_clear()


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


def create(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"url": URL, "event_types": ["enrollment.created"]}
    body.update(overrides)
    response = client.post("/v1/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def add_delivery(session: Session, sub_id: str, **values: Any) -> WebhookDelivery:
    sub = session.get(WebhookSubscription, sub_id)
    assert sub is not None
    row = WebhookDelivery(
        subscription_id=sub_id,
        agency_id=sub.agency_id,
        event_type=values.pop("event_type", "enrollment.created"),
        payload=values.pop("payload", '{"type":"enrollment.created"}'),
        **values,
    )
    session.add(row)
    session.commit()
    time.sleep(0.002)  # ids are time-ordered to the millisecond
    return row


# --- create, read, list ------------------------------------------------------------


def test_create_shows_the_secret_once_and_reads_never_show_it(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    made = create(client, admin, description="LMS ASN Berpijar", event_types=["course.updated"])
    secret = made["secret"]
    assert made["id"].startswith("whk_") and secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert made["active"] is True and made["disabled_reason"] is None
    assert made["event_types"] == ["course.updated"] and made["url"] == URL
    stored = session.get(WebhookSubscription, made["id"])
    assert stored is not None and stored.secret == secret
    one = client.get(f"/v1/webhooks/{made['id']}", headers=admin)
    assert one.status_code == 200 and "secret" not in one.json()
    assert one.headers["etag"] and secret not in one.text
    listed = client.get("/v1/webhooks", headers=admin)
    assert [w["id"] for w in listed.json()["items"]] == [made["id"]]
    assert secret not in listed.text
    cached = client.get(
        f"/v1/webhooks/{made['id']}", headers={**admin, "If-None-Match": one.headers["etag"]}
    )
    assert cached.status_code == 304


def test_a_secret_of_your_own_is_kept_when_it_is_24_to_64_bytes_of_base64(
    client: TestClient, admin: dict[str, str]
) -> None:
    own = "whsec_" + base64.b64encode(b"k" * 24).decode()
    assert create(client, admin, secret=own)["secret"] == own
    for bad in (
        "whsec_" + base64.b64encode(b"k" * 23).decode(),  # too short a key
        "whsec_" + base64.b64encode(b"k" * 65).decode(),  # too long
        "whsec_" + "A" * 33,  # not base64 (a length that is no multiple of 4)
        "sk_" + base64.b64encode(b"k" * 32).decode(),  # not the whsec_ format
    ):
        response = client.post(
            "/v1/webhooks",
            json={"url": URL, "event_types": ["course.updated"], "secret": bad},
            headers=admin,
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["loc"] == ["body", "secret"]


def test_a_new_subscription_hears_only_changes_committed_after_it(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    first = create(client, admin)
    assert session.get(WebhookSubscription, first["id"]).start_seq == 0  # type: ignore[union-attr]
    session.rollback()  # end the read: the test's session holds SQLite's write lock
    assert client.post("/v1/courses", json=course_payload(), headers=admin).status_code == 201
    session.expire_all()
    counter = session.get(ChangeCounter, 1)
    assert counter is not None and counter.last_seq > 0
    last_seq = counter.last_seq
    session.rollback()
    second = create(client, admin)
    assert session.get(WebhookSubscription, second["id"]).start_seq == last_seq  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("event_types", "kind"),
    [
        ([], "too_short"),
        (["enrollment.deleted"], "enum"),
        (["webhook.ping"], "enum"),  # sent by ping only, never subscribed to
        (["course.updated", "course.updated"], "event_types_duplicate"),
    ],
)
def test_event_types_are_a_non_empty_set_of_the_nine(
    client: TestClient, admin: dict[str, str], event_types: list[str], kind: str
) -> None:
    response = client.post(
        "/v1/webhooks",
        json={"url": URL, "event_types": event_types},
        headers={**admin, "Accept-Language": "id"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["type"] == kind
    assert client.get("/v1/webhooks", headers=admin).json()["items"] == []


def test_all_nine_event_types_at_once(client: TestClient, admin: dict[str, str]) -> None:
    made = create(client, admin, event_types=[e.value for e in WebhookEventType])
    assert len(made["event_types"]) == 9


def test_the_event_types_are_listed_in_both_languages(
    client: TestClient, admin: dict[str, str]
) -> None:
    items = client.get("/v1/webhook-event-types", headers=admin).json()["items"]
    assert {i["type"] for i in items} == {e.value for e in WebhookEventType}
    assert all(i["description"] and i["description_id"] != i["description"] for i in items)
    assert client.get("/v1/webhook-event-types").status_code == 401


def test_the_list_pages_with_link_and_follows_updated_since(
    client: TestClient, admin: dict[str, str]
) -> None:
    made = [create(client, admin)["id"] for _ in range(3)]
    first = client.get("/v1/webhooks?limit=2", headers=admin)
    assert [w["id"] for w in first.json()["items"]] == made[:2]
    assert 'rel="next"' in first.headers["link"]
    cursor = first.json()["next_cursor"]
    second = client.get(f"/v1/webhooks?limit=2&cursor={cursor}", headers=admin).json()
    assert [w["id"] for w in second["items"]] == made[2:] and second["next_cursor"] is None
    time.sleep(0.01)
    since = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    patched = client.patch(f"/v1/webhooks/{made[0]}", json={"description": "x"}, headers=admin)
    assert patched.status_code == 200
    changed = client.get("/v1/webhooks", params={"updated_since": since}, headers=admin).json()
    assert [w["id"] for w in changed["items"]] == [made[0]]


def test_create_is_idempotent_with_a_key(client: TestClient, admin: dict[str, str]) -> None:
    headers = {**admin, "Idempotency-Key": "whk-create-1"}
    body = {"url": URL, "event_types": ["course.updated"]}
    first = client.post("/v1/webhooks", json=body, headers=headers)
    again = client.post("/v1/webhooks", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(client.get("/v1/webhooks", headers=admin).json()["items"]) == 1


# --- the SSRF guard on the API ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "address"),
        ("http://10.0.0.1/", "address"),
        ("http://[::1]/", "address"),
        ("http://[::ffff:127.0.0.1]/", "address"),
        ("http://[fd00::1]/", "address"),
        ("http://100.64.0.1/", "address"),  # shared (CGNAT)
        ("http://0.0.0.0:8080/", "address"),
        ("http://127.0.0.1:8123/hook", "address"),  # refused unless allowed by the setting
        ("ftp://hooks.lms.example/bangkom", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("https://internal.lms.example/hook", "address"),  # a name resolving to 10.0.0.1
        ("https://split.lms.example/hook", "address"),  # one public, one private address
        ("https://nowhere.lms.example/hook", "resolve"),
    ],
)
def test_a_url_the_guard_refuses_is_422_with_the_reason_and_creates_nothing(
    client: TestClient, admin: dict[str, str], session: Session, url: str, reason: str
) -> None:
    body = {"url": url, "event_types": ["course.updated"]}
    response = client.post("/v1/webhooks", json=body, headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "destination_refused"
    assert problem["errors"] == [
        {"loc": ["body", "url"], "msg": problem["detail"], "type": f"destination_{reason}"}
    ]
    in_indonesian = client.post(
        "/v1/webhooks", json=body, headers={**admin, "Accept-Language": "id"}
    ).json()
    assert in_indonesian["detail"] != problem["detail"]
    assert in_indonesian["errors"][0]["msg"] == in_indonesian["detail"]
    assert session.exec(select(WebhookSubscription)).all() == []


def test_loopback_is_allowed_only_by_the_setting(
    client: TestClient, admin: dict[str, str], allow_loopback: None
) -> None:
    made = create(client, admin, url="http://127.0.0.1:8123/hook")
    assert made["url"] == "http://127.0.0.1:8123/hook"
    for url in ("http://127.0.0.2/", "http://10.0.0.1/", "http://169.254.169.254/"):
        refused = client.post("/v1/webhooks", json={"url": url, "event_types": ["course.updated"]}, headers=admin)  # fmt: skip
        assert refused.status_code == 422 and refused.json()["code"] == "destination_refused"


@pytest.mark.parametrize("url", ["not a url", "https://", "hooks.lms.example/x", "http://[::1/"])
def test_a_malformed_url_is_a_field_error(
    client: TestClient, admin: dict[str, str], url: str
) -> None:
    response = client.post("/v1/webhooks", json={"url": url, "event_types": ["course.updated"]}, headers=admin)  # fmt: skip
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "url"]


# --- change, rotate, delete -------------------------------------------------------------


def test_patch_changes_what_is_sent_and_checks_a_new_url(
    client: TestClient, admin: dict[str, str]
) -> None:
    made = create(client, admin)
    path = f"/v1/webhooks/{made['id']}"
    etag = client.get(path, headers=admin).headers["etag"]
    changed = client.patch(
        path,
        json={
            "url": "https://other.lms.example/v2",
            "event_types": ["certificate.issued", "certificate.revoked"],
            "description": None,
        },  # fmt: skip
        headers={**admin, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["url"] == "https://other.lms.example/v2" and body["version"] == 2
    assert body["event_types"] == ["certificate.issued", "certificate.revoked"]
    assert changed.headers["etag"] != etag
    stale = client.patch(path, json={"description": "x"}, headers={**admin, "If-Match": etag})
    assert stale.status_code == 412
    refused = client.patch(path, json={"url": "http://169.254.169.254/"}, headers=admin)
    assert refused.status_code == 422 and refused.json()["code"] == "destination_refused"
    assert client.get(path, headers=admin).json()["url"] == "https://other.lms.example/v2"
    assert client.patch(path, json={"event_types": []}, headers=admin).status_code == 422


def test_turning_off_and_on_again_clears_the_reason_also_after_gone(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    made = create(client, admin)
    path = f"/v1/webhooks/{made['id']}"
    off = client.patch(path, json={"active": False}, headers=admin).json()
    assert off["active"] is False and off["disabled_reason"] == "disabled"
    assert off["disabled_at"] is not None
    again = client.patch(path, json={"active": False}, headers=admin).json()
    assert again["version"] == off["version"]  # already off: nothing changed
    on = client.patch(path, json={"active": True}, headers=admin).json()
    assert on["active"] is True and on["disabled_reason"] is None and on["disabled_at"] is None
    sub = session.get(WebhookSubscription, made["id"])
    assert sub is not None
    sub.active, sub.disabled_reason, sub.disabled_at = False, "gone", utcnow()  # the worker's 410
    session.add(sub)
    session.commit()
    assert client.get(path, headers=admin).json()["disabled_reason"] == "gone"
    back = client.patch(path, json={"active": True}, headers=admin).json()
    assert back["active"] is True and back["disabled_reason"] is None


def test_rotating_keeps_the_old_secret_for_24_hours_unless_told_not_to(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    made = create(client, admin)
    path = f"/v1/webhooks/{made['id']}/rotate-secret"
    rotated = client.post(path, headers=admin)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != made["secret"]
    assert rotated.headers["cache-control"] == "no-store"
    expires = datetime.fromisoformat(body["previous_secret_expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=24)
    sub = session.get(WebhookSubscription, made["id"])
    assert sub is not None and (sub.secret, sub.previous_secret) == (body["secret"], made["secret"])
    held = (sub.secret, sub.previous_secret or "")
    session.rollback()
    shown = client.get(f"/v1/webhooks/{made['id']}", headers=admin).text
    assert held[0] not in shown and held[1] not in shown
    dropped = client.post(path, json={"keep_previous": False}, headers=admin).json()
    assert dropped["previous_secret_expires_at"] is None
    session.expire_all()
    sub = session.get(WebhookSubscription, made["id"])
    assert sub is not None and sub.previous_secret is None and sub.secret == dropped["secret"]
    session.rollback()
    assert client.post(path, json={"keep_previous": 1}, headers=admin).status_code == 422


def test_delete_removes_the_subscription_with_its_delivery_log(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    made = create(client, admin)
    keep = create(client, admin)
    delivery = add_delivery(session, made["id"], status="failed", attempts=1)
    kept = add_delivery(session, keep["id"])
    session.add(
        WebhookAttempt(delivery_id=delivery.id, number=1, started_at=utcnow(), latency_ms=5)
    )
    session.commit()
    path = f"/v1/webhooks/{made['id']}"
    assert client.delete(path, headers={**admin, "If-Match": '"whk_x-1"'}).status_code == 412
    assert client.delete(path, headers=admin).status_code == 204
    assert client.get(path, headers=admin).status_code == 404
    assert client.delete(path, headers=admin).status_code == 404
    session.expire_all()
    assert session.exec(select(WebhookAttempt)).all() == []
    assert [d.id for d in session.exec(select(WebhookDelivery)).all()] == [kept.id]


# --- the delivery log, redelivery, ping --------------------------------------------------


def test_deliveries_newest_first_filtered_and_paged(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    made = create(client, admin)
    other = create(client, admin)
    rows = [
        add_delivery(session, made["id"], change_seq=1, status="succeeded", attempts=1),
        add_delivery(session, made["id"], change_seq=2, event_type="course.updated"),
        add_delivery(session, made["id"], change_seq=3, status="failed", attempts=9),
    ]
    add_delivery(session, other["id"], change_seq=1)
    path = f"/v1/webhooks/{made['id']}/deliveries"
    listed = client.get(path, headers=admin).json()
    assert [d["id"] for d in listed["items"]] == [r.id for r in reversed(rows)]
    assert listed["items"][0]["status"] == "failed" and listed["items"][0]["attempts"] == 9
    page = client.get(path, params={"limit": 2}, headers=admin)
    assert [d["id"] for d in page.json()["items"]] == [rows[2].id, rows[1].id]
    assert 'rel="next"' in page.headers["link"]
    rest = client.get(path, params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=admin)  # fmt: skip
    assert [d["id"] for d in rest.json()["items"]] == [rows[0].id]
    failed = client.get(path, params={"status": "failed"}, headers=admin).json()["items"]
    assert [d["id"] for d in failed] == [rows[2].id]
    courses = client.get(path, params={"event_type": "course.updated"}, headers=admin).json()
    assert [d["id"] for d in courses["items"]] == [rows[1].id]
    assert client.get(path, params={"status": "lost"}, headers=admin).status_code == 422


def test_a_delivery_shows_its_payload_and_every_attempt(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    made = create(client, admin)
    row = add_delivery(session, made["id"], change_seq=7, status="pending", attempts=2)
    started = utcnow()
    session.add_all(
        [
            WebhookAttempt(
                delivery_id=row.id,
                number=2,
                started_at=started,
                status_code=200,
                latency_ms=12,
                response_body="ok",
                worker="w1",
            ),  # fmt: skip
            WebhookAttempt(
                delivery_id=row.id,
                number=1,
                started_at=started - timedelta(seconds=30),
                status_code=None,
                latency_ms=10000,
                error="timeout",
                worker="w1",
            ),  # fmt: skip
        ]
    )
    session.commit()
    path = f"/v1/webhooks/{made['id']}/deliveries/{row.id}"
    shown = client.get(path, headers=admin)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["payload"] == row.payload and body["change_seq"] == 7
    assert [(a["number"], a["status_code"], a["error"]) for a in body["attempts_log"]] == [
        (1, None, "timeout"),
        (2, 200, None),
    ]
    assert body["attempts_log"][1]["response_body"] == "ok"
    again = client.get(path, headers={**admin, "If-None-Match": shown.headers["etag"]})
    assert again.status_code == 304
    other = create(client, admin)
    assert client.get(f"/v1/webhooks/{other['id']}/deliveries/{row.id}", headers=admin).status_code == 404  # fmt: skip


def test_redelivery_makes_the_same_delivery_due_now(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    made = create(client, admin)
    row = add_delivery(session, made["id"], change_seq=3, status="failed", attempts=9, last_status_code=500)  # fmt: skip
    before = utcnow()
    path = f"/v1/webhooks/{made['id']}/deliveries/{row.id}/redeliver"
    response = client.post(path, headers=admin)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["id"] == row.id and body["status"] == "pending" and body["attempts"] == 9
    session.expire_all()
    stored = session.get(WebhookDelivery, row.id)
    assert stored is not None and stored.status == "pending" and stored.payload == row.payload
    assert stored.next_attempt_at is not None and stored.next_attempt_at >= before
    session.rollback()
    client.patch(f"/v1/webhooks/{made['id']}", json={"active": False}, headers=admin)
    refused = client.post(path, headers={**admin, "Accept-Language": "id"})
    assert refused.status_code == 409 and refused.json()["code"] == "webhook_inactive"
    assert "aktifkan" in refused.json()["detail"]
    missing = f"/v1/webhooks/{made['id']}/deliveries/msg_nothing/redeliver"
    assert client.post(missing, headers=admin).status_code == 404


def test_ping_creates_a_pending_ping_delivery_due_now(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    import json

    made = create(client, admin)
    response = client.post(f"/v1/webhooks/{made['id']}/ping", headers=admin)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["event_type"] == PING_EVENT and body["status"] == "pending"
    assert body["change_seq"] is None and body["id"].startswith("msg_")
    assert response.headers["location"].endswith(f"/deliveries/{body['id']}")
    stored = session.get(WebhookDelivery, body["id"])
    assert stored is not None and stored.next_attempt_at is not None
    payload = json.loads(stored.payload)
    assert payload["type"] == PING_EVENT and payload["timestamp"].endswith("Z")
    assert payload["data"] == {"subscription_id": made["id"], "ping": True}
    session.rollback()
    listed = client.get(f"/v1/webhooks/{made['id']}/deliveries", headers=admin).json()
    assert [d["id"] for d in listed["items"]] == [body["id"]]
    client.patch(f"/v1/webhooks/{made['id']}", json={"active": False}, headers=admin)
    assert client.post(f"/v1/webhooks/{made['id']}/ping", headers=admin).status_code == 409


# --- who may ---------------------------------------------------------------------------


def test_another_agency_gets_404_everywhere_and_platform_admins_see_all(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    made = create(client, admin)
    row = add_delivery(session, made["id"], change_seq=1)
    other = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    base = f"/v1/webhooks/{made['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("PATCH", base, {"description": "mine now"}),
        ("DELETE", base, None),
        ("POST", base + "/rotate-secret", None),
        ("GET", base + "/deliveries", None),
        ("GET", base + f"/deliveries/{row.id}", None),
        ("POST", base + f"/deliveries/{row.id}/redeliver", None),
        ("POST", base + "/ping", None),
    ]:
        response = client.request(method, path, json=body, headers=other)
        assert response.status_code == 404, (method, path, response.text)
        assert made["id"] in response.json()["detail"]
    assert client.get("/v1/webhooks", headers=other).json()["items"] == []
    platform = auth_headers(make_user(session, make_agency(session), "platform_admin"))
    assert [w["id"] for w in client.get("/v1/webhooks", headers=platform).json()["items"]] == [made["id"]]  # fmt: skip
    assert client.get(base, headers=platform).status_code == 200
    assert client.get("/v1/webhooks", params={"agency_id": "agc_none"}, headers=platform).json()["items"] == []  # fmt: skip
    session.expire_all()
    sub = session.get(WebhookSubscription, made["id"])
    assert sub is not None and sub.version == 1 and sub.secret == made["secret"]
    assert session.exec(select(WebhookDelivery).where(col(WebhookDelivery.event_type) == PING_EVENT)).all() == []  # fmt: skip


def test_a_client_needs_the_webhooks_manage_scope(
    client: TestClient, admin: dict[str, str]
) -> None:
    without = register(client, admin, scopes=["catalog:read", "enrollments:read"])
    headers = bearer(client_token(client, without["client_id"], without["client_secret"]))
    for method, path in [("GET", "/v1/webhooks"), ("POST", "/v1/webhooks"), ("GET", "/v1/webhook-event-types")]:  # fmt: skip
        response = client.request(method, path, json={"url": URL, "event_types": ["course.updated"]}, headers=headers)  # fmt: skip
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "insufficient_scope"
        assert response.headers["www-authenticate"] == (
            'Bearer error="insufficient_scope", scope="webhooks:manage"'
        )
    with_scope = register(client, admin, scopes=["webhooks:manage"])
    headers = bearer(client_token(client, with_scope["client_id"], with_scope["client_secret"]))
    made = create(client, headers)
    assert made["created_by"] == with_scope["client_id"]
    assert client.get(f"/v1/webhooks/{made['id']}", headers=admin).status_code == 200


def test_people_without_the_admin_role_are_refused(client: TestClient, session: Session) -> None:
    viewer = auth_headers(make_user(session, make_agency(session), "viewer"))
    assert client.get("/v1/webhooks", headers=viewer).status_code == 403
    response = client.post("/v1/webhooks", json={"url": URL, "event_types": ["course.updated"]}, headers=viewer)  # fmt: skip
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert client.get("/v1/webhooks").status_code == 401


def test_parallel_changes_with_the_same_etag_apply_once(live_server: str, session: Session) -> None:
    """The lost-update guard holds under real parallel requests: one PATCH wins, the rest
    are 412 and change nothing (an IP literal: the server resolves no name)."""
    from tests.parallel import race

    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()
    made = httpx_post(live_server, admin)
    path = f"{live_server}/v1/webhooks/{made['id']}"
    etag = made["etag"]
    answers = race(
        6,
        lambda http, i: http.patch(
            path, json={"description": f"writer {i}"}, headers={**admin, "If-Match": etag}
        ),
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 412, 412, 412, 412, 412], [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 200).json()
    session.expire_all()
    stored = session.get(WebhookSubscription, made["id"])
    assert stored is not None and stored.version == 2
    assert stored.description == winner["description"]


def httpx_post(base: str, headers: dict[str, str]) -> dict[str, Any]:
    import httpx

    body = {"url": f"https://{PUBLIC_IP}/hook", "event_types": ["course.updated"]}
    response = httpx.post(f"{base}/v1/webhooks", json=body, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    return {**response.json(), "etag": response.headers["etag"]}
