"""The committed document is a valid OpenAPI document that states the strict contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def _document() -> dict[str, Any]:
    return dict(json.loads(COMMITTED.read_text(encoding="utf-8")))


def test_committed_document_validates() -> None:
    validate(_document())


def _request_schemas(document: dict[str, Any]) -> list[str]:
    names = []
    for item in document["paths"].values():
        for op in item.values():
            for content in op.get("requestBody", {}).get("content", {}).values():
                schema = content["schema"]
                if schema.get("type") == "array":  # a JSON list: bounded, of a model
                    assert "maxItems" in schema, schema
                    schema = schema["items"]
                elif schema.get("type") == "string" or "$ref" not in schema:
                    continue  # a file (CSV, XLSX, upload): bounded by the body limit (413)
                names.append(schema["$ref"].rsplit("/", 1)[-1])
    return names


def test_request_bodies_refuse_unknown_fields_and_bound_every_value() -> None:
    document = _document()
    schemas = document["components"]["schemas"]
    seen = set()
    pending = [n for n in _request_schemas(document) if not n.startswith("Body_auth")]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        schema = schemas[name]
        assert schema.get("additionalProperties") is False, name
        for field, prop in schema["properties"].items():
            for branch in prop.get("anyOf", [prop]):
                if "$ref" in branch:
                    target = branch["$ref"].rsplit("/", 1)[-1]
                    if "properties" in schemas[target]:
                        pending.append(target)
                    continue
                kind = branch.get("type")
                where = f"{name}.{field}"
                if kind in {"integer", "number"}:
                    assert "maximum" in branch, where
                    assert "minimum" in branch or "exclusiveMinimum" in branch, where
                elif kind == "string" and "enum" not in branch:
                    assert "maxLength" in branch or "pattern" in branch, where
                elif kind == "array":
                    assert "maxItems" in branch, where
                    items = branch["items"]
                    if "$ref" in items:
                        target = items["$ref"].rsplit("/", 1)[-1]
                        if "properties" in schemas[target]:
                            pending.append(target)
                    elif items.get("type") == "string" and "enum" not in items:
                        assert "maxLength" in items, where


def test_every_query_and_path_parameter_is_bounded() -> None:
    for path, item in _document()["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                if param["in"] not in {"query", "path"}:
                    continue
                schema = param["schema"]
                where = f"{method.upper()} {path} {param['name']}"
                for branch in schema.get("anyOf", [schema]):
                    kind = branch.get("type")
                    if kind == "integer":
                        assert "maximum" in branch and "minimum" in branch, where
                    elif kind == "string" and "enum" not in branch:
                        assert "maxLength" in branch or "pattern" in branch, where


def test_jp_is_in_half_steps_and_times_have_a_year_range() -> None:
    schemas = _document()["components"]["schemas"]
    assert schemas["CourseCreate"]["properties"]["total_jp"]["multipleOf"] == 0.5
    starts_at = schemas["CohortSessionCreate"]["properties"]["starts_at"]
    assert starts_at["format"] == "date-time" and starts_at["pattern"].startswith("^(19")
    zone = schemas["CohortUpdate"]["properties"]["timezone"]
    assert "Asia/Jakarta" in zone["enum"] and "localtime" not in zone["enum"]
    email = schemas["UserCreate"]["properties"]["email"]
    assert email["format"] == "email"
