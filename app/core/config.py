"""Settings from the environment (prefix ``BANGKOM_``), validated once at start."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, model_validator
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

    # Login throttling (app/services/auth.py): failures per account from one address, per
    # account from anywhere, per address; each within the window.
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    login_max_failures_per_account_address: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=100, ge=1)
    login_max_failures_per_address: int = Field(default=50, ge=1)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or CIDRs,
    # comma-separated; '*' for any). Empty: believe none, the TCP peer is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        if isinstance(data, dict):
            for name in ("cors_origins", "trusted_proxies"):
                raw = data.get(name)
                if isinstance(raw, str):
                    data[name] = [o.strip() for o in raw.split(",") if o.strip()]
        return data

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
        if "*" in self.cors_origins:
            problems.append("BANGKOM_CORS_ORIGINS must not contain '*' in production")
        return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
