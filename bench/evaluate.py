"""Evaluating a 40-learner cohort: ``POST /v1/cohorts/{id}/evaluate``.

    .venv/bin/python bench/evaluate.py [--learners 40] [--repeat 7] [--engines sqlite,postgresql]

Each engine gets a fresh schema (SQLite: a temporary file; PostgreSQL: the database
``bangkom_evaluate_bench`` from ``scripts/postgres.sh``). Per round, Core inserts build a
cohort in ``evaluation`` of a course with 6 modules (3 self-paced, 5 assessed), 12 ended
sessions, ``--learners`` active enrolments with a progress row per module and an
attendance row per session (scores and absences spread so that about a third fail). Then
through the whole ASGI app in process (TestClient: middleware, auth, problem handling; no
socket):

- the first evaluation of a fresh cohort (every enrolment moves: an event, a JP credit or
  none, the outcome columns): best and median over ``--repeat`` cohorts;
- a re-run of an evaluated cohort (nothing moves; outcomes and credits rewritten);
- the preview (``GET /v1/cohorts/{id}/evaluation``, nothing written).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BANGKOM_SECRET_KEY", "bench-secret-key-" + "x" * 32)
os.environ.setdefault("BANGKOM_ACCESS_LOG", "false")

MODULES = [  # (jp, mode, assessed, weight)
    (10, "self_paced", True, 20),
    (10, "self_paced", True, 15),
    (6, "self_paced", False, 0),
    (12, "classroom", True, 25),
    (12, "synchronous_virtual", True, 25),
    (8, "actualization", True, 15),
]
SESSIONS = 12  # 2 JP each, 90 minutes
_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_bench{next(_ids):020d}"


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def build_cohort(engine: Any, agency_id: str, learners: int, round_no: int) -> str:
    """One evaluation-ready cohort, all with Core inserts; answers its id."""
    from sqlalchemy import insert

    from app.models import Cohort, Course, Enrollment, Learner
    from app.models.attendance import Attendance
    from app.models.base import utcnow
    from app.models.cohort import CohortSession
    from app.models.course import DEFAULT_GRADE_BANDS
    from app.models.curriculum import Curriculum, CurriculumModule
    from app.models.progress import ProgressRecord

    now = utcnow()
    course_id, curriculum_id, cohort_id = _id("crs"), _id("cur"), _id("coh")
    modules = [(_id("mod"), *m) for m in MODULES]
    sessions = [_id("ses") for _ in range(SESSIONS)]
    learner_ids = [_id("lrn") for _ in range(learners)]
    enrollment_ids = [_id("enr") for _ in range(learners)]

    def table(model: Any) -> Any:
        return model.__table__

    stamps = {"created_at": now, "updated_at": now}
    with engine.begin() as conn:
        conn.execute(insert(table(Course)), [{
            "id": course_id, "agency_id": agency_id, "code": f"EVB-{round_no}",
            "title": f"Pelatihan Bench {round_no}", "kind": "training",
            "competency_type": "socio_cultural", "delivery": "blended",
            "total_jp_halves": 2 * sum(m[0] for m in MODULES), "passing_score_centi": 7001,
            "max_absence_jp_halves": 8, "grade_bands": DEFAULT_GRADE_BANDS,
            "partner_agency_ids": [], "partners": [], "tags": [], "modes": [],
            "status": "published", "search": "", "doc": "", "version": 1, **stamps,
        }])  # fmt: skip
        conn.execute(insert(table(Curriculum)), [{
            "id": curriculum_id, "agency_id": agency_id, "course_id": course_id, "version": 1,
            "status": "published", "revision": 1, "published_at": now, **stamps,
        }])  # fmt: skip
        conn.execute(insert(table(CurriculumModule)), [{
            "id": mid, "curriculum_id": curriculum_id, "position": i, "title": f"Modul {i}",
            "jp_halves": 2 * jp, "mode": mode, "assessed": assessed,
            "weight_centi": weight * 100,
        } for i, (mid, jp, mode, assessed, weight) in enumerate(modules, start=1)])  # fmt: skip
        conn.execute(insert(table(Cohort)), [{
            "id": cohort_id, "agency_id": agency_id, "course_id": course_id,
            "curriculum_id": curriculum_id, "curriculum_version": 1, "number": 1,
            "year": 2025, "starts_on": (now - timedelta(days=14)).date(),
            "ends_on": (now - timedelta(days=1)).date(), "timezone": "Asia/Jakarta",
            "capacity": learners, "status": "evaluation", "waitlist_enabled": False,
            "seats_taken": learners, "waitlist_length": 0, "waitlist_seq": 0, "version": 1,
            **stamps,
        }])  # fmt: skip
        conn.execute(insert(table(CohortSession)), [{
            "id": sid, "agency_id": agency_id, "cohort_id": cohort_id,
            "starts_at": now - timedelta(days=13 - i, minutes=90),
            "ends_at": now - timedelta(days=13 - i), "mode": "classroom", "jp_halves": 4,
            "version": 1, **stamps,
        } for i, sid in enumerate(sessions)])  # fmt: skip
        conn.execute(insert(table(Learner)), [{
            "id": lid, "learner_key": f"ext:bench:{round_no}-{n}", "agency_id": agency_id,
            "asn_type": "non_asn", "name": f"Peserta Bench {n}", "search": f"peserta {n}",
            "version": 1, **stamps,
        } for n, lid in enumerate(learner_ids)])  # fmt: skip
        conn.execute(insert(table(Enrollment)), [{
            "id": eid, "cohort_id": cohort_id, "course_id": course_id,
            "agency_id": agency_id, "learner_id": lid, "status": "active", "version": 1,
            **stamps,
        } for eid, lid in zip(enrollment_ids, learner_ids, strict=True)])  # fmt: skip
        conn.execute(insert(table(ProgressRecord)), [{
            "id": _id("prg"), "enrollment_id": eid, "module_id": mid,
            "status": "in_progress" if (n % 9 == 0 and mode == "self_paced") else "completed",
            "percent": 100, "score_centi": (6000 + (n * 397) % 3900) if assessed else None,
            "jp_earned_halves": 2 * jp, "time_spent_minutes": 45 * jp, "occurred_at": now,
            "source": "bench", "external_id": f"{eid}-{mid}", "version": 1, **stamps,
        } for n, eid in enumerate(enrollment_ids)
            for mid, jp, mode, assessed, _w in modules])  # fmt: skip
        conn.execute(insert(table(Attendance)), [{
            "id": _id("att"), "cohort_id": cohort_id, "session_id": sid, "enrollment_id": eid,
            "status": "absent" if (n + s) % 13 == 0 else "present",
            "minutes_attended": 60 if (n * s) % 17 == 3 else 90, "source": "manual",
            "version": 1, **stamps,
        } for n, eid in enumerate(enrollment_ids)
            for s, sid in enumerate(sessions)])  # fmt: skip
    return cohort_id


def run_engine(engine_name: str, url: str, args: argparse.Namespace) -> list[str]:
    from starlette.testclient import TestClient

    from app.main import create_app
    from bench.inprocess import fresh_database

    engine, ctx = fresh_database(url)
    headers = {"Authorization": f"Bearer {ctx.vars['token']}"}
    agency_id = ctx.vars["agency_id"]
    cohorts = [build_cohort(engine, agency_id, args.learners, n) for n in range(args.repeat + 1)]
    first: list[float] = []
    counts: dict[str, int] = {}
    with TestClient(create_app(), raise_server_exceptions=True) as client:

        def evaluate(cohort_id: str) -> None:
            got = client.post(f"/v1/cohorts/{cohort_id}/evaluate", headers=headers)
            assert got.status_code == 200, got.text[:500]
            counts.update(got.json()["counts"])

        evaluate(cohorts[0])  # warm-up (imports, caches)
        for cohort_id in cohorts[1:]:
            first.append(_timed(lambda c=cohort_id: evaluate(c)))  # type: ignore[misc]
        outcome = dict(counts)
        rerun = [_timed(lambda: evaluate(cohorts[-1])) for _ in range(args.repeat)]
        preview_url = f"/v1/cohorts/{cohorts[-1]}/evaluation"
        preview = [
            _timed(lambda: client.get(preview_url, headers=headers)) for _ in range(args.repeat)
        ]
    engine.dispose()
    note = f"{outcome['passed']} passed, {outcome['failed']} failed"
    rows = [("POST evaluate (first run)", first, note), ("POST evaluate (re-run)", rerun, "")]
    rows.append(("GET evaluation (preview)", preview, ""))
    return [
        f"| {name}, {args.learners} learners | {engine_name} | {min(t) * 1000:.1f} ms "
        f"| {statistics.median(t) * 1000:.1f} ms | {statistics.median(t) / args.learners * 1e6:.0f}"
        f" µs | {extra} |"
        for name, t, extra in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = [
        "| row | engine | best | median | per learner | notes |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    from bench.inprocess import engine_urls, load_line

    with tempfile.TemporaryDirectory() as work:
        for name, url in engine_urls(args.engines, work, "bangkom_evaluate_bench"):
            rows += run_engine(name, url, args)
    print("\n".join(rows))
    print(load_line())


if __name__ == "__main__":
    main()
