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

    # Rasa: managed as a child process unless RASA_URL points at a running server.
    rasa_url: str | None = None
    rasa_token: SecretStr | None = None
    rasa_port: int = 5005
    rasa_venv: Path = PROJECT_DIR / ".venv-rasa"
    rasa_model: Path = PROJECT_DIR / "models" / "current.tar.gz"
    rasa_project_dir: Path = PROJECT_DIR
    rasa_credentials: Path = PROJECT_DIR / "credentials.yml"
    rasa_timeout_seconds: float = 10.0
    rasa_start_timeout_seconds: float = 180.0
    rasa_restart_delay_seconds: float = 2.0

    bot_api_token: SecretStr | None = None
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
    def telegram_secret(self) -> str:
        """The webhook's secret token: set, or derived from the bot token, so that every
        replica agrees on it without one more secret to distribute."""
        if self.telegram_webhook_secret is not None:
            return self.telegram_webhook_secret.get_secret_value()
        assert self.telegram_bot_token is not None
        token = self.telegram_bot_token.get_secret_value().encode()
        return hmac.new(token, b"telegram-webhook-secret", hashlib.sha256).hexdigest()
