"""OneRoster 1.2 rostering and gradebook reads: every endpoint answers bodies that 1EdTech's
published schemas accept (tests/fixtures/oneroster/), the binding's envelope and paging
headers, field selection, delta sync by dateLastModified, soft deletes, scopes and the
isolation between agencies, errors as imsx_StatusInfo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlmodel import Session
from starlette.testclient import TestClient

from app.main import create_app
from app.models.client import Scope
from tests.factories import auth_headers, enrol, make_learner, make_user
from tests.factories_oneroster import (
    GRADEBOOK,
    ROSTER,
    OneRosterSetup,
    client_headers,
    setup_oneroster,
)
from tests.factories_progress import setup_progress

FIXTURES = Path(__file__).parent / "fixtures" / "oneroster"
OFFICIAL = json.loads((FIXTURES / "onerosterv1p2rostersservice_schemas.json").read_text())[
    "components"
]["schemas"]
OFFICIAL_GRADEBOOK = json.loads(
    (FIXTURES / "onerosterv1p2gradebookservice_schemas.json").read_text()
)["components"]["schemas"]
SETS = {
    "orgs": "OrgSetDType",
    "academicSessions": "AcademicSessionSetDType",
    "courses": "CourseSetDType",
    "classes": "ClassSetDType",
    "users": "UserSetDType",
    "enrollments": "EnrollmentSetDType",
    "demographics": "DemographicsSetDType",
}
SINGLES = {
    "org": "SingleOrgDType",
    "academicSession": "SingleAcademicSessionDType",
    "course": "SingleCourseDType",
    "class": "SingleClassDType",
    "user": "SingleUserDType",
    "enrollment": "SingleEnrollmentDType",
}
GRADEBOOK_SETS = {
    "categories": "CategoriesSetDType",
    "lineItems": "LineItemSetDType",
    "results": "ResultSetDType",
}
GRADEBOOK_SINGLES = {
    "category": "SingleCategoryDType",
    "lineItem": "SingleLineItemDType",
    "result": "SingleResultDType",
}


def official(name: str, schemas: dict[str, Any] = OFFICIAL) -> Draft202012Validator:
    """A validator of 1EdTech's schema ``name`` (rostering unless ``schemas`` says)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}}
    return Draft202012Validator(schema, format_checker=FormatChecker())


def valid(validator: Draft202012Validator, body: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


@pytest.fixture
def world(client: TestClient, session: Session) -> OneRosterSetup:
    return setup_oneroster(client, session)


def _ids(client: TestClient, world: OneRosterSetup) -> dict[str, str]:
    learner = client.get(ROSTER + "/students", headers=world.token).json()["users"][0]
    cohort = world.progress.cohort_id
    return {
        "schoolSourcedId": world.progress.agency_id,
        "classSourcedId": cohort,
        "courseSourcedId": world.course_id,
        "studentSourcedId": learner["sourcedId"],
        "teacherSourcedId": world.instructor_id,
        "termSourcedId": "term-" + cohort,
        "userSourcedId": learner["sourcedId"],
        "lineItemSourcedId": f"{cohort}.{world.progress.assessed}",
    }


def test_every_endpoint_answers_what_the_published_schemas_accept(
    client: TestClient, world: OneRosterSetup
) -> None:
    """Walks every OneRoster GET of the OpenAPI document: rostering and gradebook bodies
    are checked against 1EdTech's own schemas (tests/fixtures/oneroster/)."""
    progress = world.progress
    pushed = client.put(
        f"{GRADEBOOK}/results/{progress.enrollments[0]}.{progress.assessed}",
        json=_result(client, world, score=81.25),
        headers=world.token,
    )
    assert pushed.status_code == 201, pushed.text
    assert not valid(official("SingleResultDType", OFFICIAL_GRADEBOOK), pushed.json())
    document = create_app().openapi()
    ids = _ids(client, world)
    first: dict[str, str] = {}
    walked = 0
    for path, item in sorted(document["paths"].items(), key=lambda p: "{sourcedId}" in p[0]):
        if not path.startswith("/ims/oneroster/") or "get" not in item:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "{sourcedId}"), path)
        collection = path.rsplit("/", 2)[-2] if path.endswith("{sourcedId}") else None
        if collection is not None:
            if collection not in first:
                assert collection in ("gradingPeriods", "demographics"), path
                continue
            url = url.replace("{sourcedId}", first[collection])
        response = client.get(url, headers=world.token)
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        ((name, value),) = body.items()
        if path.startswith(ROSTER):
            schema = SETS[name] if isinstance(value, list) else SINGLES[name]
            errors = valid(official(schema), body)
        else:
            schema = (GRADEBOOK_SETS if isinstance(value, list) else GRADEBOOK_SINGLES)[name]
            errors = valid(official(schema, OFFICIAL_GRADEBOOK), body)
        assert not errors, (path, errors)
        if isinstance(value, list):
            assert int(response.headers["X-Total-Count"]) == len(value)
            if value and collection is None:
                first.setdefault(path.rsplit("/", 1)[-1], value[0]["sourcedId"])
            if not re.search(r"gradingPeriods|demographics", path):
                assert value, f"{path} is empty"
        walked += 1
    assert walked >= 45


def _result(client: TestClient, world: OneRosterSetup, **values: Any) -> dict[str, Any]:
    progress = world.progress
    enrolment = client.get(
        f"{ROSTER}/enrollments/{progress.enrollments[0]}", headers=world.token
    ).json()["enrollment"]
    result = {
        "dateLastModified": "2025-05-20T08:00:00Z",
        "lineItem": {"sourcedId": f"{progress.cohort_id}.{progress.assessed}"},
        "student": {"sourcedId": enrolment["user"]["sourcedId"]},
        "scoreStatus": "fully graded",
        "score": 90,
    }
    result.update(values)
    return {"result": result}


def test_the_mapping_names_agency_cohort_learner_and_nip_as_the_readme_says(
    client: TestClient, world: OneRosterSetup
) -> None:
    cls = client.get(f"{ROSTER}/classes/{world.progress.cohort_id}", headers=world.token).json()
    assert cls["class"]["classCode"] == "Angkatan I"
    assert cls["class"]["classType"] == "scheduled"
    assert cls["class"]["terms"][0]["sourcedId"] == "term-" + world.progress.cohort_id
    term = client.get(
        f"{ROSTER}/terms/term-{world.progress.cohort_id}", headers=world.token
    ).json()["academicSession"]
    assert (term["type"], term["schoolYear"]) == ("term", "2025")
    org = client.get(f"{ROSTER}/orgs", headers=world.token).json()["orgs"]
    assert [(o["sourcedId"], o["type"]) for o in org] == [(world.progress.agency_id, "district")]
    students = client.get(f"{ROSTER}/students", headers=world.token).json()["users"]
    nips = sorted(u["userIds"][0]["identifier"] for u in students)
    assert nips == sorted(world.progress.keys)
    assert all(u["userIds"][0]["type"] == "NIP" for u in students)
    assert all(u["roles"][0]["role"] == "student" for u in students)
    teachers = client.get(f"{ROSTER}/teachers", headers=world.token).json()["users"]
    assert [t["sourcedId"] for t in teachers] == [world.instructor_id]


def test_paging_gives_total_count_and_links_and_stable_pages(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session, learners=5)
    seen = []
    url = f"{ROSTER}/students?limit=2"
    pages = 0
    while url:
        page = client.get(url, headers=world.token)
        assert page.status_code == 200
        assert page.headers["X-Total-Count"] == "5"
        seen += [u["sourcedId"] for u in page.json()["users"]]
        links = {
            rel: target
            for target, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', page.headers["Link"])
        }
        assert "first" in links and "last" in links
        url = links.get("next", "").replace("http://testserver", "")
        pages += 1
    assert pages == 3
    assert seen == sorted(seen) and len(set(seen)) == 5
    last = client.get(f"{ROSTER}/students?limit=2&offset=4", headers=world.token)
    assert 'rel="prev"' in last.headers["Link"] and 'rel="next"' not in last.headers["Link"]
    beyond = client.get(f"{ROSTER}/students?offset=10", headers=world.token)
    assert beyond.json() == {"users": []} and beyond.headers["X-Total-Count"] == "5"


def test_sort_and_order_by(client: TestClient, session: Session) -> None:
    world = setup_oneroster(client, session, learners=3)
    up = client.get(f"{ROSTER}/students?sort=givenName", headers=world.token).json()["users"]
    down = client.get(f"{ROSTER}/students?sort=givenName&orderBy=desc", headers=world.token).json()[
        "users"
    ]
    names = [u["givenName"] for u in up]
    assert names == sorted(names) and [u["givenName"] for u in down] == names[::-1]
    bad = client.get(f"{ROSTER}/students?sort=shoeSize", headers=world.token)
    assert bad.status_code == 400
    minor = bad.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
    assert minor == "invaliddata"


def test_fields_selects_members_and_an_unknown_field_is_invalid_selection_field(
    client: TestClient, world: OneRosterSetup
) -> None:
    got = client.get(f"{ROSTER}/users?fields=sourcedId,givenName", headers=world.token)
    assert got.status_code == 200
    assert all(set(u) == {"sourcedId", "givenName"} for u in got.json()["users"])
    one = client.get(
        f"{ROSTER}/classes/{world.progress.cohort_id}?fields=classCode", headers=world.token
    )
    assert one.json() == {"class": {"classCode": "Angkatan I"}}
    bad = client.get(f"{ROSTER}/users?fields=sourcedId,shoeSize", headers=world.token)
    assert bad.status_code == 400
    body = bad.json()
    assert not valid(official("imsx_StatusInfoDType"), body)
    field = body["imsx_CodeMinor"]["imsx_codeMinorField"][0]
    assert field["imsx_codeMinorFieldValue"] == "invalid_selection_field"
    assert "query.fields" in body["imsx_description"]  # naming the fields it takes


def test_delta_sync_by_date_last_modified_picks_up_exactly_the_changes(
    client: TestClient, world: OneRosterSetup
) -> None:
    users = client.get(f"{ROSTER}/students", headers=world.token).json()["users"]
    mark = max(u["dateLastModified"] for u in users)
    nothing = client.get(
        f"{ROSTER}/students", params={"filter": f"dateLastModified>'{mark}'"}, headers=world.token
    )
    assert nothing.json() == {"users": []}
    key = world.progress.keys[0]
    changed = client.patch(
        f"/v1/learners/{key}", json={"name": "Siti Rahmawati"}, headers=world.progress.headers
    )
    assert changed.status_code == 200, changed.text
    delta = client.get(
        f"{ROSTER}/students", params={"filter": f"dateLastModified>'{mark}'"}, headers=world.token
    ).json()["users"]
    assert [(u["givenName"], u["identifier"]) for u in delta] == [("Siti Rahmawati", key)]


def test_withdrawn_enrolment_and_cancelled_cohort_are_tobedeleted(
    client: TestClient, world: OneRosterSetup
) -> None:
    enrolment = world.progress.enrollments[1]
    moved = client.post(
        f"/v1/enrollments/{enrolment}/transitions",
        json={"to": "withdrawn", "reason": "Mutasi"},
        headers=world.progress.headers,
    )
    assert moved.status_code == 200, moved.text
    active = client.get(
        f"{ROSTER}/enrollments", params={"filter": "status='active'"}, headers=world.token
    ).json()["enrollments"]
    gone = client.get(
        f"{ROSTER}/enrollments", params={"filter": "status='tobedeleted'"}, headers=world.token
    ).json()["enrollments"]
    assert [e["sourcedId"] for e in gone] == [enrolment]
    assert enrolment not in {e["sourcedId"] for e in active}
    cancelled = client.post(
        f"/v1/cohorts/{world.progress.cohort_id}/transitions",
        json={"to": "cancelled"},
        headers=world.progress.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    cls = client.get(f"{ROSTER}/classes/{world.progress.cohort_id}", headers=world.token)
    assert cls.json()["class"]["status"] == "tobedeleted"


def test_another_agency_sees_nothing_of_this_one(
    client: TestClient, session: Session, world: OneRosterSetup
) -> None:
    other = setup_progress(client, session, learners=1)
    theirs = client_headers(client, other.headers, [Scope.or_roster.value])
    for collection in ("orgs", "courses", "classes", "students", "enrollments", "terms"):
        got = client.get(f"{ROSTER}/{collection}", headers=theirs).json()
        ((_, items),) = got.items()
        mine = {
            i["sourcedId"]
            for i in client.get(f"{ROSTER}/{collection}", headers=world.token).json()[
                next(iter(got))
            ]
        }
        assert mine and not mine & {i["sourcedId"] for i in items}, collection
    for path in (
        f"/classes/{world.progress.cohort_id}",
        f"/orgs/{world.progress.agency_id}",
        f"/enrollments/{world.progress.enrollments[0]}",
        f"/classes/{world.progress.cohort_id}/students",
        f"/terms/term-{world.progress.cohort_id}",
    ):
        answer = client.get(ROSTER + path, headers=theirs)
        assert answer.status_code == 404, path
        minor = answer.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]
        assert minor["imsx_codeMinorFieldValue"] == "unknownobject"


def test_a_learner_enrolled_from_another_agency_is_a_user_without_their_email(
    client: TestClient, session: Session, world: OneRosterSetup
) -> None:
    other = setup_progress(client, session, learners=0)
    guest = make_learner(client, other.headers, email="tamu@example.go.id")
    enrol(client, world.progress.headers, world.progress.cohort_id, guest["learner_key"])
    users = client.get(f"{ROSTER}/students", headers=world.token).json()["users"]
    found = [u for u in users if u["identifier"] == guest["learner_key"]]
    assert len(found) == 1 and "email" not in found[0]
    assert found[0]["primaryOrg"]["sourcedId"] == other.agency_id


def test_scopes_decide_and_errors_are_imsx(client: TestClient, world: OneRosterSetup) -> None:
    gradebook_only = client_headers(client, world.progress.headers, [Scope.or_gradebook_read.value])
    refused = client.get(f"{ROSTER}/users", headers=gradebook_only)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/json"
    assert not valid(official("imsx_StatusInfoDType"), refused.json())
    assert "roster" in refused.headers["WWW-Authenticate"]
    core = client_headers(client, world.progress.headers, [Scope.or_roster_core.value])
    assert client.get(f"{ROSTER}/users", headers=core).status_code == 200
    assert client.get(f"{GRADEBOOK}/results", headers=core).status_code == 403
    anonymous = client.get(f"{ROSTER}/users")
    assert anonymous.status_code == 401
    minor = anonymous.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]
    assert minor["imsx_codeMinorFieldValue"] == "unauthorisedrequest"
    # people of the agency read too; the rest of the API keeps problem+json
    admin = client.get(f"{ROSTER}/users", headers=world.progress.headers)
    assert admin.status_code == 200
    assert client.get("/v1/cohorts/nope").headers["content-type"] == "application/problem+json"


def test_errors_speak_indonesian_when_asked(client: TestClient, world: OneRosterSetup) -> None:
    bad = client.get(
        f"{ROSTER}/users",
        params={"filter": "shoeSize='42'"},
        headers={**world.token, "Accept-Language": "id"},
    )
    assert bad.status_code == 400
    assert bad.json()["imsx_description"].startswith("Filter tidak dapat dipakai")


def test_learner_logins_cannot_use_oneroster(
    client: TestClient, session: Session, world: OneRosterSetup
) -> None:
    from app.models.agency import Agency

    agency = session.get(Agency, world.progress.agency_id)
    assert agency is not None
    learner_user = make_user(session, agency, "learner")
    got = client.get(f"{ROSTER}/users", headers=auth_headers(learner_user))
    assert got.status_code in (401, 403)
