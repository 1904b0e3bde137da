"""Issue 9 end to end, through the HTTP API only: enrol, an LMS pushes progress, an instructor
records attendance, the cohort is evaluated, certificates are issued, the JP ledger credits
the year, anyone verifies the certificate, and revocation shows. Each part has its own
detailed tests; this one checks they fit together."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import (
    auth_headers,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
    nip,
)


def _move(client: TestClient, admin: dict[str, str], cohort_id: str, to: str) -> None:
    moved = client.post(f"/v1/cohorts/{cohort_id}/transitions", json={"to": to}, headers=admin)
    assert moved.status_code == 200, moved.text


def _record(
    module_id: str, status: str, score: float | None, key: str, cohort_id: str, n: int
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "cohort_id": cohort_id,
        "learner_key": key,
        "module_id": module_id,
        "status": status,
        "occurred_at": "2025-05-20T10:00:00+07:00",
        "source": "moodle",
        "external_id": f"grade-{n}",
    }
    if score is not None:
        record["score"] = score
    return record


def test_a_cohort_from_enrolment_to_verified_certificate_and_yearly_jp(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    course = make_published_course(client, admin, total_jp=10, max_absence_jp=2)
    cohort = make_open_cohort(client, admin, course["id"])
    modules = client.get(f"/v1/courses/{course['id']}/curricula/1", headers=admin).json()["modules"]
    self_paced, classroom = modules[0]["id"], modules[1]["id"]
    good, poor = nip(), nip()
    make_learner(client, admin, good, name="Siti Ṣāliḥah")
    make_learner(client, admin, poor)
    enrolments = {key: enrol(client, admin, cohort["id"], key)["id"] for key in (good, poor)}

    lesson = client.post(
        f"/v1/cohorts/{cohort['id']}/sessions",
        json={
            "module_id": classroom,
            "starts_at": "2025-05-15T08:00:00+07:00",
            "ends_at": "2025-05-15T11:00:00+07:00",
        },
        headers=admin,
    )
    assert lesson.status_code == 201, lesson.text
    for to in ("closed", "running"):
        _move(client, admin, cohort["id"], to)

    # the LMS pushes grades by (cohort, NIP); the poor learner's self-paced module is unfinished
    batch = client.post(
        "/v1/progress/batch",
        json={
            "records": [
                _record(self_paced, "completed", 90, good, cohort["id"], 1),
                _record(classroom, "completed", 85, good, cohort["id"], 2),
                _record(self_paced, "in_progress", 60, poor, cohort["id"], 3),
                _record(classroom, "completed", 65, poor, cohort["id"], 4),
            ]
        },
        headers=admin,
    )
    assert batch.status_code == 201, batch.text
    assert batch.json()["counts"]["created"] == 4
    attendance = f"/v1/cohorts/{cohort['id']}/sessions/{lesson.json()['id']}/attendance"
    for key, status in ((good, "present"), (poor, "absent")):
        put = client.put(f"{attendance}/{enrolments[key]}", json={"status": status}, headers=admin)
        assert put.status_code == 200, put.text

    _move(client, admin, cohort["id"], "evaluation")
    evaluated = client.post(f"/v1/cohorts/{cohort['id']}/evaluate", headers=admin)
    assert evaluated.status_code == 200, evaluated.text
    outcome = {
        client.get(f"/v1/enrollments/{eid}", headers=admin).json()["learner_key"]: eid
        for eid in enrolments.values()
    }
    passed = client.get(f"/v1/enrollments/{outcome[good]}", headers=admin).json()
    failed = client.get(f"/v1/enrollments/{outcome[poor]}", headers=admin).json()
    assert (passed["status"], passed["final_score"]) == ("passed", 88)  # 90*0.6 + 85*0.4
    assert failed["status"] == "failed"
    reasons = {r["code"] for r in failed["outcome_reasons"]}
    # 60*0.6 + 65*0.4 = 62 < 70.01; 4 JP missed > 2; the self-paced module unfinished
    assert reasons == {"score_below_passing", "absence_over_limit", "module_incomplete"}

    issued = client.post(f"/v1/cohorts/{cohort['id']}/certificates", headers=admin)
    assert issued.status_code == 201, issued.text
    listed = client.get(f"/v1/cohorts/{cohort['id']}/certificates", headers=admin).json()["items"]
    assert len(listed) == 1
    certificate = listed[0]
    assert certificate["enrollment_id"] == enrolments[good]

    # the pass credited the course's 10 JP to 2025, with the certificate's number
    year = client.get(f"/v1/learners/{good}/jp", params={"year": 2025}, headers=admin).json()
    assert year["total_jp"] == 10
    assert [e["certificate_number"] for e in year["entries"]] == [certificate["number"]]
    none = client.get(f"/v1/learners/{poor}/jp", params={"year": 2025}, headers=admin).json()
    assert none["total_jp"] == 0

    # anyone can verify it, without a login; revocation shows there
    code = certificate["verification_url"].rsplit("/", 1)[-1]
    public = client.get(f"/verify/{code}", headers={"Accept": "application/json"})
    assert public.status_code == 200, public.text
    assert public.json()["valid"] is True
    revoked = client.post(
        f"/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Salah cetak nama"},
        headers=admin,
    )
    assert revoked.status_code == 200, revoked.text
    assert (
        client.get(f"/verify/{code}", headers={"Accept": "application/json"}).json()["valid"]
        is False
    )

    # the evaluation is final once certificates exist
    again = client.post(f"/v1/cohorts/{cohort['id']}/evaluate", headers=admin)
    assert again.status_code == 409
    assert again.json()["code"] == "certificates_issued"
