"""Settings of a service, read from the environment with one prefix per service.

``ANSINH_HOUSEHOLDS_DATABASE_URL`` configures the households service only; a handful of
platform-wide values (broker address, data directory, secrets) may also be given once
without the service prefix, e.g. ``KAFKA_BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_PORTS = {
    "households": 8001,
    "employment": 8002,
    "insurance": 8003,
    "housing": 8004,
    "audit": 8005,
}


def default_data_dir() -> Path:
    return Path(os.environ.get("ANSINH_DATA_DIR", ".data")).resolve()


class ServiceSettings(BaseSettings):
    """Settings common to every service; each service subclasses it with its own prefix."""

    service_name: ClassVar[str] = ""
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 0
    database_url: str = ""
    data_dir: Path = Field(
        default_factory=default_data_dir, validation_alias=AliasChoices("ANSINH_DATA_DIR")
    )
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "ANSINH_KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_security_protocol: str = "PLAINTEXT"
    # Tansu has no idempotent producer; turn it on against Apache Kafka.
    kafka_enable_idempotence: bool = Field(
        False, validation_alias=AliasChoices("KAFKA_ENABLE_IDEMPOTENCE")
    )
    kafka_session_timeout_ms: int = Field(
        10_000, validation_alias=AliasChoices("KAFKA_SESSION_TIMEOUT_MS")
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    log_json: bool = True
    otel_exporter: Literal["none", "console", "otlp"] = Field(
        "none", validation_alias=AliasChoices("OTEL_TRACES_EXPORTER", "ANSINH_OTEL_EXPORTER")
    )
    otel_endpoint: str | None = Field(
        None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    jwt_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("ANSINH_JWT_SECRET"))
    jwks_url: str | None = Field(None, validation_alias=AliasChoices("ANSINH_JWKS_URL"))
    jwt_issuer: str = "ansinh-local"
    jwt_audience: str = "ansinh"
    pseudonym_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ANSINH_PSEUDONYM_SECRET")
    )
    households_api_url: str = Field(
        "http://127.0.0.1:8001", validation_alias=AliasChoices("ANSINH_HOUSEHOLDS_API_URL")
    )
    oidc_token_url: str | None = Field(None, validation_alias=AliasChoices("ANSINH_OIDC_TOKEN_URL"))
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    max_body_bytes: int = 1_000_000
    max_import_bytes: int = 200_000_000
    relay_batch_size: int = 500
    relay_poll_seconds: float = 1.0
    consumer_batch_size: int = 200
    consumer_max_attempts: int = 3
    consumer_retry_backoff_seconds: float = 0.2
    republish_on_start: bool = False
    run_consumers: bool = True
    run_relay: bool = True

    @field_validator("database_url", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        return value or ""

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or one SQLite file per service under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / (self.service_name + '.db')}"

    @property
    def effective_port(self) -> int:
        return self.port or SERVICE_PORTS[self.service_name]

    def secret_file(self, name: str) -> Path:
        return self.data_dir / "secrets" / name


def settings_class(service: str) -> type[ServiceSettings]:
    """A settings class for ``service`` reading ``ANSINH_<SERVICE>_*`` variables."""
    prefix = f"ANSINH_{service.upper()}_"
    return type(
        f"{service.title()}Settings",
        (ServiceSettings,),
        {
            "service_name": service,
            "model_config": SettingsConfigDict(
                env_prefix=prefix, extra="ignore", populate_by_name=True
            ),
            "__module__": __name__,
        },
    )
