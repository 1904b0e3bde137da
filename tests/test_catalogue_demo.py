"""The demo catalogue from the articles loads, is idempotent and is publicly browsable."""

from __future__ import annotations

from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from app.models import Cohort, Course
from app.services.catalogue_demo import seed_catalogue


def test_demo_catalogue_is_idempotent_and_public(client: TestClient, session: Session) -> None:
    first = seed_catalogue(session)
    assert len(first) == 5
    assert seed_catalogue(session) == []
    assert session.exec(select(func.count()).select_from(Course)).one() == 5
    assert session.exec(select(func.count()).select_from(Cohort)).one() == 6
    found = client.get("/v1/courses", params={"q": "sosial kultural"}).json()["items"]
    assert len(found) == 1
    course = found[0]
    assert course["total_jp"] == 73 and course["delivery"] == "blended"
    assert course["modes"] == ["actualization", "self_paced", "synchronous_virtual"]
    cohorts = client.get("/v1/cohorts", params={"course_id": course["id"]}).json()["items"]
    assert [c["name"] for c in cohorts] == ["Angkatan I", "Angkatan II"]
    assert sum(c["capacity"] for c in cohorts) == 80
    curriculum = client.get(f"/v1/courses/{course['id']}/curricula/1").json()
    assert curriculum["jp_by_mode"]["synchronous_virtual"] == 24
    batu = client.get("/v1/courses", params={"q": "anti radikalisme"}).json()["items"][0]
    assert batu["open_to_non_asn"] is True
    sultra = client.get("/v1/cohorts", params={"q": "pemilu"}).json()["items"][0]
    assert sultra["timezone"] == "Asia/Makassar"
    sessions = client.get(f"/v1/cohorts/{sultra['id']}/sessions").json()["items"]
    assert sessions[0]["starts_at"] == "2023-12-15T09:00:00+08:00"
