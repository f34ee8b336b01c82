"""Settings read from the environment and an optional `.env` file.

Every problem is reported as a `ConfigError` whose message is one line naming the
setting and where to get a good value; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

from bot.i18n import SUPPORTED_LANGUAGES

SLACK_APP_PAGE = "https://api.slack.com/apps"


class ConfigError(Exception):
    """A setting is missing or malformed. `str(error)` is a single line for the user."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    database_url: str
    api_url: str | None
    port: int
    default_language: str
    default_timezone: str
    data_dir: Path
    # Customer review links (day 2): where the app is reachable from a customer's phone,
    # the key that signs the links, and an optional SMTP server to email them.
    public_url: str = "http://localhost:3000"
    link_secret: str | None = None
    smtp_url: str | None = None
    mail_from: str | None = None

    def review_secret(self) -> str:
        """The key that signs customer review links: JOURNEYBOT_LINK_SECRET, else the Slack
        signing secret, else a random key kept in `.journeybot-link-secret` in the data
        directory (created on first use, readable by its owner only)."""
        if self.link_secret or self.signing_secret:
            return self.link_secret or self.signing_secret
        path = self.data_dir / ".journeybot-link-secret"
        if not path.exists():
            import secrets

            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text().strip()

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    @property
    def offline(self) -> bool:
        """No Slack credentials at all: only the built-in sandbox can be used."""
        return not self.bot_token

    def require_slack(self) -> None:
        """Raise a one-line ConfigError unless the settings can talk to a real Slack."""
        if not self.bot_token:
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) from "
                f"{SLACK_APP_PAGE} > your app > OAuth & Permissions into .env "
                "(or run `journeybot demo` to try the offline sandbox)."
            )
        if not self.socket_mode and not self.signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set: copy it from "
                f"{SLACK_APP_PAGE} > your app > Basic Information > App Credentials into .env "
                "(or set SLACK_APP_TOKEN to use Socket Mode)."
            )


def _env(name: str, environ: dict[str, str]) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def load_settings(environ: dict[str, str] | None = None, *, env_file: Path | None = None,
                  cwd: Path | None = None) -> Settings:
    """Read settings; `.env` in the working directory is loaded first (never overriding)."""
    cwd = cwd or Path.cwd()
    if environ is None:
        load_dotenv(env_file or cwd / ".env", override=False)
        environ = dict(os.environ)

    bot_token = _env("SLACK_BOT_TOKEN", environ)
    if bot_token and not bot_token.startswith("xoxb-"):
        raise ConfigError(
            "SLACK_BOT_TOKEN must start with 'xoxb-': use the Bot User OAuth Token from "
            f"{SLACK_APP_PAGE} > your app > OAuth & Permissions, not a user or app token."
        )
    app_token = _env("SLACK_APP_TOKEN", environ)
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN must start with 'xapp-': create an app-level token with the "
            f"connections:write scope at {SLACK_APP_PAGE} > your app > Basic Information."
        )

    database_url = _env("DATABASE_URL", environ) or f"sqlite:///{(cwd / 'journeybot.db')}"
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        raise ConfigError(
            f"DATABASE_URL {database_url.split('://')[0]!r} is not supported: use "
            "sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/dbname."
        )

    api_url = _env("SLACK_API_URL", environ)
    if api_url:
        if not re.match(r"^https?://", api_url):
            raise ConfigError(
                "SLACK_API_URL must be an http(s) URL ending in /api/, e.g. "
                "https://slack.com/api/ (the default) or https://slack-gov.com/api/."
            )
        if not api_url.endswith("/"):
            api_url += "/"

    port_text = _env("PORT", environ) or "3000"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT must be a number between 1 and 65535, not {port_text!r}.")

    language = (_env("JOURNEYBOT_LANGUAGE", environ) or "en").lower()
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigError(
            f"JOURNEYBOT_LANGUAGE must be one of {', '.join(SUPPORTED_LANGUAGES)}, not {language!r}."
        )
    timezone = _env("JOURNEYBOT_TIMEZONE", environ) or "Europe/Paris"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"JOURNEYBOT_TIMEZONE {timezone!r} is not a known IANA time zone "
            "(e.g. Europe/Paris, America/Montreal)."
        ) from None

    public_url = (_env("JOURNEYBOT_PUBLIC_URL", environ) or f"http://localhost:{port_text}")
    if not re.match(r"^https?://[^/\s]+", public_url):
        raise ConfigError(
            f"JOURNEYBOT_PUBLIC_URL must be an http(s) URL, e.g. https://journeybot.example.org, "
            f"not {public_url!r}.")
    smtp_url = _env("SMTP_URL", environ)
    if smtp_url and not re.match(r"^smtps?://", smtp_url):
        raise ConfigError("SMTP_URL must look like smtp://user:password@host:587 "
                          "(or smtps:// for TLS from the start).")

    return Settings(
        bot_token=bot_token,
        signing_secret=_env("SLACK_SIGNING_SECRET", environ),
        app_token=app_token,
        database_url=database_url,
        api_url=api_url,
        port=int(port_text),
        default_language=language,
        default_timezone=timezone,
        data_dir=cwd,
        public_url=public_url.rstrip("/"),
        link_secret=_env("JOURNEYBOT_LINK_SECRET", environ),
        smtp_url=smtp_url,
        mail_from=_env("JOURNEYBOT_MAIL_FROM", environ),
    )
