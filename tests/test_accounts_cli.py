"""First accounts on an empty database (CLI), and the demo logins."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient

from app.cli import main
from app.models import Agency, User
from app.services.demo import DEMO_PASSWORD, seed_demo_logins


def test_cli_creates_the_first_agency_and_platform_admin(
    engine: Engine, session: Session, client: TestClient, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert main(["create-agency", "--name", "LAN RI", "--slug", "lan-ri", "--kind", "central"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a-strong-first-password\n"))
    code = main(
        [
            "create-user",
            "--email",
            "Root@LAN.go.id",
            "--full-name",
            "Admin Pertama",
            "--agency",
            "lan-ri",
            "--role",
            "platform_admin",
            "--password-stdin",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "created agency lan-ri" in out and "platform_admin" in out
    assert "a-strong-first-password" not in out
    user = session.exec(select(User)).one()
    assert user.roles == ["platform_admin"] and user.email_normalized == "root@lan.go.id"
    session.rollback()  # release SQLite's write lock before the app writes
    login = client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "root@lan.go.id",
            "password": "a-strong-first-password",
        },
    )
    assert login.status_code == 200


def test_cli_refuses_weak_passwords_and_unknown_agencies(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert main(["create-agency", "--name", "LAN RI", "--slug", "lan-ri"]) == 0
    assert main(["create-agency", "--name", "LAN RI", "--slug", "lan-ri"]) == 2
    base = ["create-user", "--email", "a@lan.go.id", "--full-name", "A", "--password-stdin"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main([*base, "--agency", "lan-ri"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-password\n"))
    assert main([*base, "--agency", "nowhere"]) == 2
    assert session.exec(select(User)).all() == []


def test_demo_logins_are_created_once_and_work(
    engine: Engine, session: Session, client: TestClient
) -> None:
    lines = seed_demo_logins(session)
    assert any("admin@bangkom.example" in line and "platform_admin" in line for line in lines)
    assert any("admin@polda-sultra.example" in line for line in lines)
    # a restart: nothing new, one line saying the logins exist and where they are listed
    assert seed_demo_logins(session) == [
        "demo logins already exist (password 'bangkom-demo'); the README lists them"
    ]
    users = session.exec(select(User, Agency).join(Agency)).all()
    assert len(users) == 7
    root = next(u for u, a in users if u.email == "admin@bangkom.example")
    assert root.roles == ["platform_admin"]
    assert next(a for u, a in users if u.id == root.id).slug == "lan-ri"
    session.rollback()  # release SQLite's write lock before the app writes
    login = client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "admin@bkpsdm-kab-tangerang.example",
            "password": DEMO_PASSWORD,
        },
    )
    assert login.status_code == 200


def test_the_users_service_knows_nothing_of_demo_data() -> None:
    # users -> demo -> catalogue_demo -> users was an import cycle; demo seeding lives in demo.
    import app.services.users as users_service

    source = Path(users_service.__file__).read_text(encoding="utf-8")
    assert "demo" not in source.lower()
