"""``bangkom``: serve, migrate, seed the demo data, rebuild stored course JSON, export the
contract, purge expired idempotency keys, deliver webhooks, back up and restore the
database, make accounts."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from app import cli_accounts
from app.core.config import get_settings

OPENAPI_PATH = Path("openapi/openapi.json")

Command = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    workers = args.workers or settings.workers
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bangkom-metrics-")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        # Forwarded headers only from the proxies named in BANGKOM_TRUSTED_PROXIES (none by
        # default): uvicorn would otherwise trust 127.0.0.1, and the login throttle with it.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        server_header=False,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app.core import migrations
    from app.core.db import get_engine

    migrations.upgrade(get_engine(), args.revision)
    print(f"database migrated to {args.revision}: {_safe_url()}")
    return 0


def _seed_demo(_args: argparse.Namespace) -> int:
    from app.services.demo import seed_demo

    settings = get_settings()
    if not settings.demo_data:
        print("demo data is off: set BANGKOM_DEMO_DATA=true (never in production)", file=sys.stderr)
        return 2
    report = seed_demo()
    for line in report:
        print(line)
    return 0


def _rebuild_docs(args: argparse.Namespace) -> int:
    from app.core.db import session_scope
    from app.services.course_docs import rebuild_docs, stale_docs

    if args.check:
        with session_scope() as session:
            stale = stale_docs(session)
        for ident in stale:
            print(f"stale: {ident}")
        print(f"{len(stale)} stored course documents differ from the current code")
        return 1 if stale else 0
    with session_scope(write=True) as session:
        result = rebuild_docs(session)
    for ident in result.rebuilt:
        print(f"rebuilt: {ident}")
    print(f"checked {result.checked} courses, rebuilt {len(result.rebuilt)}")
    return 0


def _export_openapi(args: argparse.Namespace) -> int:
    from app.main import create_app

    document = (
        json.dumps(create_app().openapi(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    )
    target = Path(args.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(document, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def _purge_idempotency_keys(_args: argparse.Namespace) -> int:
    from app.core.idempotency import purge_expired

    ttl = get_settings().idempotency_ttl_seconds
    removed = purge_expired(ttl_seconds=ttl)
    print(f"deleted {removed} idempotency keys older than {ttl} s")
    return 0


def _prune_changes(args: argparse.Namespace) -> int:
    from app.core.db import session_scope
    from app.services.oneroster import tombstones
    from app.services.sync import feed

    with session_scope(write=True) as session:
        removed = feed.prune(session=session, days=args.days)
        gone = tombstones.prune(session, before=feed.retention_cutoff(args.days))
        session.commit()
    days = args.days or get_settings().change_retention_days
    print(
        f"deleted {removed} change-feed entries and {gone} OneRoster tombstones "
        f"older than {days} days"
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from app.core.logging import configure_logging
    from app.services.webhooks.worker import Worker

    configure_logging(get_settings().log_level)
    worker = Worker(concurrency=args.concurrency, poll_interval=args.poll_interval)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        stats = await worker.run(once=args.once)
        print(
            f"webhook worker {worker.name} stopped: {stats.attempts} attempts, "
            f"{stats.succeeded} succeeded",
            file=sys.stderr,
        )

    asyncio.run(main())
    return 0


def _backup(args: argparse.Namespace) -> int:
    from app.core import backup

    url = get_settings().database_url
    target = Path(args.path)
    try:
        database = backup.sqlite_path(url)
        if database is None:
            print("PostgreSQL: back up with pg_dump (nothing was run):", file=sys.stderr)
            print(backup.pg_dump_command(url, target))
            return 2
        done = backup.backup_sqlite(database, target)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {_safe_url()} to {done.path} ({done.bytes} bytes, integrity ok)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from app.core import backup

    url = get_settings().database_url
    source = Path(args.path)
    try:
        database = backup.sqlite_path(url)
        if database is None:
            print("PostgreSQL: restore with pg_restore (nothing was run):", file=sys.stderr)
            print(backup.pg_restore_command(url, source))
            return 2
        done = backup.restore_sqlite(source, database)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {source} into {done.path} (integrity ok); start the server again")
    return 0


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().database_url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bangkom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API with uvicorn (uvloop + httptools)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=_serve)

    migrate = sub.add_parser("migrate", help="apply Alembic migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(func=_migrate)

    seed = sub.add_parser(
        "seed-demo", help="load the demo data once (needs BANGKOM_DEMO_DATA=true)"
    )
    seed.set_defaults(func=_seed_demo)

    rebuild = sub.add_parser(
        "rebuild-docs",
        help="re-render every course's stored JSON (run after each deploy/migrate)",
    )
    rebuild.add_argument(
        "--check", action="store_true", help="only list stale documents; exit 1 if any"
    )
    rebuild.set_defaults(func=_rebuild_docs)

    export = sub.add_parser("export-openapi", help="write the OpenAPI contract")
    export.add_argument("--output", default=str(OPENAPI_PATH))
    export.set_defaults(func=_export_openapi)

    purge = sub.add_parser(
        "purge-idempotency-keys",
        help="delete Idempotency-Key records older than BANGKOM_IDEMPOTENCY_TTL_SECONDS (cron)",
    )
    purge.set_defaults(func=_purge_idempotency_keys)
    prune = sub.add_parser(
        "prune-changes",
        help="delete change-feed entries and OneRoster tombstones older than "
        "BANGKOM_CHANGE_RETENTION_DAYS (cron)",
    )
    prune.add_argument("--days", type=int, default=None, help="override the retention")
    prune.set_defaults(func=_prune_changes)

    worker = sub.add_parser(
        "worker",
        help="deliver webhooks: fan the change log out to subscriptions and send signed "
        "requests with retries (several workers may share a database; SIGTERM/SIGINT stop "
        "it after the attempts in flight)",
    )
    worker.add_argument(
        "--concurrency", type=int, default=16, help="attempts in flight at once (default 16)"
    )
    worker.add_argument(
        "--poll-interval",
        type=float,
        default=0.5,
        help="seconds to wait for work when idle (default 0.5)",
    )
    worker.add_argument(
        "--once", action="store_true", help="stop when nothing is due (tests, cron)"
    )
    worker.set_defaults(func=_worker)

    back = sub.add_parser(
        "backup",
        help="copy the SQLite database to PATH while the service runs (online backup API, "
        "checked with PRAGMA integrity_check); on PostgreSQL print the pg_dump command",
    )
    back.add_argument("path", help="the backup file to write (replaced if it exists)")
    back.set_defaults(func=_backup)

    restore = sub.add_parser(
        "restore",
        help="STOP THE SERVER FIRST: replace the configured SQLite database with the backup "
        "at PATH (both checked with PRAGMA integrity_check); on PostgreSQL print the "
        "pg_restore command",
    )
    restore.add_argument("path", help="a file written by 'bangkom backup'")
    restore.set_defaults(func=_restore)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


# Other modules add subcommands here (e.g. create-agency, create-user).
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    cli_accounts.register,
]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
