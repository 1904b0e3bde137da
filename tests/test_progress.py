"""PUT /v1/enrollments/{id}/progress/{module_id} and the progress reads: replays and
reordering change nothing, the rules of a record, who may write and who may read."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from app.models import Cohort
from app.models.base import utcnow
from app.models.cohort import CohortStatus
from tests.factories import auth_headers, make_agency, make_learner_login, make_user
from tests.factories_progress import Setup, record, setup_progress, stored

ID = {"Accept-Language": "id"}


def _put(client: TestClient, s: Setup, module: str, n: int = 0, **body: Any) -> Any:
    url = f"/v1/enrollments/{s.enrollments[n]}/progress/{module}"
    return client.put(url, json=record(**body), headers=s.headers)


def test_replay_and_older_records_change_nothing(client: TestClient, session: Session) -> None:
    s = setup_progress(client, session, learners=1)
    first = _put(client, s, s.assessed, score=81.255)
    assert first.status_code == 201, first.text
    assert first.headers["Progress-Outcome"] == "created"
    assert first.json()["score"] == 81.26 and first.json()["version"] == 1
    before = stored(session)
    replay = _put(client, s, s.assessed, score=81.255)
    assert replay.status_code == 200 and replay.headers["Progress-Outcome"] == "unchanged"
    assert replay.json() == first.json() and replay.headers["ETag"] == first.headers["ETag"]
    older = _put(
        client, s, s.assessed, percent=10, external_id="cmc-0", occurred_at="2025-05-15T00:59:59Z"
    )
    assert older.status_code == 200 and older.headers["Progress-Outcome"] == "stale"
    assert older.json() == first.json()  # the stored (newer) record answers
    as_new = _put(client, s, s.assessed, percent=99, external_id="cmc-x")  # same instant
    assert as_new.headers["Progress-Outcome"] == "stale"
    assert stored(session) == before
    newer = _put(client, s, s.assessed, percent=60, occurred_at="2025-05-15T09:00:00+07:00")
    assert newer.status_code == 200 and newer.headers["Progress-Outcome"] == "updated"
    assert newer.json()["percent"] == 60 and newer.json()["version"] == 2
    assert newer.json()["score"] is None  # a PUT is the whole state
    assert newer.headers["ETag"] != first.headers["ETag"]


def test_score_on_an_unassessed_module_is_rejected(client: TestClient, session: Session) -> None:
    s = setup_progress(client, session, learners=1)
    url = f"/v1/enrollments/{s.enrollments[0]}/progress/{s.unassessed}"
    got = client.put(url, json=record(score=90), headers=s.headers | ID)
    assert got.status_code == 422
    error = got.json()["errors"][0]
    assert error["loc"] == ["body", "score"] and error["type"] == "score_not_assessed"
    assert error["msg"].startswith("Modul ini tidak dinilai")
    assert stored(session) == []


def test_jp_earned_over_the_module_jp_is_rejected(client: TestClient, session: Session) -> None:
    s = setup_progress(client, session, learners=1)
    over = _put(client, s, s.unassessed, jp_earned=4.5)  # the module has 4 JP
    assert over.status_code == 422
    assert over.json()["errors"][0]["loc"] == ["body", "jp_earned"]
    assert "4 JP" in over.json()["detail"]
    assert _put(client, s, s.unassessed, jp_earned=4).status_code == 201
    half = _put(client, s, s.assessed, jp_earned=2.25)
    assert half.status_code == 422  # half-JP steps, by the schema
    assert stored(session)[0][5] == 8


def test_completed_means_percent_100_and_earns_the_module_jp(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    partial = _put(client, s, s.assessed, status="completed", percent=90)
    assert partial.status_code == 422
    assert partial.json()["errors"][0]["type"] == "percent_not_complete"
    done = _put(client, s, s.assessed, status="completed", percent=None)
    assert done.status_code == 201, done.text
    assert done.json()["percent"] == 100 and done.json()["jp_earned"] == 6


def test_a_module_outside_the_cohorts_curriculum_is_404(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    other = setup_progress(client, session, learners=0)
    got = _put(client, s, other.assessed)
    assert got.status_code == 404 and got.json()["code"] == "module_not_in_curriculum"
    assert f"/v1/enrollments/{s.enrollments[0]}/progress" in got.json()["detail"]


def test_a_withdrawn_enrolment_and_a_completed_cohort_take_no_progress(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=2)
    moved = client.post(
        f"/v1/enrollments/{s.enrollments[0]}/transitions",
        json={"to": "withdrawn", "reason": "Mutasi"},
        headers=s.headers,
    )
    assert moved.status_code == 200, moved.text
    got = _put(client, s, s.assessed)
    assert got.status_code == 409 and got.json()["code"] == "enrollment_not_active"
    assert "withdrawn" in got.json()["detail"]
    cohort = session.get(Cohort, s.cohort_id)
    assert cohort is not None
    cohort.certificates_issued_at = utcnow()  # as the certificates part sets it
    session.add(cohort)
    session.commit()
    issued = _put(client, s, s.assessed, n=1)
    assert issued.status_code == 409 and issued.json()["code"] == "certificates_issued"
    cohort.status, cohort.certificates_issued_at = CohortStatus.completed, None
    session.add(cohort)
    session.commit()
    final = _put(client, s, s.assessed, n=1)
    assert final.status_code == 409 and final.json()["code"] == "cohort_final"
    assert stored(session) == []


def test_another_agency_gets_404_and_the_home_agency_may_only_read(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()
    e = s.enrollments[0]
    put = client.put(f"/v1/enrollments/{e}/progress/{s.assessed}", json=record(), headers=stranger)
    assert put.status_code == 404
    assert client.get(f"/v1/enrollments/{e}/progress", headers=stranger).status_code == 404
    viewer = auth_headers(make_user(session, _agency(session, s), "viewer"))
    session.rollback()
    got = client.put(f"/v1/enrollments/{e}/progress/{s.assessed}", json=record(), headers=viewer)
    assert got.status_code == 403
    assert client.get(f"/v1/enrollments/{e}/progress", headers=viewer).status_code == 200
    assert stored(session) == []


def _agency(session: Session, s: Setup) -> Any:
    from app.models import Agency

    agency = session.get(Agency, s.agency_id)
    assert agency is not None
    return agency


def test_progress_lists_every_module_with_totals_and_an_etag(
    client: TestClient, session: Session
) -> None:
    s = setup_progress(client, session, learners=1)
    url = f"/v1/enrollments/{s.enrollments[0]}/progress"
    empty = client.get(url, headers=s.headers)
    assert empty.status_code == 200
    body = empty.json()
    assert [m["status"] for m in body["modules"]] == ["not_started", "not_started"]
    assert body["total_jp"] == 10 and body["jp_earned"] == 0 and body["percent"] == 0
    assert body["jp_by_mode"]["self_paced"] == 6 and body["jp_by_mode"]["classroom"] == 4
    etag = empty.headers["ETag"]
    assert client.get(url, headers=s.headers | {"If-None-Match": etag}).status_code == 304
    assert _put(client, s, s.assessed, status="completed", percent=None, score=75).is_success
    assert _put(client, s, s.unassessed, percent=50, jp_earned=1.5).is_success
    full = client.get(url, headers=s.headers | {"If-None-Match": etag})
    assert full.status_code == 200 and full.headers["ETag"] != etag
    body = full.json()
    assert body["modules"][0]["score"] == 75 and body["modules"][0]["jp_earned"] == 6
    assert body["jp_earned"] == 7.5
    assert body["jp_earned_by_mode"] == {
        "self_paced": 6, "synchronous_virtual": 0, "classroom": 1.5, "actualization": 0,
    }  # fmt: skip
    assert body["percent"] == 80  # (100 x 6 + 50 x 4) / 10
    assert body["modules_completed"] == 1


def test_a_learner_reads_only_their_own_progress(client: TestClient, session: Session) -> None:
    s = setup_progress(client, session, learners=2)
    me = make_learner_login(client, s.headers, s.keys[0])
    mine = client.get(f"/v1/me/enrollments/{s.enrollments[0]}/progress", headers=me)
    assert mine.status_code == 200 and mine.json()["enrollment_id"] == s.enrollments[0]
    assert client.get(f"/v1/enrollments/{s.enrollments[0]}/progress", headers=me).is_success
    theirs = client.get(f"/v1/me/enrollments/{s.enrollments[1]}/progress", headers=me)
    assert theirs.status_code == 404
    staff = client.get(f"/v1/me/enrollments/{s.enrollments[0]}/progress", headers=s.headers)
    assert staff.status_code == 403
    url = f"/v1/enrollments/{s.enrollments[0]}/progress/{s.assessed}"
    assert client.put(url, json=record(), headers=me).status_code == 403
