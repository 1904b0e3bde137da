"""Settings from the environment (prefix ``BANGKOM_``), validated once at start."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-bangkom-development-secret-key-0000"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BANGKOM_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/bangkom.db"
    secret_key: str = DEFAULT_SECRET_KEY
    demo_data: bool = False
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    threadpool_size: int = Field(default=8, ge=1, le=200)
    log_level: str = "INFO"
    access_log: bool = True

    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    page_limit_default: int = Field(default=50, ge=1)
    page_limit_max: int = Field(default=200, ge=1)

    db_pool_size: int = Field(default=10, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # PostgreSQL: give up connecting after this long (libpq's minimum is 2 s); a stopped
    # server refuses at once, so requests answer 503 in milliseconds either way.
    db_connect_timeout_seconds: int = Field(default=2, ge=1, le=60)

    # Idempotency-Key (app/core/idempotency.py): how long a key's first answer is replayed;
    # after that the key is free again (and `bangkom purge-idempotency-keys` deletes it).
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=1)

    # Change feed (app/services/sync/feed.py): changes older than this are pruned
    # (`bangkom prune-changes`); a cursor before the oldest kept change gets 410.
    change_retention_days: int = Field(default=90, ge=1, le=3650)

    # Outbound requests to agency-chosen URLs (webhooks, app/services/outbound.py) refuse
    # loopback, private, link-local and reserved addresses except in these networks
    # (comma-separated CIDRs; e.g. "127.0.0.1/32" for a receiver on the same machine).
    outbound_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Webhook delivery (`bangkom worker`, app/services/webhooks/): the time one attempt may
    # take; a worker's lease on an attempt (longer than the timeout: an expired lease is
    # taken over by another worker); the retry delays (full jitter: each a random wait up
    # to the value; the last repeats) and how long a delivery is retried after it was made.
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)
    webhook_lease_seconds: float = Field(default=60, gt=0, le=3600)
    webhook_retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0],
        min_length=1,
    )
    webhook_retry_window_seconds: float = Field(default=24 * 3600, gt=0)

    # Zoom report import (app/services/learning/zoom_report.py): the share of a session a
    # learner must attend to be recorded present; ``present_share`` in the query overrides it.
    attendance_present_share: Decimal = Field(default=Decimal("0.8"), gt=0, le=1)

    # JWT (see app/core/security.py)
    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    jwt_private_key: str | None = None
    jwt_issuer: str = "bangkom"
    jwt_audience: str = "bangkom-api"
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    # How long a worker trusts its last look at a token's account (active, roles, password
    # change). Changes made by this worker apply at once; 0 looks the account up every request.
    auth_recheck_seconds: float = Field(default=5, ge=0, le=60)
    # Courses a worker keeps for GET /v1/courses/{id} on PostgreSQL, kept exact by the
    # database's notifications (app/services/course_cache.py); 0 reads every time.
    course_cache_size: int = Field(default=4096, ge=0, le=1_000_000)

    # Certificates (app/services/learning/certificate_keys.py): the ES256 key (PEM) that signs
    # them and its key id (default: derived from the public key). Unset outside production: a
    # key is generated once and kept in the database (table certificate_key), so it survives
    # restarts and every worker signs with the same one. Production refuses to start without.
    certificate_signing_key: str | None = None
    certificate_kid: str | None = Field(default=None, min_length=1, max_length=100)
    # The address people reach this service at: verification links and QR codes point there.
    public_url: str = "http://127.0.0.1:8000"
    # Where the DejaVu TTF fonts of certificate PDFs are (Debian: fonts-dejavu-core).
    certificate_font_dir: str = "/usr/share/fonts/truetype/dejavu"

    # Login throttling (app/services/auth.py): failures per account from one address, per
    # account from anywhere, per address; each within the window.
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    login_max_failures_per_account_address: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=100, ge=1)
    login_max_failures_per_address: int = Field(default=50, ge=1)
    # Integration clients (app/core/ratelimit.py): requests a minute unless a client has its
    # own limit; where counts live (memory:// per process, or redis://host:port/db shared).
    rate_limit_default_per_minute: int = Field(default=600, ge=1)
    rate_limit_storage: str = "memory://"
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or CIDRs,
    # comma-separated; '*' for any). Empty: believe none, the TCP peer is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # The yearly JP entitlement (app/services/learning/jp_reports.py): every PNS/CPNS has a
    # right to at least ``jp_floor`` JP of competency development a year (PP 11/2017 as
    # amended by PP 17/2020); PPPK staff are capped at ``pppk_jp_cap`` JP a contract year.
    # JP in steps of 0.5.
    jp_floor: Decimal = Field(default=Decimal(20), ge=0, le=10000, multiple_of=0.5)
    pppk_jp_cap: Decimal = Field(default=Decimal(24), ge=0, le=10000, multiple_of=0.5)

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        if isinstance(data, dict):
            for name in (
                "cors_origins",
                "trusted_proxies",
                "outbound_allowed_networks",
                "webhook_retry_delays",
            ):
                raw = data.get(name)
                if isinstance(raw, str):
                    data[name] = [o.strip() for o in raw.split(",") if o.strip()]
        return data

    @field_validator("outbound_allowed_networks")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return value

    @model_validator(mode="after")
    def _lease_outlasts_timeout(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError(
                "BANGKOM_WEBHOOK_LEASE_SECONDS must exceed BANGKOM_WEBHOOK_TIMEOUT_SECONDS"
            )
        return self

    @field_validator("certificate_signing_key")
    @classmethod
    def _ec_p256(cls, value: str | None) -> str | None:
        """An EC P-256 private key in PEM (ES256), checked at start rather than at first use."""
        if value is None:
            return None
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            key = serialization.load_pem_private_key(value.encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("not an unencrypted PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("ES256 needs an EC P-256 (secp256r1) private key")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def production_problems(self) -> list[str]:
        """Why this configuration must not serve production traffic (empty when fine)."""
        if self.env != "production":
            return []
        problems = []
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("BANGKOM_SECRET_KEY is the default or shorter than 32 characters")
        if self.demo_data:
            problems.append("BANGKOM_DEMO_DATA must be off in production")
        if not self.certificate_signing_key:
            problems.append(
                "BANGKOM_CERTIFICATE_SIGNING_KEY (an EC P-256 private key, PEM) is required"
            )
        if not self.public_url.startswith("https://"):
            problems.append("BANGKOM_PUBLIC_URL must be the https:// address certificates link to")
        if "*" in self.cors_origins:
            problems.append("BANGKOM_CORS_ORIGINS must not contain '*' in production")
        return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
