"""A whole Slack workspace on this machine: the sandbox Web API, the app behind its real
HTTP endpoint, and a driver playing Slack's side. Used by `journeybot demo` and the tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.app import build_app
from bot.config import Settings, load_settings
from bot.sandbox import SlackDriver, SlackSandbox
from bot.web import HttpServer, JourneybotWSGI


@dataclass
class OfflineSlack:
    database_url: str
    log_path: Path | None = None
    team_id: str = "T0SANDBOX"
    language: str = "en"
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    board_interval: float = 0.05  # short, so tests don't wait, yet bursts still coalesce
    board_quiet: float = 0.0
    # The sandbox enforces no rate tier unless asked (`sandbox.set_rate_limits(True)`), so
    # by default neither does the board updater; pass `real_rate_limits=True` to keep the
    # product's Tier 3 budget (the load benchmark does).
    real_rate_limits: bool = False
    # No workshop clock by default: tests and the demo move time with
    # `services.clock` and `services.schedule.tick(now)`; True runs the real scheduler.
    scheduler: bool = False

    def start(self) -> OfflineSlack:
        self.sandbox = SlackSandbox(team_id=self.team_id, log_path=self.log_path).start()
        base = load_settings({}, cwd=Path.cwd())
        self.settings: Settings = replace(
            base, bot_token="xoxb-sandbox", signing_secret=self.signing_secret, app_token=None,
            api_url=self.sandbox.api_url, database_url=self.database_url,
            default_language=self.language)
        self.app, self.services = build_app(
            self.settings, board_interval=self.board_interval, board_quiet=self.board_quiet,
            board_calls_per_minute=None if self.real_rate_limits else 100_000,
            scheduler=self.scheduler)
        self.server = HttpServer(JourneybotWSGI(self.app, self.services)).start()
        # Review links for customers without Slack point at this server.
        self.settings = replace(self.settings, public_url=self.server.url)
        self.services.settings = self.settings
        self.driver = SlackDriver(events_url=f"{self.server.url}/slack/events",
                                  signing_secret=self.signing_secret, sandbox=self.sandbox,
                                  team_id=self.team_id)
        return self

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every piece of work started by the requests so far has finished."""
        if not self.services.work.wait_idle(timeout):
            boards = {key: (b.dirty, b.in_flight) for key, b in
                      self.services.boards._boards.items() if b.dirty or b.in_flight}
            raise TimeoutError(f"background work did not finish: {self.services.work._pending}"
                               f" pending; boards dirty/in flight: {boards}")

    def stop(self) -> None:
        self.server.stop()
        self.services.schedule.stop()
        self.services.boards.stop()
        self.services.work.shutdown(wait=True)
        self.services.db.dispose()
        self.sandbox.stop()

    def __enter__(self) -> OfflineSlack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
