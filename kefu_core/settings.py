"""One settings object, read from the environment (and a `.env` file)."""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kefu_core.hours import BusinessHours
from kefu_core.paths import var_dir
from kefu_core.targets import ServiceTargets

PLACEHOLDERS = {"", "change-me", "changeme", "secret", "dev"}
# uvicorn's own default: a reverse proxy on the same host may say who the client is (X-Forwarded-For).
TRUSTED_PROXIES_DEFAULT = "127.0.0.1"


def new_encryption_key() -> str:
    """A fresh Fernet key: 32 random bytes, url-safe base64 (what KEFU_ENCRYPTION_KEY holds)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _dev_secret(name: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """A random secret kept under var/ so a development install survives restarts."""
    path = var_dir() / "secrets.json"
    # Workers and threads starting together must agree on one secret, and none may read the file
    # half-written: the first one writes under the lock, by rename, and the others read its value.
    with (path.parent / "secrets.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        if name not in stored:
            stored[name] = make()
            fresh = path.with_suffix(".tmp")
            fresh.touch(mode=0o600)
            fresh.chmod(0o600)
            with fresh.open("w") as out:
                out.write(json.dumps(stored))
                out.flush()
                os.fsync(out.fileno())  # renamed over the old file only once it is on disk
            os.replace(fresh, path)
    return stored[name]


# The settings that give a language its own FAQ embedding model (`Settings.language_embedding_models`).
LANGUAGE_MODEL_VARIABLES = {"zh": "KEFU_EMBEDDING_MODEL_ZH"}


def sentence_model_problem(path: Path) -> str | None:
    """Why `path` is not a local sentence-transformers model folder, or None when it looks like one."""
    if not path.exists():
        return "no such folder"
    if not path.is_dir():
        return "not a folder"
    if not (path / "modules.json").is_file():
        return "not a sentence-transformers model folder (it has no modules.json; save one with .save(path))"
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"its modules.json is unreadable ({exc})"
    if not isinstance(modules, list) or not modules:
        return "its modules.json lists no modules"
    return None


class SlaTarget(BaseModel):
    """Minutes allowed for one priority."""

    first_response_minutes: int = Field(gt=0)
    resolution_minutes: int = Field(gt=0)


DEFAULT_SLA = {
    "urgent": SlaTarget(first_response_minutes=15, resolution_minutes=4 * 60),
    "high": SlaTarget(first_response_minutes=60, resolution_minutes=8 * 60),
    "normal": SlaTarget(first_response_minutes=4 * 60, resolution_minutes=24 * 60),
    "low": SlaTarget(first_response_minutes=8 * 60, resolution_minutes=72 * 60),
}


class Settings(BaseSettings):
    """kefu configuration; every field can be set by an environment variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = Field(
        "development", validation_alias=AliasChoices("KEFU_ENV", "env")
    )
    database_url: str = Field("", validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    rasa_url: str = Field("http://127.0.0.1:5005", validation_alias=AliasChoices("RASA_URL", "rasa_url"))
    rasa_urls: str = Field(
        "",
        validation_alias=AliasChoices("RASA_URLS", "rasa_urls"),
        description="several Rasa replicas (comma-separated base URLs): each conversation keeps one while it "
        "is healthy and fails over to the next; empty: RASA_URL alone",
    )
    action_server_url: str = Field(
        "http://127.0.0.1:5055", validation_alias=AliasChoices("ACTION_SERVER_URL", "action_server_url")
    )
    secret_key: str = Field("", validation_alias=AliasChoices("KEFU_SECRET_KEY", "secret_key"))
    service_token: str = Field("", validation_alias=AliasChoices("KEFU_SERVICE_TOKEN", "service_token"))
    encryption_key: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_ENCRYPTION_KEY", "encryption_key"),
        description="Fernet keys (comma-separated) for secrets stored in the database: the first encrypts, "
        "all decrypt (rotation); required in production, generated under var/ in development",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO",
        validation_alias=AliasChoices("KEFU_LOG_LEVEL", "log_level"),
        description="crm_bridge's log level; emails and phone numbers are redacted at every level",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        validation_alias=AliasChoices("KEFU_LOG_FORMAT", "log_format"),
        description="text (one readable line) or json (one object per line, with request and conversation "
        "ids); personal data is redacted in both",
    )
    # Observability (README "Monitoring").
    metrics_token: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_METRICS_TOKEN", "metrics_token"),
        description="GET /metrics requires `Authorization: Bearer <this>` when set; required in production",
    )
    otel_endpoint: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_OTEL_ENDPOINT", "otel_endpoint"),
        description="OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318): traces on; empty: off",
    )
    trusted_proxies: str = Field(
        TRUSTED_PROXIES_DEFAULT,
        validation_alias=AliasChoices("KEFU_TRUSTED_PROXIES", "trusted_proxies"),
        description="proxies whose X-Forwarded-For gives the client address for rate limits (comma-separated "
        "addresses or networks, * for any, empty for none); the launcher passes it to uvicorn",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        validation_alias=AliasChoices("KEFU_MAX_BODY_BYTES", "max_body_bytes"),
        description="largest request body crm_bridge reads (413 past it, before authentication)",
    )
    max_import_bytes: int = Field(
        20 * 1_048_576,
        ge=1024,
        validation_alias=AliasChoices("KEFU_MAX_IMPORT_BYTES", "max_import_bytes"),
        description="largest knowledge-base import file (POST /api/v1/kb/import)",
    )
    rasa_token: str = Field(
        "",
        validation_alias=AliasChoices("RASA_TOKEN", "rasa_token"),
        description="sent to Rasa on every call (bot.rasa_server refuses requests without it); `kefu run` "
        "generates one per start",
    )
    # Rasa's SQL tracker store (bot/endpoints.yml reads the same variables): erasing a contact deletes its
    # conversations' tracker events there. No RASA_TRACKER_DB: crm_bridge does not know the store.
    rasa_tracker_dialect: str = Field("sqlite", validation_alias=AliasChoices("RASA_TRACKER_DIALECT"))
    rasa_tracker_host: str = Field("", validation_alias=AliasChoices("RASA_TRACKER_HOST"))
    rasa_tracker_db: str = Field("", validation_alias=AliasChoices("RASA_TRACKER_DB"))
    rasa_tracker_user: str = Field("", validation_alias=AliasChoices("RASA_TRACKER_USER"))
    rasa_tracker_password: str = Field("", validation_alias=AliasChoices("RASA_TRACKER_PASSWORD"))
    embedding_model: str = Field("", validation_alias=AliasChoices("KEFU_EMBEDDING_MODEL", "embedding_model"))
    embedding_model_zh: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_EMBEDDING_MODEL_ZH", "embedding_model_zh"),
        description="local sentence-transformers folder for Chinese FAQ search (empty: KEFU_EMBEDDING_MODEL)",
    )
    kb_open_quantile: float = Field(
        0.10,
        ge=0,
        lt=0.5,
        validation_alias=AliasChoices("KEFU_KB_OPEN_QUANTILE", "kb_open_quantile"),
        description="FAQ open-intent abstention: about the share of in-scope questions refused (0: off)",
        # 0.10 chosen on BANKING77 train-set dev splits (docs/decisions/0010-open-intent-abstention.md).
    )
    sentiment_backend: Literal["default", "transformers"] = Field(
        "default", validation_alias=AliasChoices("KEFU_SENTIMENT_BACKEND", "sentiment_backend")
    )
    sentiment_model_path: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_SENTIMENT_MODEL_PATH", "sentiment_model_path"),
        description="local Hugging Face sequence-classification model folder (transformers backend)",
    )
    rasa_timeout_s: float = Field(15.0, validation_alias=AliasChoices("KEFU_RASA_TIMEOUT", "rasa_timeout_s"))
    action_timeout_s: float = Field(
        10.0,
        gt=0,
        validation_alias=AliasChoices("KEFU_ACTION_TIMEOUT", "action_timeout_s"),
        description="seconds Rasa waits for the action server (bot/rasa_server.py reads the same variable)",
    )
    chat_wait_timeout_s: float = Field(
        30.0,
        gt=0,
        le=300,
        validation_alias=AliasChoices("KEFU_CHAT_WAIT_TIMEOUT", "chat_wait_timeout_s"),
        description="seconds POST /api/v1/chat waits for its queued turn before answering `pending: true`",
    )
    token_ttl_minutes: int = Field(
        720,
        ge=5,
        le=7 * 24 * 60,
        validation_alias=AliasChoices("KEFU_TOKEN_TTL_MINUTES", "token_ttl_minutes"),
    )
    # Sign-in protection (README "Security").
    login_max_failures: int = Field(
        5,
        ge=1,
        validation_alias=AliasChoices("KEFU_LOGIN_MAX_FAILURES", "login_max_failures"),
        description="failed sign-ins for one account name within the lock time before it is locked",
    )
    login_lock_minutes: int = Field(
        15,
        ge=1,
        validation_alias=AliasChoices("KEFU_LOGIN_LOCK_MINUTES", "login_lock_minutes"),
        description="how long a locked account name or address is refused (429 with Retry-After)",
    )
    login_address_max_failures: int = Field(
        30,
        ge=1,
        validation_alias=AliasChoices("KEFU_LOGIN_ADDRESS_MAX_FAILURES", "login_address_max_failures"),
        description="failed sign-ins from one client address, any account, within the lock time",
    )
    login_hash_concurrency: int = Field(
        2,
        ge=1,
        le=64,
        validation_alias=AliasChoices("KEFU_LOGIN_HASH_CONCURRENCY", "login_hash_concurrency"),
        description="password hashes (64 MiB of memory each) computed at once per worker",
    )
    audit_retention_days: int = Field(
        365,
        ge=1,
        le=36500,
        validation_alias=AliasChoices("KEFU_AUDIT_RETENTION_DAYS", "audit_retention_days"),
        description="days an audit-log entry is kept; an hourly job deletes older ones (docs/audit-log.md)",
    )
    # Reports (docs/reports.md).
    targets: ServiceTargets = Field(
        default_factory=ServiceTargets,
        validation_alias=AliasChoices("KEFU_TARGETS", "targets"),
        description='JSON, e.g. {"fcr": 0.95, "first_response_s": 180, "availability": 0.98}',
    )
    fcr_window_days: int = Field(
        7,
        ge=1,
        le=90,
        validation_alias=AliasChoices("KEFU_FCR_WINDOW_DAYS", "fcr_window_days"),
        description="days without a new conversation or reopen from the contact for first-contact resolution",
    )
    reports_max_days: int = Field(
        400,
        ge=1,
        le=3660,
        validation_alias=AliasChoices("KEFU_REPORTS_MAX_DAYS", "reports_max_days"),
        description="the longest period a report may cover",
    )
    follow_up_rating: int = Field(
        2,
        ge=0,
        le=5,
        validation_alias=AliasChoices("KEFU_FOLLOW_UP_RATING", "follow_up_rating"),
        description="a rating at or below this opens a follow-up ticket; 0 turns follow-ups off",
    )
    require_mfa: Literal["admin", "all", "none"] | None = Field(
        None,
        validation_alias=AliasChoices("KEFU_REQUIRE_MFA", "require_mfa"),
        description="who must use TOTP: admin (the production default), all, or none (development default)",
    )
    sla_policy: dict[str, SlaTarget] = Field(
        default_factory=lambda: dict(DEFAULT_SLA),
        validation_alias=AliasChoices("KEFU_SLA_POLICY", "sla_policy"),
        description='JSON: {"urgent": {"first_response_minutes": 15, "resolution_minutes": 240}, ...}',
    )
    public_docs: bool | None = Field(
        None,
        validation_alias=AliasChoices("KEFU_PUBLIC_DOCS", "public_docs"),
        description="serve /docs and /openapi.json; default: yes in development, no in production",
    )
    seed_demo: bool = Field(True, validation_alias=AliasChoices("KEFU_SEED_DEMO", "seed_demo"))
    # Escalation and the widget (docs/escalation.md).
    business_hours: str = Field(
        "24/7",
        validation_alias=AliasChoices("KEFU_BUSINESS_HOURS", "business_hours"),
        description='"24/7", or e.g. "Mon-Fri 09:00-18:00; Sat 10:00-14:00" in KEFU_TIMEZONE',
    )
    timezone: str = Field("UTC", validation_alias=AliasChoices("KEFU_TIMEZONE", "timezone"))
    escalation_keywords: str = Field(
        "", validation_alias=AliasChoices("KEFU_ESCALATION_KEYWORDS", "escalation_keywords")
    )
    negative_sentiment_threshold: float = Field(
        -0.7,
        ge=-1,
        le=0,
        validation_alias=AliasChoices("KEFU_NEGATIVE_SENTIMENT_THRESHOLD", "negative_sentiment_threshold"),
    )
    auto_assign: bool = Field(False, validation_alias=AliasChoices("KEFU_AUTO_ASSIGN", "auto_assign"))
    avg_handle_seconds: int = Field(
        300, ge=10, validation_alias=AliasChoices("KEFU_AVG_HANDLE_SECONDS", "avg_handle_seconds")
    )
    widget_sessions_per_minute: int = Field(
        60,
        ge=1,
        validation_alias=AliasChoices("KEFU_WIDGET_SESSIONS_PER_MINUTE", "widget_sessions_per_minute"),
        description="new anonymous widget sessions per client address per minute (per worker)",
    )
    customer_rate_per_minute: int = Field(
        60,
        ge=1,
        validation_alias=AliasChoices("KEFU_CUSTOMER_MESSAGES_PER_MINUTE", "customer_rate_per_minute"),
        description="messages one REST user_id or widget session may send per minute (per worker); more: 429",
    )
    ws_frames_per_minute: int = Field(
        600,
        ge=10,
        validation_alias=AliasChoices("KEFU_WS_FRAMES_PER_MINUTE", "ws_frames_per_minute"),
        description="frames one widget or agent WebSocket may send per minute; more are refused",
    )
    chat_first_response_seconds: int = Field(
        120,
        ge=10,
        validation_alias=AliasChoices("KEFU_CHAT_FIRST_RESPONSE_SECONDS", "chat_first_response_seconds"),
        description="live-chat first-response target; the agent console flags waits beyond it",
    )
    agent_away_seconds: int = Field(
        90, ge=10, validation_alias=AliasChoices("KEFU_AGENT_AWAY_SECONDS", "agent_away_seconds")
    )
    offline_reply_minutes: int = Field(
        240, ge=1, validation_alias=AliasChoices("KEFU_OFFLINE_REPLY_MINUTES", "offline_reply_minutes")
    )
    channel_keys: str = Field("", validation_alias=AliasChoices("KEFU_CHANNEL_KEYS", "channel_keys"))
    redis_url: str = Field("", validation_alias=AliasChoices("REDIS_URL", "redis_url"))
    redis_prefix: str = Field("kefu:", validation_alias=AliasChoices("KEFU_REDIS_PREFIX", "redis_prefix"))
    widget_token_ttl_minutes: int = Field(
        30 * 24 * 60,
        ge=5,
        validation_alias=AliasChoices("KEFU_WIDGET_TOKEN_TTL_MINUTES", "widget_token_ttl_minutes"),
    )
    # The job queue (huey; docs/decisions/0013-job-queue.md).
    jobs_backend: Literal["sqlite", "redis"] = Field(
        "sqlite",
        validation_alias=AliasChoices("KEFU_JOBS_BACKEND", "jobs_backend"),
        description="sqlite: a file under var/, nothing to run; redis: shared by workers on several machines",
    )
    jobs_sqlite_path: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_JOBS_SQLITE_PATH", "jobs_sqlite_path"),
        description="the SQLite queue file (default var/jobs.db)",
    )
    jobs_redis_url: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_JOBS_REDIS_URL", "jobs_redis_url"),
        description="the Redis queue (default REDIS_URL, else redis://127.0.0.1:6379/0)",
    )
    jobs_app_workers: int = Field(
        8,
        ge=0,
        le=32,
        validation_alias=AliasChoices("KEFU_JOBS_APP_WORKERS", "jobs_app_workers"),
        description="job worker threads inside crm_bridge (0: run `kefu jobs worker` processes instead)",
    )
    shutdown_timeout_s: float = Field(
        20.0,
        gt=0,
        le=600,
        validation_alias=AliasChoices("KEFU_SHUTDOWN_TIMEOUT", "shutdown_timeout_s"),
        description="after SIGTERM, seconds to finish in-flight turns, jobs and requests before exiting",
    )
    turn_attempts: int = Field(
        5,
        ge=1,
        le=20,
        validation_alias=AliasChoices("KEFU_TURN_ATTEMPTS", "turn_attempts"),
        description="tries to reach Rasa for one queued turn before the customer is told and agents flagged",
    )
    # Channels (issue 21): a channel whose settings are absent answers 404 on its webhook.
    telegram_bot_token: str = Field(
        "", validation_alias=AliasChoices("KEFU_TELEGRAM_BOT_TOKEN", "telegram_bot_token")
    )
    telegram_webhook_secret: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_TELEGRAM_WEBHOOK_SECRET", "telegram_webhook_secret"),
        description="the secret_token given to setWebhook (sent back in X-Telegram-Bot-Api-Secret-Token)",
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org",
        validation_alias=AliasChoices("KEFU_TELEGRAM_API_URL", "telegram_api_url"),
    )
    slack_bot_token: str = Field("", validation_alias=AliasChoices("KEFU_SLACK_BOT_TOKEN", "slack_bot_token"))
    slack_signing_secret: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_SLACK_SIGNING_SECRET", "slack_signing_secret"),
        description="the app's Signing Secret (Basic Information page): checks X-Slack-Signature",
    )
    slack_api_url: str = Field(
        "https://slack.com/api", validation_alias=AliasChoices("KEFU_SLACK_API_URL", "slack_api_url")
    )
    wecom_corp_id: str = Field("", validation_alias=AliasChoices("KEFU_WECOM_CORP_ID", "wecom_corp_id"))
    wecom_secret: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_WECOM_SECRET", "wecom_secret"),
        description="the 微信客服 app secret, for gettoken",
    )
    wecom_token: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_WECOM_TOKEN", "wecom_token"),
        description="the callback Token (signs msg_signature)",
    )
    wecom_aes_key: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_WECOM_AES_KEY", "wecom_aes_key"),
        description="the callback EncodingAESKey (43 characters)",
    )
    wecom_api_url: str = Field(
        "https://qyapi.weixin.qq.com", validation_alias=AliasChoices("KEFU_WECOM_API_URL", "wecom_api_url")
    )
    whatsapp_access_token: str = Field(
        "", validation_alias=AliasChoices("KEFU_WHATSAPP_ACCESS_TOKEN", "whatsapp_access_token")
    )
    whatsapp_phone_number_id: str = Field(
        "", validation_alias=AliasChoices("KEFU_WHATSAPP_PHONE_NUMBER_ID", "whatsapp_phone_number_id")
    )
    whatsapp_app_secret: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_WHATSAPP_APP_SECRET", "whatsapp_app_secret"),
        description="the Meta app secret: checks X-Hub-Signature-256",
    )
    whatsapp_verify_token: str = Field(
        "",
        validation_alias=AliasChoices("KEFU_WHATSAPP_VERIFY_TOKEN", "whatsapp_verify_token"),
        description="the Verify Token entered with the callback URL (hub.verify_token)",
    )
    whatsapp_api_url: str = Field(
        "https://graph.facebook.com/v21.0",
        validation_alias=AliasChoices("KEFU_WHATSAPP_API_URL", "whatsapp_api_url"),
    )
    turn_retry_delay_s: float = Field(
        2.0,
        gt=0,
        validation_alias=AliasChoices("KEFU_TURN_RETRY_DELAY", "turn_retry_delay_s"),
        description="seconds before the first retry of a turn; doubled after each failure",
    )

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{var_dir() / 'kefu.db'}"
        for name in ("secret_key", "service_token"):
            value = getattr(self, name)
            if value.strip().lower() in PLACEHOLDERS:
                if self.env == "production":
                    raise ValueError(
                        f"{name.upper()} must be set to a real secret when KEFU_ENV=production "
                        f"(env var KEFU_{name.upper()})"
                    )
                setattr(self, name, _dev_secret(name))
        if self.env == "production" and self.rasa_token.strip().lower() in PLACEHOLDERS:
            raise ValueError("RASA_TOKEN must be set to a real secret when KEFU_ENV=production")
        return self

    @model_validator(mode="after")
    def _encryption_keys_usable(self) -> Settings:
        if self.encryption_key.strip().lower() in PLACEHOLDERS:
            if self.env == "production":
                raise ValueError(
                    "KEFU_ENCRYPTION_KEY must be set when KEFU_ENV=production: one or more Fernet keys, "
                    "comma-separated (make one with `kefu secrets new-key`; see docs/secrets-at-rest.md)"
                )
            self.encryption_key = _dev_secret("encryption_key", new_encryption_key)
        for number, key in enumerate(self.encryption_keys, start=1):
            # Checked at start, not at the first sign-in; the message never shows the key itself.
            try:
                raw = base64.urlsafe_b64decode(key.encode())
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    f"KEFU_ENCRYPTION_KEY: key {number} is not a Fernet key (32 bytes in url-safe base64, "
                    "44 characters); make one with `kefu secrets new-key`"
                )
        return self

    @model_validator(mode="after")
    def _timeouts_agree(self) -> Settings:
        # crm_bridge must outwait Rasa's wait for the action server, or its retry of a turn would race the
        # late action's events into the tracker (issue 21).
        if self.rasa_timeout_s < self.action_timeout_s + 1:
            raise ValueError(
                f"KEFU_RASA_TIMEOUT ({self.rasa_timeout_s:g} s) must be at least KEFU_ACTION_TIMEOUT "
                f"({self.action_timeout_s:g} s) + 1 s"
            )
        return self

    @model_validator(mode="after")
    def _zh_model_usable(self) -> Settings:
        # Checked here, when the server starts, rather than at the first Chinese question.
        self.embedding_model_zh = self.embedding_model_zh.strip()
        if self.embedding_model_zh:
            problem = sentence_model_problem(Path(self.embedding_model_zh).expanduser())
            if problem:
                raise ValueError(f"KEFU_EMBEDDING_MODEL_ZH={self.embedding_model_zh!r}: {problem}")
            self.embedding_model_zh = str(Path(self.embedding_model_zh).expanduser())
        return self

    @model_validator(mode="after")
    def _sla_complete(self) -> Settings:
        missing = {"low", "normal", "high", "urgent"} - set(self.sla_policy)
        if missing:
            raise ValueError(f"KEFU_SLA_POLICY lacks priorities: {', '.join(sorted(missing))}")
        return self

    @model_validator(mode="after")
    def _hours_valid(self) -> Settings:
        BusinessHours.parse(self.business_hours, self.timezone)
        return self

    @model_validator(mode="after")
    def _metrics_guarded(self) -> Settings:
        # /metrics names queues, routes and failure counts: in production only the scraper reads them.
        if self.env == "production" and self.metrics_token.strip().lower() in PLACEHOLDERS:
            raise ValueError(
                "KEFU_METRICS_TOKEN must be set to a real secret when KEFU_ENV=production "
                "(the Prometheus scraper sends it as `Authorization: Bearer …`)"
            )
        return self

    @property
    def rasa_replicas(self) -> list[str]:
        """RASA_URLS split on commas, or [RASA_URL] when it is empty."""
        return [u.strip() for u in self.rasa_urls.split(",") if u.strip()] or [self.rasa_url]

    @property
    def encryption_keys(self) -> list[str]:
        """KEFU_ENCRYPTION_KEY split on commas: the first encrypts, every one decrypts."""
        return [k.strip() for k in self.encryption_key.split(",") if k.strip()]

    @property
    def keyword_list(self) -> list[str]:
        """KEFU_ESCALATION_KEYWORDS split on commas, lower-cased."""
        return [k.strip().lower() for k in self.escalation_keywords.split(",") if k.strip()]

    @property
    def channel_key_list(self) -> list[str]:
        """KEFU_CHANNEL_KEYS split on commas."""
        return [k.strip() for k in self.channel_keys.split(",") if k.strip()]

    @property
    def language_embedding_models(self) -> dict[str, str]:
        """Languages with their own FAQ embedding model (KEFU_EMBEDDING_MODEL_ZH), by language code."""
        return {"zh": self.embedding_model_zh} if self.embedding_model_zh else {}

    @property
    def jobs_redis(self) -> str:
        """The Redis URL of the job queue (KEFU_JOBS_REDIS_URL, else REDIS_URL, else the local server)."""
        return self.jobs_redis_url or self.redis_url or "redis://127.0.0.1:6379/0"

    @property
    def jobs_sqlite_file(self) -> Path:
        """The SQLite job-queue file (KEFU_JOBS_SQLITE_PATH, else var/jobs.db)."""
        return Path(self.jobs_sqlite_path).expanduser() if self.jobs_sqlite_path else var_dir() / "jobs.db"

    @property
    def telegram_configured(self) -> bool:
        """Both the bot token and the webhook secret are set."""
        return bool(self.telegram_bot_token.strip() and self.telegram_webhook_secret.strip())

    @property
    def slack_configured(self) -> bool:
        """Both the bot token and the signing secret are set."""
        return bool(self.slack_bot_token.strip() and self.slack_signing_secret.strip())

    @property
    def wecom_configured(self) -> bool:
        """The corp id, secret, callback token and EncodingAESKey are all set."""
        values = (self.wecom_corp_id, self.wecom_secret, self.wecom_token, self.wecom_aes_key)
        return all(v.strip() for v in values)

    @property
    def whatsapp_configured(self) -> bool:
        """The access token, phone number id, app secret and verify token are all set."""
        values = (
            self.whatsapp_access_token,
            self.whatsapp_phone_number_id,
            self.whatsapp_app_secret,
            self.whatsapp_verify_token,
        )
        return all(v.strip() for v in values)

    @property
    def mfa_policy(self) -> Literal["admin", "all", "none"]:
        """KEFU_REQUIRE_MFA, else admin in production and none in development."""
        if self.require_mfa is not None:
            return self.require_mfa
        return "admin" if self.env == "production" else "none"

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded default database."""
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
