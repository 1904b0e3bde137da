"""Every error the service can produce speaks English and, with Accept-Language: id,
Indonesian: title, detail and each errors[].msg, with no leftover pydantic phrasing."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core import i18n
from app.core.errors import build_problem
from tests.factories import auth_headers, course_payload, make_agency, make_user

APP = Path(__file__).resolve().parents[1] / "app"
# Calls that raise a problem, and the position of their English detail argument.
RAISERS = {"ProblemError": 2, "oauth_error": 1, "_invalid_grant": 0, "invalid": 1}
# The framework's own HTTP errors: their detail is Starlette's, shown as the generic
# Indonesian detail of the status under Accept-Language: id.
FRAMEWORK = {("core/errors.py", "_handle_http")}
# Wrappers whose detail_id is passed through from their own callers.
WRAPPERS = {"oauth_error", "_invalid_grant", "invalid", "bad_cursor"}


def _calls() -> list[tuple[str, str, ast.Call]]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        rel = str(path.relative_to(APP))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in RAISERS:
                        found.append((rel, func.name, node))
    return found


def _codes() -> set[str]:
    codes = set(i18n.MESSAGES)
    for _, _, call in _calls():
        name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
        position = 1 if name == "ProblemError" else 0
        if name in {"ProblemError", "oauth_error"} and len(call.args) > position:
            arg = call.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                codes.add(arg.value)
    return codes


def test_every_raised_problem_has_an_indonesian_detail() -> None:
    missing = []
    for rel, func, call in _calls():
        name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
        assert name is not None
        if (rel, func) in FRAMEWORK or func in WRAPPERS:
            continue
        keywords = {k.arg for k in call.keywords}
        has_detail = len(call.args) > RAISERS[name] or "detail" in keywords
        translated = "detail_id" in keywords or "msg_id" in keywords
        if any(isinstance(a, ast.Starred) for a in call.args):  # *(english, indonesian)
            translated = True
        if name in {"oauth_error", "_invalid_grant", "invalid"}:
            translated = translated or len(call.args) > RAISERS[name] + 1
        if has_detail and not translated:
            missing.append(f"app/{rel}:{call.lineno} ({func})")
    assert missing == [], "give these an Indonesian detail_id / msg_id: " + ", ".join(missing)


def test_no_raised_problem_overwrites_its_own_members_with_extra() -> None:
    """``extra={"status": ...}`` would silently replace the HTTP status in the body."""
    from app.core.errors import RESERVED_MEMBERS

    clashes = []
    for rel, func, call in _calls():
        for keyword in call.keywords:
            if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                keys = {k.value for k in keyword.value.keys if isinstance(k, ast.Constant)}
                if keys & RESERVED_MEMBERS:
                    clashes.append(f"app/{rel}:{call.lineno} ({func}): {sorted(keys)}")
    assert clashes == [], "rename these extra members: " + ", ".join(clashes)


def test_every_error_code_has_a_title_and_detail_in_both_languages() -> None:
    codes = _codes()
    assert {"validation_error", "invalid_cursor", "wrong_password", "not_found"} <= codes
    for code in sorted(codes):
        english = build_problem(status=422, code=code, lang="en", instance=None, request_id=None)
        indonesian = build_problem(status=422, code=code, lang="id", instance=None, request_id=None)
        assert indonesian["title"] != english["title"], code
        assert indonesian["detail"] != english["detail"], code
        # a detail given only in English never shows under id
        given = build_problem(
            status=422, code=code, lang="id", instance=None, request_id=None, detail="Fix it."
        )
        assert given["detail"] != "Fix it.", code


SAMPLE_CTX: dict[str, Any] = {
    "min_length": 2,
    "max_length": 40,
    "pattern": "^x$",
    "gt": 0,
    "ge": 0,
    "lt": 10,
    "le": 10,
    "multiple_of": 0.5,
    "decimal_places": 2,
    "expected": "'draft', 'published' or 'archived'",
    "min_year": 1900,
    "max_year": 2200,
}


@pytest.mark.parametrize("kind", sorted(i18n.FIELD_MESSAGES))
def test_every_validation_type_reads_in_both_languages(kind: str) -> None:
    english = i18n.field_message(kind, SAMPLE_CTX, "en", "pydantic's")
    indonesian = i18n.field_message(kind, SAMPLE_CTX, "id", "pydantic's")
    assert english and indonesian and english != indonesian
    assert "{" not in english + indonesian
    assert "Value error" not in english
    assert " or " not in indonesian and "Input should" not in indonesian


@pytest.mark.parametrize("pattern", sorted(i18n.PATTERN_MESSAGES))
def test_every_pattern_says_how_to_fix_it(pattern: str) -> None:
    ctx = {"pattern": pattern}
    english = i18n.field_message("string_pattern_mismatch", ctx, "en", "")
    indonesian = i18n.field_message("string_pattern_mismatch", ctx, "id", "")
    assert pattern not in english and english != indonesian


def test_unknown_validation_type_still_answers_in_indonesian() -> None:
    assert i18n.field_message("brand_new_type", None, "id", "Input is odd") == i18n.FALLBACK_ID
    assert i18n.field_message("brand_new_type", None, "en", "Input is odd") == "Input is odd"


def test_field_messages_follow_accept_language(client: TestClient, session: Session) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    payload = course_payload(
        title="\x00",
        total_jp=0.3,
        kind="kursus",
        tags=["x" * 61],
        minutes_per_jp=True,
        colour="blue",
    )
    payload.pop("code")
    english = client.post("/v1/courses", json=payload, headers=headers).json()
    indonesian = client.post(
        "/v1/courses", json=payload, headers={**headers, "Accept-Language": "id"}
    ).json()
    assert english["code"] == indonesian["code"] == "validation_error"
    assert indonesian["title"] == "Masukan tidak valid" != english["title"]
    assert indonesian["detail"].startswith("Tidak valid atau kosong")
    pairs = list(zip(english["errors"], indonesian["errors"], strict=True))
    assert len(pairs) >= 6
    for en, id_ in pairs:
        assert en["loc"] == id_["loc"] and en["type"] == id_["type"]
        assert en["msg"] != id_["msg"], en
        assert not en["msg"].startswith(("Value error", "Input should")), en
    by_type = {e["type"]: e["msg"] for e in indonesian["errors"]}
    assert by_type["missing"] == "Isian ini wajib diisi."
    assert by_type["extra_forbidden"].startswith("Hapus isian ini")
    assert "atau" in by_type["enum"] and " or " not in by_type["enum"]


def test_a_wrong_date_names_the_format(client: TestClient) -> None:
    response = client.get(
        "/v1/courses", params={"starts_after": "17-03-2025"}, headers={"Accept-Language": "id"}
    )
    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.json()["errors"][0]["msg"]
    assert response.json()["errors"][0]["msg"].startswith("Tulis tanggal")


def test_service_errors_translate_their_field_messages(client: TestClient) -> None:
    response = client.get(
        "/v1/courses", params={"cursor": "bm90LWEtY3Vyc29y"}, headers={"Accept-Language": "id"}
    )
    body = response.json()
    assert response.status_code == 422 and body["code"] == "invalid_cursor"
    assert body["detail"].startswith("Cursor")
    assert all("cursor" in e["msg"].lower() and "the" not in e["msg"] for e in body["errors"])
