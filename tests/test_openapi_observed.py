"""The contract tells the truth: every status the test suite saw a route answer is
declared by that route's operation in the OpenAPI document.

It reads the Prometheus counter every request of this process went through, so it runs
after every other test (tests/conftest.py moves it last); run alone it checks only
what it sees.
"""

from __future__ import annotations

from app.core import metrics
from app.main import create_app


def test_every_status_the_suite_saw_is_declared_in_openapi() -> None:
    paths = create_app().openapi()["paths"]
    checked = 0
    undeclared = set()
    for family in metrics.REQUESTS.collect():
        for sample in family.samples:
            if not sample.name.endswith("_total") or sample.value == 0:
                continue
            method, route, status = (sample.labels[k] for k in ("method", "route", "status"))
            op = paths.get(route, {}).get(method.lower())
            if op is None:  # unmatched, test-only routes, docs, or 405 for a method with no route
                continue
            checked += 1
            if status not in op["responses"]:
                undeclared.add(f"{method} {route} -> {status} ({op['operationId']})")
    assert undeclared == set()
    assert checked > 0
