"""Access logs are JSON lines with what operators need and nothing secret."""

from __future__ import annotations

import json
import logging

from starlette.testclient import TestClient

from app.core.config import Settings
from app.core.logging import JsonFormatter, redact
from app.main import create_app


def test_access_log_is_json_with_route_status_latency_and_request_id(engine, caplog) -> None:
    client = TestClient(create_app(Settings(access_log=True)))
    secret = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    with caplog.at_level(logging.INFO, logger="bangkom.access"):
        client.get(
            "/health/live?nip=198001012005011001",
            headers={"X-Request-ID": "log-test-1", "Authorization": f"Bearer {secret}"},
        )
    records = [r for r in caplog.records if r.name == "bangkom.access"]
    assert records, "no access log line"
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["msg"] == "request"
    assert line["method"] == "GET"
    assert line["route"] == "/health/live"
    assert line["status"] == 200
    assert line["latency_ms"] >= 0
    assert line["request_id"] == "log-test-1"
    raw = JsonFormatter().format(records[-1])
    assert secret not in raw and "198001012005011001" not in raw


def test_redact_masks_nips_and_bearer_tokens() -> None:
    assert "198001012005011001" not in redact("learner 198001012005011001 enrolled")
    assert "19800101 200501 1 001" not in redact("NIP 19800101 200501 1 001")
    assert redact("learner 198001012005011001").startswith("learner 1980")
    assert "abc.def.ghi" not in redact("Authorization: Bearer abc.def.ghi")
    assert redact("JP total 73 for 2025") == "JP total 73 for 2025"
