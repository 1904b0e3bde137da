"""The committed contract is what the app serves; `make openapi` rewrites it."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from app.main import create_app

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    served = create_app().openapi()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == served, "openapi/openapi.json is stale: run `make openapi` and commit it"


def test_every_operation_has_a_readable_id_and_declares_errors() -> None:
    document = create_app().openapi()
    seen = set()
    for path, item in document["paths"].items():
        for method, op in item.items():
            op_id = op["operationId"]
            assert op_id not in seen
            seen.add(op_id)
            if path.startswith("/ims/oneroster/"):  # the binding's own operationIds
                assert op_id.isalnum(), op_id
            else:
                assert op_id.replace("-", "").isalnum() and op_id == op_id.lower(), op_id
            errors = {s for s in op["responses"] if s.isdigit() and int(s) >= 400}
            assert "500" in errors, f"{method.upper()} {path} declares no errors"
            for status in errors:
                content = op["responses"][status]["content"]
                # OneRoster's routes answer imsx_StatusInfo; the body-size limit (413) and a
                # crash (500) are the server's, before or after the route
                if path.startswith("/ims/oneroster/") and status not in {"413", "500"}:
                    assert list(content) == ["application/json"], (path, status)  # imsx
                else:
                    assert list(content) == ["application/problem+json"], (path, status)


def test_api_routes_live_under_v1() -> None:
    for path in create_app().openapi()["paths"]:
        # /verify/{code}: the public page a certificate's QR code opens (short, unversioned);
        # /xapi/ and /activities/: the xAPI endpoint and its activity ids (xAPI's own paths);
        # /ims/oneroster/...: the OneRoster 1.2 binding's own paths
        prefixes = ("/v1/", "/health/", "/metrics", "/.well-known/", "/verify/", "/xapi/")
        assert path.startswith((*prefixes, "/activities/", "/ims/oneroster/")), path


def test_docs_are_served_offline(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "/static/docs/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page.split("<body>")[0].lower().replace(
        "https://fastapi.tiangolo.com", ""
    )
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert client.get(f"/static/docs/{asset}").status_code == 200
    redoc = client.get("/redoc").text
    assert "/static/docs/redoc.standalone.js" in redoc and "fonts.googleapis" not in redoc


def test_swagger_ui_can_authorize_with_the_password_flow() -> None:
    document = create_app().openapi()
    schemes = document["components"]["securitySchemes"]
    scheme = schemes["OAuth2"]
    assert scheme["type"] == "oauth2"
    # the only other scheme: HTTP Basic with a client's id and secret, on /xapi/ only
    assert set(schemes) == {"OAuth2", "xAPIBasic"}
    basic = {p for p, item in document["paths"].items() for op in item.values()
             if any("xAPIBasic" in r for r in op.get("security", []))}  # fmt: skip
    assert basic and all(p.startswith("/xapi/") for p in basic)
    assert scheme["flows"]["password"]["tokenUrl"] == "/v1/auth/token"
    token = document["paths"]["/v1/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert "security" in document["paths"]["/v1/me"]["get"]
    assert "security" not in token


def test_operations_declare_the_errors_their_shape_implies() -> None:
    """A JSON body can be malformed (400), mistyped (415), too big (413) or invalid (422);
    If-Match can fail (412); If-None-Match can match (304); a secured route can 401."""
    for path, item in create_app().openapi()["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            declared = set(op["responses"])
            headers = {p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"}
            body = op.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                # xAPI answers 400 for an invalid statement (its own rule), never 422
                shape = {"400", "413", "415"} | (set() if path.startswith("/xapi/") else {"422"})
                assert shape <= declared, where
            if "if-match" in headers:
                assert "412" in declared, where
            if "if-none-match" in headers:
                assert "304" in declared, where
            if op.get("security"):
                assert "401" in declared, where
