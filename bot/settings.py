"""One settings object for the whole app, read from the environment or ``.env``."""

import hashlib
import hmac
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of the app. Secrets are only ever read from the environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = Field(
        default=None, description="Base URL the app is reached at; defaults to http://host:port"
    )
    log_level: str = "INFO"
    log_json: bool = False

    database_url: str = f"sqlite+aiosqlite:///{PROJECT_DIR / 'var' / 'bot.db'}"
    # Production with several replicas: what they share (per-conversation order,
    # pushes to widgets and inboxes open on another replica, Telegram's update
    # isolation), e.g. redis://:password@redis:6379/0. Unset: one process.
    redis_url: SecretStr | None = None

    # Rasa: managed as child processes unless RASA_URL points at running servers
    # (several: comma-separated, one per Rasa process).
    rasa_url: str | None = None
    rasa_token: SecretStr | None = None
    rasa_port: int = 5005
    rasa_venv: Path = PROJECT_DIR / ".venv-rasa"
    rasa_model: Path = PROJECT_DIR / "models" / "current.tar.gz"
    rasa_project_dir: Path = PROJECT_DIR
    rasa_credentials: Path = PROJECT_DIR / "credentials.yml"
    rasa_timeout_seconds: float = 10.0  # a hung Rasa: counted once the turn has its slot
    rasa_workers: int = Field(default=1, ge=1, le=16, description="Rasa processes (managed)")
    rasa_in_flight: int = Field(default=8, ge=1, description="turns inside each Rasa at once")
    rasa_busy_notice_seconds: float = 5.0  # a turn queued this long: "one moment"
    # Where each Rasa keeps its dialogues (SQLAlchemy URL, e.g. postgresql://...);
    # unset, a SQLite file per Rasa process in this folder.
    rasa_tracker_store_url: SecretStr | None = None
    rasa_tracker_dir: Path = PROJECT_DIR / "var"
    rasa_start_timeout_seconds: float = 180.0
    rasa_restart_delay_seconds: float = 2.0

    bot_api_token: SecretStr | None = None  # the ops API and /metrics
    chat_api_token: SecretStr | None = None  # POST /api/v1/chat, for the business's servers
    # The console's cookie sessions are encrypted with this key (32 bytes, urlsafe
    # base64: Fernet's); unset, a random one per start signs everyone out on restart.
    console_secret_key: SecretStr | None = None

    # Telegram: on when the token is set; long polling unless a webhook URL is given.
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str | None = Field(
        default=None, description="a self-hosted Bot API server, e.g. http://127.0.0.1:8081"
    )
    telegram_webhook_url: str | None = Field(
        default=None, description="public https URL Telegram posts updates to (webhook mode)"
    )
    telegram_webhook_secret: SecretStr | None = None
    telegram_throttle_messages: int = 20  # per chat, within the window below
    telegram_throttle_seconds: float = 60.0
    web_throttle_messages: int = 20  # per widget visitor, within the window below
    web_throttle_seconds: float = 60.0
    # per network address over all its widget visitors (an office behind one NAT)
    address_throttle_messages: int = 120
    address_throttle_seconds: float = 60.0
    rate_limit_storage_url: str = Field(
        default="async+memory://",
        description="limits' storage: async+memory:// (this process) or async+redis://host:6379/0",
    )
    # Addresses of the TLS proxies in front of the app: from them, the client's
    # address is the last hop of X-Forwarded-For.
    trusted_proxies: list[str] = Field(default_factory=list)
    telegram_reps_chat_id: int | None = Field(
        default=None, description="the sales reps' group: handoff cards, replies to prospects"
    )

    # Human handoff: nobody took it after this long, the reps' group is reminded;
    # after this long, the prospect is told honestly and offered a call-back.
    handoff_escalate_minutes: float = 5.0
    handoff_give_up_minutes: float = 30.0

    business_profile: str = Field(
        default="car_dealer", description="a profile in profiles/ (car_dealer, software) or a path"
    )

    default_language: str = "en"
    max_message_chars: int = 4000
    max_request_bytes: int = 64 * 1024
    # Rasa posts the whole tracker and domain to the action webhook: a long
    # conversation easily passes 64 KiB, so that one route gets more room.
    max_action_request_bytes: int = 16 * 1024 * 1024
    followup_interval_seconds: float = 15.0  # how often due reminders and nudges are sent

    @model_validator(mode="after")
    def _external_rasa_needs_its_token(self) -> "Settings":
        """An external Rasa only answers with its token; say so at start, not on every reply."""
        if self.rasa_url and self.rasa_token is None:
            raise ValueError("RASA_TOKEN is required when RASA_URL is set")
        return self

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def rasa_managed(self) -> bool:
        return self.rasa_url is None

    @property
    def rasa_urls(self) -> list[str]:
        """The running Rasa servers: RASA_URL's, or the managed processes' ports."""
        if self.rasa_url is not None:
            return [url.strip() for url in self.rasa_url.split(",") if url.strip()]
        return [f"http://127.0.0.1:{self.rasa_port + n}" for n in range(self.rasa_workers)]

    @property
    def rasa_trackers(self) -> list[str]:
        """Each Rasa's tracker store, when the app knows it (it runs them, or was told)."""
        configured = self.rasa_tracker_store_url
        if configured is not None:
            return [configured.get_secret_value()] * len(self.rasa_urls)
        if not self.rasa_managed:
            return []
        return [f"sqlite:///{self.rasa_tracker_dir / f'rasa-trackers-{n}.db'}"
                for n in range(self.rasa_workers)]  # fmt: skip

    @property
    def telegram_secret(self) -> str:
        """The webhook's secret token: set, or derived from the bot token, so that every
        replica agrees on it without one more secret to distribute."""
        if self.telegram_webhook_secret is not None:
            return self.telegram_webhook_secret.get_secret_value()
        assert self.telegram_bot_token is not None
        token = self.telegram_bot_token.get_secret_value().encode()
        return hmac.new(token, b"telegram-webhook-secret", hashlib.sha256).hexdigest()
