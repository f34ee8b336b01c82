"""Builds the Bolt app: settings, database, listeners, and the worker pool.

How acks stay fast
------------------
Slack gives an app 3 seconds to acknowledge. Bolt's default for HTTP
(`process_before_response=False`) runs the listener on a thread and polls for its ack
every few milliseconds, which costs ~11 ms per request and still runs slow work on the
request's thread pool. We set `process_before_response=True` and split every listener in
two: an *ack function* that only parses, validates and commits to the database (so what
was accepted is stored before Slack hears "ok"; modal errors go back inline in the same
response), and *lazy* functions that Bolt starts on `BackgroundWork` after the response is
built — every Web API call (modals, messages, uploads) happens there. The `/journey`
command is the one exception to the lazy split: its ack function hands the work to
`BackgroundWork` itself, so the hot path — a quick-add, stored and confirmed in the ack's
own text — does not pay for Bolt's copy of the request. Measured through the HTTP
endpoint, `/journey help` acks in well under a millisecond of app time.
The same app runs unchanged in Socket Mode.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.background import BackgroundWork
from bot.board_message import refresh_board
from bot.board_updates import BoardUpdates, CallBudget
from bot.config import Settings
from bot.customer_review import install as install_customer_effects
from bot.listeners import register
from bot.maps import install_map_effects
from bot.schedule_effects import install as install_schedule_effects
from bot.scheduling import Scheduling
from bot.services import Services
from storage import Database

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> WebClient:
    """A Web API client that waits out rate limits (429 + Retry-After) instead of failing."""
    kwargs = {"base_url": settings.api_url} if settings.api_url else {}
    client = WebClient(token=settings.bot_token, **kwargs)
    client.retry_handlers = [ConnectionErrorRetryHandler(max_retry_count=2),
                             RateLimitErrorRetryHandler(max_retry_count=5)]
    return client


def _board_count(services: Services, team_id: str) -> int:
    with services.uow(team_id) as uow:
        return uow.groups.board_count()


def build_app(settings: Settings, *, db: Database | None = None,
              work: BackgroundWork | None = None, board_interval: float = 2.0,
              board_quiet: float = 2.2, board_calls_per_minute: int | None = None,
              scheduler: bool = True) -> tuple[App, Services]:
    """`scheduler`: run the workshop clock (bot/scheduling.py); without it (tests, the demo)
    phases change only through the facilitator or `services.schedule.tick(now)`."""
    settings.require_slack()
    db = db or Database(settings.database_url)
    work = work or BackgroundWork()
    services = Services(settings=settings, db=db, work=work)
    services.boards = BoardUpdates(
        lambda client, team_id, group_id: refresh_board(services, client, team_id, group_id),
        work, interval=board_interval, quiet=board_quiet,
        budget=CallBudget(limit=board_calls_per_minute) if board_calls_per_minute else None,
        board_count=lambda team_id: _board_count(services, team_id))
    app = App(  # the token comes with `client`
        signing_secret=settings.signing_secret or "socket-mode-does-not-sign",
        client=web_client(settings),
        process_before_response=True,
        listener_executor=work,
        name="journeybot",
    )
    register(app, services)
    install_schedule_effects(services)  # other hooks: services.phase_effects[code] = effect
    install_map_effects(services)       # end of day 1 / day 2: maps and leadership summary
    install_customer_effects(services)  # day 2: invite, remind and thank the customers
    services.schedule = Scheduling(services, app.client, scheduler=scheduler).start()
    return app, services
