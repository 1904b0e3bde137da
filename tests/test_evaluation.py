"""Evaluating a cohort: the pass rules at their boundaries (Decimal, never floats), grades,
reasons, re-runs with their history and JP credit, and who may evaluate when."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.models import Enrollment
from app.models.base import utcnow
from app.models.cohort import CohortStatus
from app.models.enrollment import EnrollmentEvent, EnrollmentStatus
from app.models.jp import JPRecord
from app.models.progress import ProgressRecord
from tests.factories import auth_headers, make_agency, make_user
from tests.factories_evaluation import (
    Setup,
    add_session,
    attend,
    centi,
    complete_all,
    make_evaluation,
    progress,
)

ONE_MODULE = [(10.0, "classroom", True, 100.0)]
ID = {"Accept-Language": "id"}


def _evaluate(client: TestClient, setup: Setup, status: int = 200) -> dict[str, Any]:
    answer = client.post(f"{setup.url}/evaluate", headers=setup.admin)
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def _by_enrolment(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["enrollment_id"]: item for item in result["items"]}


def _enrolment(client: TestClient, setup: Setup, enrollment: Enrollment) -> dict[str, Any]:
    found = client.get(f"/v1/enrollments/{enrollment.id}", headers=setup.admin)
    assert found.status_code == 200, found.text
    return dict(found.json())


def _reader(engine: Engine) -> Session:
    return Session(engine)  # reads only: never holds SQLite's write lock


def test_a_score_of_70_00_fails_and_70_01_passes_with_the_default_rule(
    client: TestClient, session: Session
) -> None:
    setup = make_evaluation(session, modules=ONE_MODULE, learners=2)
    low, high = setup.enrollments
    complete_all(session, setup, low, "70.00")
    complete_all(session, setup, high, "70.01")

    result = _evaluate(client, setup)

    assert result["counts"] == {"passed": 1, "failed": 1, "skipped": 0, "changed": 2}
    assert result["rules"]["passing_score"] == 70.01
    items = _by_enrolment(result)
    assert items[low.id]["outcome"] == "failed"
    assert items[low.id]["reasons"] == [
        {"code": "score_below_passing", "score": 70, "passing": 70.01}
    ]
    assert items[high.id]["outcome"] == "passed" and items[high.id]["reasons"] == []
    failed, passed = _enrolment(client, setup, low), _enrolment(client, setup, high)
    assert (failed["status"], failed["final_score"], failed["grade"]) == ("failed", 70, "kurang")
    assert (passed["status"], passed["final_score"], passed["grade"]) == ("passed", 70.01, "cukup")
    assert passed["absent_jp"] == 0 and passed["evaluated_at"] is not None
    assert failed["outcome_reasons"][0]["code"] == "score_below_passing"
    assert failed["allowed_transitions"] == []


def test_absence_exactly_at_the_limit_passes_and_half_a_jp_over_fails(
    client: TestClient, session: Session
) -> None:
    setup = make_evaluation(session, modules=ONE_MODULE, learners=5, max_absence_jp_halves=4)
    at_limit, over, short, excused, enough = setup.enrollments
    for enrollment in setup.enrollments:
        complete_all(session, setup, enrollment, "90")
    long_one = add_session(session, setup, 2, minutes=90)
    half = add_session(session, setup, 0.5, minutes=30)
    attend(session, setup, half, at_limit)  # misses the 2 JP one (no record): exactly 2 JP
    attend(session, setup, long_one, over, "absent")  # 2 JP + 0.5 JP without a record
    attend(session, setup, long_one, short, "present", minutes=71)  # < 80% of 90 min
    attend(session, setup, half, short, "late", minutes=30)
    attend(session, setup, long_one, excused, "excused")  # an excuse still counts
    attend(session, setup, half, excused, "present")
    attend(session, setup, long_one, enough, "late", minutes=72)  # exactly 80%
    attend(session, setup, half, enough, "present", minutes=24)

    items = _by_enrolment(_evaluate(client, setup))

    assert items[at_limit.id]["outcome"] == "passed" and items[at_limit.id]["absent_jp"] == 2
    assert items[over.id]["outcome"] == "failed"
    assert items[over.id]["reasons"] == [
        {"code": "absence_over_limit", "absent_jp": 2.5, "limit": 2}
    ]
    # present for too short counts as missed: 2 JP, at the limit
    assert (items[short.id]["outcome"], items[short.id]["absent_jp"]) == ("passed", 2)
    assert (items[excused.id]["outcome"], items[excused.id]["absent_jp"]) == ("passed", 2)
    assert (items[enough.id]["outcome"], items[enough.id]["absent_jp"]) == ("passed", 0)


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_the_weighted_mean_with_uneven_weights_is_exact_to_the_cent(
    client: TestClient, session: Session
) -> None:
    weights = ["33.33", "33.33", "33.34"]
    setup = make_evaluation(
        session,
        modules=[(2, "classroom", True, float(w)) for w in weights] + [(1, "classroom", False, 0)],
        learners=3,
    )
    cases = [("70.00", "70.01", "70.00"), ("99.99", "0.01", "70.05"), ("85.55", "62.25", "71.10")]
    for enrollment, scores in zip(setup.enrollments, cases, strict=True):
        complete_all(session, setup, enrollment, *scores)

    items = _by_enrolment(_evaluate(client, setup))

    for enrollment, scores in zip(setup.enrollments, cases, strict=True):
        exact = sum(Decimal(s) * Decimal(w) for s, w in zip(scores, weights, strict=True)) / 100
        assert Decimal(str(items[enrollment.id]["final_score"])) == _half_up(exact)
    # 70.003333 -> 70.00: under the passing score by less than a cent
    assert items[setup.enrollments[0].id]["final_score"] == 70
    assert items[setup.enrollments[0].id]["outcome"] == "failed"


def test_a_mean_at_half_a_cent_rounds_up_and_passes(client: TestClient, session: Session) -> None:
    setup = make_evaluation(
        session, modules=[(5, "classroom", True, 50), (5, "classroom", True, 50)], learners=1
    )
    [enrollment] = setup.enrollments
    complete_all(session, setup, enrollment, "70.00", "70.01")  # mean 70.005
    assert round(70.00 * 0.5 + 70.01 * 0.5, 2) == 70.0  # what floats would have said

    [item] = _evaluate(client, setup)["items"]

    assert (item["final_score"], item["outcome"]) == (70.01, "passed")


def test_an_incomplete_self_paced_module_or_a_missing_score_fails_with_its_reason(
    client: TestClient, session: Session
) -> None:
    setup = make_evaluation(session, learners=2)  # self-paced (60), classroom (40), unassessed
    self_paced, classroom, unassessed = setup.modules
    unfinished, unscored = setup.enrollments
    progress(session, unfinished, self_paced, "in_progress", score="95")
    progress(session, unfinished, classroom, score="95")
    progress(session, unscored, self_paced, score="100")
    progress(session, unscored, unassessed)

    items = _by_enrolment(_evaluate(client, setup))

    assert items[unfinished.id]["outcome"] == "failed"
    assert items[unfinished.id]["final_score"] == 95
    assert items[unfinished.id]["reasons"] == [
        {"code": "module_incomplete", "module_id": self_paced.id, "title": self_paced.title}
    ]
    # the missing score counts 0 (60.00) and says which module it was
    assert items[unscored.id]["final_score"] == 60
    assert [r["code"] for r in items[unscored.id]["reasons"]] == [
        "score_missing",
        "score_below_passing",
    ]
    assert items[unscored.id]["reasons"][0]["module_id"] == classroom.id


def test_grade_bands_take_scores_strictly_above_their_threshold(
    client: TestClient, session: Session
) -> None:
    scores = ["90.01", "90.00", "80.01", "80.00", "100", "0"]
    setup = make_evaluation(session, modules=ONE_MODULE, learners=len(scores))
    for enrollment, score in zip(setup.enrollments, scores, strict=True):
        complete_all(session, setup, enrollment, score)

    items = _by_enrolment(_evaluate(client, setup))

    grades = [items[e.id]["grade"] for e in setup.enrollments]
    assert grades == [
        "sangat memuaskan",
        "memuaskan",
        "memuaskan",
        "cukup",
        "sangat memuaskan",
        "kurang",
    ]


def test_custom_passing_score_and_bands_are_the_courses(
    client: TestClient, session: Session
) -> None:
    bands = [{"label": "A", "above": 85.5}, {"label": "B", "above": None}]
    setup = make_evaluation(
        session, modules=ONE_MODULE, learners=2, passing_score_centi=6000, grade_bands=bands
    )
    complete_all(session, setup, setup.enrollments[0], "85.50")
    complete_all(session, setup, setup.enrollments[1], "85.51")

    items = _by_enrolment(_evaluate(client, setup))

    first, second = (items[e.id] for e in setup.enrollments)
    assert (first["outcome"], first["grade"]) == ("passed", "B")
    assert (second["outcome"], second["grade"]) == ("passed", "A")


def _events(engine: Engine, enrollment: Enrollment) -> list[EnrollmentEvent]:
    with _reader(engine) as reader:
        statement = select(EnrollmentEvent).where(
            col(EnrollmentEvent.enrollment_id) == enrollment.id
        )
        return list(reader.exec(statement.order_by(col(EnrollmentEvent.seq))).all())


def _credits(engine: Engine, enrollment: Enrollment) -> list[JPRecord]:
    with _reader(engine) as reader:
        statement = select(JPRecord).where(
            col(JPRecord.enrollment_id) == enrollment.id,
            col(JPRecord.withdrawn_at).is_(None),  # a withdrawn credit is kept, not counted
        )
        return list(reader.exec(statement).all())


def test_a_rerun_changes_an_outcome_its_history_and_its_jp_credit(
    client: TestClient, session: Session, engine: Engine
) -> None:
    setup = make_evaluation(session, modules=ONE_MODULE, learners=1, total_jp_halves=146)
    [enrollment] = setup.enrollments
    complete_all(session, setup, enrollment, "88")

    first = _evaluate(client, setup)
    assert first["counts"]["passed"] == 1
    [credit] = _credits(engine, enrollment)
    assert (credit.jp_halves, credit.year, credit.source) == (
        146,
        setup.cohort.ends_on.year,
        "course",
    )
    etag = client.get(f"/v1/enrollments/{enrollment.id}", headers=setup.admin).headers["ETag"]

    # the LMS corrects the score
    session.exec(update(ProgressRecord).values(score_centi=centi("55.5")))  # type: ignore[call-overload]
    session.commit()

    second = _evaluate(client, setup)
    assert second["counts"] == {"passed": 0, "failed": 1, "skipped": 0, "changed": 1}
    assert _credits(engine, enrollment) == []
    shown = client.get(f"/v1/enrollments/{enrollment.id}", headers=setup.admin)
    assert shown.json()["final_score"] == 55.5 and shown.headers["ETag"] != etag

    third = _evaluate(client, setup)  # nothing changed: no event, same outcome
    assert third["counts"]["changed"] == 0
    events = _events(engine, enrollment)
    assert [(e.from_status, e.to_status) for e in events] == [
        ("active", "passed"),
        ("passed", "failed"),
    ]
    assert events[1].reason == "evaluation: score_below_passing"
    assert events[0].actor_user_id is not None
    history = client.get(f"/v1/enrollments/{enrollment.id}/history", headers=setup.admin)
    assert [e["to_status"] for e in history.json()["items"]] == ["passed", "failed"]


def test_evaluation_is_refused_once_certificates_are_issued(
    client: TestClient, session: Session
) -> None:
    setup = make_evaluation(session, modules=ONE_MODULE, learners=1)
    setup.cohort.certificates_issued_at = utcnow()
    session.add(setup.cohort)
    session.commit()

    refused = _evaluate(client, setup, 409)
    indonesian = client.post(f"{setup.url}/evaluate", headers={**setup.admin, **ID}).json()

    assert refused["code"] == "certificates_issued" and "final" in refused["detail"]
    assert indonesian["detail"].startswith("Sertifikat")
    assert _enrolment(client, setup, setup.enrollments[0])["status"] == "active"


def test_a_cohort_not_in_evaluation_is_refused_with_how_to_get_there(
    client: TestClient, session: Session
) -> None:
    setup = make_evaluation(session, modules=ONE_MODULE, learners=1, status=CohortStatus.running)

    refused = _evaluate(client, setup, 409)
    indonesian = client.post(f"{setup.url}/evaluate", headers={**setup.admin, **ID}).json()

    assert refused["code"] == "cohort_not_in_evaluation" and refused["status"] == 409
    assert refused["cohort_status"] == "running"
    assert "is running" in refused["detail"] and "to=evaluation" in refused["detail"]
    assert (
        indonesian["detail"].startswith("Angkatan") and "berstatus running" in indonesian["detail"]
    )


def test_another_agency_cannot_evaluate_or_preview(client: TestClient, session: Session) -> None:
    setup = make_evaluation(session, modules=ONE_MODULE, learners=1)
    other = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    viewer = auth_headers(make_user(session, setup.agency, "viewer"))

    assert client.post(f"{setup.url}/evaluate", headers=other).status_code == 404
    assert client.get(f"{setup.url}/evaluation", headers=other).status_code == 404
    assert client.post("/v1/cohorts/coh_missing/evaluate", headers=setup.admin).status_code == 404
    assert client.post(f"{setup.url}/evaluate", headers=viewer).status_code == 403
    assert client.post(f"{setup.url}/evaluate").status_code == 401
    assert _enrolment(client, setup, setup.enrollments[0])["status"] == "active"


def test_the_preview_writes_nothing_and_counts_only_ended_sessions_while_running(
    client: TestClient, session: Session
) -> None:
    setup = make_evaluation(
        session, modules=ONE_MODULE, learners=1, status=CohortStatus.running,
        max_absence_jp_halves=2,
    )  # fmt: skip
    [enrollment] = setup.enrollments
    complete_all(session, setup, enrollment, "80")
    add_session(session, setup, 1)  # missed
    add_session(session, setup, 8, ended_hours_ago=-24)  # tomorrow: not missed yet

    preview = client.get(f"{setup.url}/evaluation", headers=setup.admin)

    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["written"] is False and body["rules"]["sessions_counted"] == 1
    [item] = body["items"]
    assert (item["outcome"], item["absent_jp"], item["status"]) == ("passed", 1, "passed")
    assert _enrolment(client, setup, enrollment)["status"] == "active"


def test_withdrawn_waitlisted_and_dropped_enrolments_are_skipped(
    client: TestClient, session: Session, engine: Engine
) -> None:
    setup = make_evaluation(session, modules=ONE_MODULE, learners=4)
    seated, *others = setup.enrollments
    for enrollment, status in zip(others, ["withdrawn", "waitlisted", "dropped"], strict=True):
        enrollment.status = EnrollmentStatus(status)
        session.add(enrollment)
    session.commit()
    complete_all(session, setup, seated, "75")

    result = _evaluate(client, setup)

    assert result["counts"] == {"passed": 1, "failed": 0, "skipped": 3, "changed": 1}
    items = _by_enrolment(result)
    assert [items[e.id]["status"] for e in others] == ["withdrawn", "waitlisted", "dropped"]
    assert all(_credits(engine, e) == [] for e in others)


def test_the_roster_export_shows_the_outcome(client: TestClient, session: Session) -> None:
    setup = make_evaluation(session, modules=ONE_MODULE, learners=1)
    complete_all(session, setup, setup.enrollments[0], "91.5")
    _evaluate(client, setup)

    exported = client.get(f"{setup.url}/enrollments", headers={**setup.admin, "Accept": "text/csv"})

    header, row = exported.content.decode("utf-8-sig").splitlines()
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    assert (cells["status"], cells["final_score"], cells["grade"], cells["absent_jp"]) == (
        "passed",
        "91.5",
        "sangat memuaskan",
        "0",
    )


def test_without_weights_assessed_modules_count_equally_and_without_any_there_is_no_score(
    client: TestClient, session: Session
) -> None:
    equal = make_evaluation(
        session, modules=[(5, "classroom", True, 0), (5, "classroom", True, 0)], learners=1
    )
    complete_all(session, equal, equal.enrollments[0], "70.01", "70.02")  # mean 70.015
    unscored = make_evaluation(session, modules=[(3, "self_paced", False, 0)], learners=1)
    complete_all(session, unscored, unscored.enrollments[0])

    [mean] = _evaluate(client, equal)["items"]
    [webinar] = _evaluate(client, unscored)["items"]

    assert (mean["final_score"], mean["outcome"]) == (70.02, "passed")
    assert (webinar["final_score"], webinar["grade"], webinar["outcome"]) == (None, None, "passed")
