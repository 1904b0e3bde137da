"""POST /v1/progress/batch: records checked one by one, replays and reordering change
nothing, mixed addressing, the 10,000 limit, all_or_nothing and dry_run."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, make_agency, make_user
from tests.factories_progress import Setup, record, setup_progress, stored


def _batch(client: TestClient, s: Setup, records: list[dict[str, Any]], **params: Any) -> Any:
    return client.post(
        "/v1/progress/batch", json={"records": records}, params=params, headers=s.headers
    )


def _all(s: Setup, at: str, tag: str, **body: Any) -> list[dict[str, Any]]:
    """A record for every (enrolment, module), by id."""
    return [
        {**record(occurred_at=at, external_id=f"{tag}-{e}-{m}", **body),
         "enrollment_id": e, "module_id": m}
        for e in s.enrollments
        for m in (s.assessed, s.unassessed)
    ]  # fmt: skip


def _outcomes(answer: Any) -> list[str]:
    return [r["outcome"] for r in answer.json()["results"]]


def test_replayed_and_out_of_order_batches_change_nothing(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=3)
    newer = _all(s, "2025-05-16T08:00:00+07:00", "new", percent=70)
    first = _batch(client, s, newer)
    assert first.status_code == 201, first.text
    assert first.json()["counts"]["created"] == 6 and first.json()["written"] is True
    before = stored(session)
    assert {row[9] for row in before} == {1}
    older = _batch(client, s, _all(s, "2025-05-15T08:00:00+07:00", "old", percent=20))
    assert _outcomes(older) == ["stale"] * 6
    assert older.status_code == 200 and older.json()["written"] is False
    replay = _batch(client, s, newer)
    assert _outcomes(replay) == ["unchanged"] * 6 and replay.status_code == 200
    assert stored(session) == before  # rows and versions untouched
    later = _batch(client, s, _all(s, "2025-05-17T08:00:00+07:00", "new", percent=90))
    assert _outcomes(later) == ["updated"] * 6
    assert {(row[3], row[9]) for row in stored(session)} == {(90, 2)}


def test_mixed_addressing_by_enrolment_and_by_cohort_and_nip(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=2)
    key = s.keys[1]
    spaced = f"{key[:8]} {key[8:14]} {key[14]} {key[15:]}"  # as people write a NIP
    records = [
        {**record(), "enrollment_id": s.enrollments[0], "module_id": s.assessed},
        {**record(), "cohort_id": s.cohort_id, "learner_key": spaced, "module_id": s.assessed},
    ]
    got = _batch(client, s, records)
    assert got.status_code == 201, got.text
    results = got.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "created"]
    assert [r["enrollment_id"] for r in results] == s.enrollments
    assert len(stored(session)) == 2


def test_records_are_rejected_one_by_one_and_the_good_ones_written(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    outsider = setup_progress(client, session, learners=0)  # another course and curriculum
    e = s.enrollments[0]
    records = [
        {**record(), "enrollment_id": e, "module_id": s.assessed},
        {**record(), "cohort_id": s.cohort_id, "learner_key": "198001012005011999",
         "module_id": s.assessed},
        {**record(score=50), "enrollment_id": e, "module_id": s.unassessed},
        {**record(jp_earned=6.5), "enrollment_id": e, "module_id": s.assessed},
        {**record(), "enrollment_id": e, "module_id": outsider.assessed},
        {**record(), "enrollment_id": e, "cohort_id": s.cohort_id, "module_id": s.assessed},
        {**record(), "module_id": s.assessed},
        {**record(), "cohort_id": s.cohort_id, "learner_key": "1980", "module_id": s.assessed},
    ]  # fmt: skip
    got = client.post(
        "/v1/progress/batch",
        json={"records": records},
        headers=s.headers | {"Accept-Language": "id"},
    )
    assert got.status_code == 201, got.text
    answer = got.json()
    assert answer["counts"] == {
        "created": 1, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 7,
    }  # fmt: skip
    kinds = [[(e["loc"][-1], e["type"]) for e in r["errors"]] for r in answer["results"]]
    assert kinds == [
        [],
        [("learner_key", "not_enrolled")],
        [("score", "score_not_assessed")],
        [("jp_earned", "jp_over_module")],
        [("module_id", "module_not_in_curriculum")],
        [("enrollment_id", "address_invalid")],
        [("enrollment_id", "address_missing")],
        [("learner_key", "key_invalid")],
    ]
    assert answer["results"][1]["errors"][0]["loc"] == ["body", "records", 1, "learner_key"]
    assert all(e["msg_id"] for r in answer["results"] for e in r["errors"])
    assert len(stored(session)) == 1


def test_all_or_nothing_and_dry_run_write_nothing(client: TestClient, session: Session) -> None:
    s = setup_progress(client, session, learners=1)
    good = _all(s, "2025-05-16T08:00:00Z", "g")
    bad = {**record(score=10), "enrollment_id": s.enrollments[0], "module_id": s.unassessed}
    refused = _batch(client, s, [*good, bad], mode="all_or_nothing")
    assert refused.status_code == 422 and refused.json()["code"] == "progress_rejected"
    assert refused.json()["written"] is False
    assert _outcomes(refused) == ["created", "created", "rejected"]  # as it would have gone
    dry = _batch(client, s, good, dry_run="true")
    assert dry.status_code == 200 and dry.json()["written"] is False
    assert _outcomes(dry) == ["created", "created"]
    assert stored(session) == []
    assert _batch(client, s, good, mode="all_or_nothing").json()["written"] is True


def test_the_newest_record_of_a_module_in_one_batch_wins(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    e, m = s.enrollments[0], s.assessed
    records = [
        {**record(percent=30, occurred_at="2025-05-15T09:00:00Z", external_id="b"),
         "enrollment_id": e, "module_id": m},
        {**record(percent=10, occurred_at="2025-05-15T08:00:00Z", external_id="a"),
         "enrollment_id": e, "module_id": m},
        {**record(percent=30, occurred_at="2025-05-15T09:00:00Z", external_id="b"),
         "enrollment_id": e, "module_id": m},
    ]  # fmt: skip
    got = _batch(client, s, records)
    assert _outcomes(got) == ["created", "stale", "unchanged"]
    assert [(row[3], row[8]) for row in stored(session)] == [(30, "b")]


def test_more_than_10000_records_is_422_naming_the_limit(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    one = {**record(), "enrollment_id": s.enrollments[0], "module_id": s.assessed}
    got = _batch(client, s, [one] * 10_001)
    assert got.status_code == 422
    error = got.json()["errors"][0]
    assert error["loc"] == ["body", "records"] and "10000" in error["msg"]
    assert stored(session) == []


def test_a_record_breaking_the_schema_is_named_by_its_index(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    ok = {**record(), "enrollment_id": s.enrollments[0], "module_id": s.assessed}
    got = _batch(client, s, [ok, ok, {**ok, "percent": 101}, {**ok, "colour": "x"}])
    assert got.status_code == 422
    assert {tuple(e["loc"]) for e in got.json()["errors"]} == {
        ("body", "records", 2, "percent"),
        ("body", "records", 3, "colour"),
    }
    assert stored(session) == []


def test_another_agencys_enrolments_are_not_found(client: TestClient, session: Session) -> None:
    s = setup_progress(client, session, learners=1)
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()
    records = [
        {**record(), "enrollment_id": s.enrollments[0], "module_id": s.assessed},
        {**record(), "cohort_id": s.cohort_id, "learner_key": s.keys[0], "module_id": s.assessed},
    ]
    got = client.post("/v1/progress/batch", json={"records": records}, headers=stranger)
    assert got.status_code == 200
    kinds = [r["errors"][0]["type"] for r in got.json()["results"]]
    assert kinds == ["enrollment_not_found", "cohort_not_found"]
    assert [r["enrollment_id"] for r in got.json()["results"]] == [None, None]
    assert stored(session) == []
    anonymous = client.post("/v1/progress/batch", json={"records": records})
    assert anonymous.status_code == 401


def test_a_batch_retried_with_its_idempotency_key_gets_the_first_answer(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    records = _all(s, "2025-05-16T08:00:00Z", "k")
    headers = s.headers | {"Idempotency-Key": "progress-batch-1"}
    first = client.post("/v1/progress/batch", json={"records": records}, headers=headers)
    again = client.post("/v1/progress/batch", json={"records": records}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json() and _outcomes(again) == ["created", "created"]


def test_external_ids_are_stored_exactly_whatever_they_hold(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    odd = ['a"b\\c,{d}', "NULL", "Ujian Akhir — Modul é", " spaced ", "x'; DROP TABLE y"]
    records = [
        {**record(external_id=x, source="null", occurred_at=f"2025-05-15T0{n}:00:00.5+09:00"),
         "enrollment_id": s.enrollments[0], "module_id": s.assessed}
        for n, x in enumerate(odd)
    ]  # fmt: skip
    got = _batch(client, s, records)
    assert _outcomes(got) == ["stale"] * 4 + ["created"]
    rows = stored(session)
    assert [(r[7], r[8]) for r in rows] == [("null", odd[-1])]
    for x in odd:
        one = {
            **records[0],
            "external_id": x,
            "occurred_at": f"2026-01-0{odd.index(x) + 1}T00:00:00Z",
        }
        assert _outcomes(_batch(client, s, [one])) == ["updated"]
        assert stored(session)[0][8] == x
        assert _outcomes(_batch(client, s, [one])) == ["unchanged"]
