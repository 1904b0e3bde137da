"""Idempotency-Key on the creating POSTs: a retry replays the first answer, creates nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlmodel import Session
from starlette.testclient import TestClient

from app.cli import main
from app.core import idempotency
from app.core.config import get_settings
from app.models.base import utcnow
from app.models.course import Course
from app.models.idempotency import IdempotencyRecord
from app.services import courses as course_service
from tests.factories import auth_headers, course_payload, make_agency, make_user

PROBLEM = "application/problem+json"


def _admin(session: Session) -> dict[str, str]:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()  # release SQLite's write lock before the app writes
    return headers


def _courses(engine: Engine, code: str | None = None) -> int:
    with Session(engine) as s:
        query = select(func.count()).select_from(Course)
        if code is not None:
            query = query.where(Course.code == code)  # type: ignore[arg-type]
        return int(s.execute(query).scalar_one())


def test_a_retry_with_the_same_key_replays_the_first_answer_and_creates_nothing(
    client: TestClient, session: Session, engine: Engine
) -> None:
    headers = {**_admin(session), "Idempotency-Key": "c0ffee-1"}
    payload = course_payload()
    first = client.post("/v1/courses", json=payload, headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = client.post("/v1/courses", json=payload, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    for name in ("Content-Type", "Location", "ETag"):
        assert again.headers[name] == first.headers[name]
    assert _courses(engine) == 1


def test_the_same_key_with_another_body_is_422_in_both_languages(
    client: TestClient, session: Session, engine: Engine
) -> None:
    headers = {**_admin(session), "Idempotency-Key": "k-reused"}
    assert client.post("/v1/courses", json=course_payload(), headers=headers).status_code == 201
    other = course_payload()
    r = client.post("/v1/courses", json=other, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "idempotency_key_reused"
    assert "new key" in r.json()["detail"]
    r_id = client.post(
        "/v1/courses", json=other, headers={**headers, "Accept-Language": "id"}
    ).json()
    assert r_id["code"] == "idempotency_key_reused"
    assert "kunci baru" in r_id["detail"]
    assert _courses(engine) == 1


def test_the_same_key_on_another_endpoint_is_422(client: TestClient, session: Session) -> None:
    headers = {**_admin(session), "Idempotency-Key": "k-two-paths"}
    course = client.post("/v1/courses", json=course_payload(), headers=headers)
    assert course.status_code == 201
    r = client.post(
        f"/v1/courses/{course.json()['id']}/curricula",
        json={"modules": [{"title": "Mata Pelatihan", "jp": 10, "mode": "self_paced"}]},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"


def test_keys_are_per_caller(client: TestClient, session: Session, engine: Engine) -> None:
    agency = make_agency(session)
    first = auth_headers(make_user(session, agency, "agency_admin"))
    second = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    key = {"Idempotency-Key": "shared-key"}
    a = client.post("/v1/courses", json=course_payload(), headers={**first, **key})
    b = client.post("/v1/courses", json=course_payload(), headers={**second, **key})
    assert (a.status_code, b.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert _courses(engine) == 2


def test_an_expired_key_runs_again(client: TestClient, session: Session, engine: Engine) -> None:
    headers = {**_admin(session), "Idempotency-Key": "k-expired"}
    payload = course_payload()
    assert client.post("/v1/courses", json=payload, headers=headers).status_code == 201
    ttl = get_settings().idempotency_ttl_seconds
    with Session(engine) as s:
        s.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - timedelta(seconds=ttl + 1))
        )
        s.commit()
    again = client.post("/v1/courses", json=payload, headers=headers)
    # it ran again: the course code is taken now, and the answer is not a replay
    assert again.status_code == 409, again.text
    assert again.json()["code"] != "idempotency_in_progress"
    assert "Idempotent-Replayed" not in again.headers
    fresh = course_payload()
    with Session(engine) as s:
        s.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - timedelta(seconds=ttl + 1))
        )
        s.commit()
    created = client.post("/v1/courses", json=fresh, headers=headers)
    assert created.status_code == 201, created.text
    assert _courses(engine) == 2


def test_invalid_input_is_not_stored_so_the_fixed_request_can_reuse_the_key(
    client: TestClient, session: Session, engine: Engine
) -> None:
    headers = {**_admin(session), "Idempotency-Key": "k-fix-and-retry"}
    bad = client.post("/v1/courses", json=course_payload(total_jp=-1), headers=headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"
    unauthenticated = client.post(
        "/v1/courses", json=course_payload(), headers={"Idempotency-Key": "k-fix-and-retry"}
    )
    assert unauthenticated.status_code == 401
    fixed = client.post("/v1/courses", json=course_payload(), headers=headers)
    assert fixed.status_code == 201, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers
    assert _courses(engine) == 1


def test_a_rule_the_handler_enforced_is_stored_and_replayed(
    client: TestClient, session: Session
) -> None:
    headers = _admin(session)
    payload = course_payload()
    assert client.post("/v1/courses", json=payload, headers=headers).status_code == 201
    keyed = {**headers, "Idempotency-Key": "k-conflict"}
    first = client.post("/v1/courses", json=payload, headers=keyed)
    assert first.status_code == 409 and first.json()["code"] != "idempotency_in_progress"
    again = client.post("/v1/courses", json=payload, headers=keyed)
    assert again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == PROBLEM
    assert again.content == first.content


def test_a_server_error_is_not_stored(
    client: TestClient, session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**_admin(session), "Idempotency-Key": "k-500"}
    payload = course_payload()
    real = course_service.create_course

    def broken(**kwargs: object) -> object:
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(course_service, "create_course", broken)
    failed = client.post("/v1/courses", json=payload, headers=headers)
    assert failed.status_code == 500
    monkeypatch.setattr(course_service, "create_course", real)
    retried = client.post("/v1/courses", json=payload, headers=headers)
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert _courses(engine) == 1


def test_a_key_whose_first_request_is_running_is_409(
    client: TestClient, session: Session, engine: Engine
) -> None:
    agency = make_agency(session)
    user = make_user(session, agency, "agency_admin")
    headers = {**auth_headers(user), "Idempotency-Key": "k-running"}
    session.rollback()
    payload = course_payload()
    first = client.post("/v1/courses", json=payload, headers=headers)
    assert first.status_code == 201
    # as if another worker had just claimed the key with this request and were still at it
    with Session(engine) as s:
        s.execute(update(IdempotencyRecord).values(completed_at=None, status=None))
        s.commit()
    busy = client.post("/v1/courses", json=payload, headers=headers)
    assert busy.status_code == 409
    assert busy.json()["code"] == "idempotency_in_progress"
    assert busy.headers["Retry-After"] == "1"
    busy_id = client.post(
        "/v1/courses", json=payload, headers={**headers, "Accept-Language": "id"}
    ).json()
    assert "masih berjalan" in busy_id["detail"]
    assert _courses(engine) == 1


def test_an_invalid_key_is_422_and_creates_nothing(
    client: TestClient, session: Session, engine: Engine
) -> None:
    headers = _admin(session)
    for key in ("with space", "x" * 256, "kunci-é"):
        r = client.post(
            "/v1/courses",
            json=course_payload(),
            headers={**headers, "Idempotency-Key": key.encode()},
        )
        assert r.status_code == 422, (key, r.text)
        assert r.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert _courses(engine) == 0


def test_without_a_key_each_post_runs(client: TestClient, session: Session) -> None:
    headers = _admin(session)
    payload = course_payload()
    assert client.post("/v1/courses", json=payload, headers=headers).status_code == 201
    assert client.post("/v1/courses", json=payload, headers=headers).status_code == 409


def test_the_contract_declares_the_header_on_every_creating_post(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    exempt = {  # creating POSTs that take no key, and why
        "learners-invite",  # a replay would keep the one-time token in clear; a retry
        # simply issues a new invitation that replaces the first
        "auth-accept-invitation",  # anonymous: keys belong to a user
        "clients-create",  # a replay would keep the client secret in clear (shown once)
        "clients-add-secret",  # likewise; a retry adds a second secret, at most two live
    }
    creating = {  # a POST that answers 201 creates something
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method == "post" and "201" in operation["responses"]
    } - exempt
    assert {"courses-create", "cohorts-create", "enrollments-create"} <= creating
    found = set()
    for item in document["paths"].values():
        for operation in item.values():
            params = {p["name"]: p for p in operation.get("parameters", [])}
            if "Idempotency-Key" in params:
                found.add(operation["operationId"])
                header = params["Idempotency-Key"]
                assert header["in"] == "header" and not header.get("required", False)
                schema = header["schema"]
                options = schema.get("anyOf", [schema])
                text = next(o for o in options if o.get("type") == "string")
                assert text["maxLength"] == 255 and text["pattern"] == idempotency.KEY_PATTERN
    assert found == creating


def test_purge_deletes_expired_keys_only(
    client: TestClient, session: Session, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = _admin(session)
    for key in ("k-old", "k-new"):
        r = client.post(
            "/v1/courses", json=course_payload(), headers={**headers, "Idempotency-Key": key}
        )
        assert r.status_code == 201
    ttl = get_settings().idempotency_ttl_seconds
    with Session(engine) as s:
        s.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "k-old")  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(seconds=ttl + 1))
        )
        s.commit()
    assert main(["purge-idempotency-keys"]) == 0
    assert "deleted 1 idempotency keys" in capsys.readouterr().out
    with Session(engine) as s:
        assert [r.key for r in s.scalars(select(IdempotencyRecord))] == ["k-new"]


def test_the_answer_is_sent_even_if_it_cannot_be_stored(
    client: TestClient, session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**_admin(session), "Idempotency-Key": "k-store-fails"}

    def broken(**kwargs: object) -> None:
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(idempotency, "complete", broken)
    created = client.post("/v1/courses", json=course_payload(), headers=headers)
    assert created.status_code == 201, created.text  # the course exists: say so
    assert _courses(engine) == 1
    with Session(engine) as s:  # and the key is not left claimed (no 409 for a day)
        assert s.scalars(select(IdempotencyRecord)).all() == []
