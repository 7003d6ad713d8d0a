"""Settings every ClaimFlow service shares, read from ``CLAIMFLOW_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Configuration of one service process (API or worker). Subclasses set ``service_name``."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_", env_file=None, extra="ignore")

    service_name: str = "claimflow"
    environment: str = Field(default="embedded", description="embedded | development | production")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/claimflow.db",
        description="SQLAlchemy async URL of this service's own database.",
    )
    directory_url: str = Field(
        default="sqlite+aiosqlite:///var/directory.db",
        description="Tenant directory (tenants, practices, API keys) shared by all services, read-mostly.",
    )
    database_pool_size: int = 10
    auto_migrate: bool = Field(default=False, description="Apply Alembic migrations when the process starts.")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_idempotent_producer: bool = Field(
        default=True, description="On for Apache Kafka; the embedded broker cannot do the idempotence handshake."
    )
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_request_timeout_ms: int = 15000

    jwt_secret: SecretStr = Field(
        default=SecretStr("change-me-embedded-only-secret-0123456789"),
        description="HMAC key for OAuth2 access tokens; must be set in production.",
    )
    jwt_issuer: str = "claimflow"
    ops_token: SecretStr | None = Field(
        default=None,
        description="Installation-level token of the /ops endpoints and the ops view (Bearer); unset disables them.",
    )
    access_token_ttl_seconds: int = 3600

    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_poll_interval_seconds: float = Field(default=0.1, gt=0)
    outbox_lease_seconds: float = Field(default=30.0, ge=0)
    outbox_replay_window_seconds: int = Field(
        default=86400, description="How far back to re-publish when the broker is found to have lost its data."
    )
    broker_check_interval_seconds: float = Field(default=5.0, gt=0)
    outbox_retention_seconds: int = Field(
        default=7 * 86400, description="Sent outbox rows older than this are deleted (keep >= the replay window)."
    )
    inbox_retention_seconds: int = Field(
        default=14 * 86400, description="Inbox rows older than this are deleted (keep > the topics' retention)."
    )
    housekeeping_interval_seconds: float = Field(default=3600.0, gt=0)

    consumer_max_retries: int = Field(default=3, ge=0)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    consumer_batch_size: int = Field(default=200, ge=1)
    consumer_commit_interval_seconds: float = Field(
        default=0.5, ge=0, description="Offsets handled are committed at most this often (and when idle)."
    )
    lag_report_interval_seconds: float = Field(default=5.0, gt=0)

    gc_threshold: int = Field(
        default=50_000,
        ge=0,
        description="Allocations between young garbage collections once started (Python's default is 700); 0 keeps it.",
    )

    log_level: str = "INFO"
    log_json: bool = True
    worker_metrics_port: int = Field(default=0, description="Port of the worker's /metrics; 0 disables it.")

    @property
    def source(self) -> str:
        """CloudEvents ``source`` attribute of the events this service publishes."""
        return f"/claimflow/{self.service_name}"

    @property
    def is_sqlite(self) -> bool:
        """True when this service's database is SQLite (embedded mode)."""
        return self.database_url.startswith("sqlite")
