"""What listeners need, built once per process and handed to each `register(app, services)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bot.background import BackgroundWork, Coalescer
from bot.board_updates import BoardUpdates
from bot.config import Settings
from bot.languages import UserLanguages
from storage import Database, UnitOfWork


@dataclass
class Services:
    settings: Settings
    db: Database
    work: BackgroundWork
    languages: UserLanguages = field(default_factory=UserLanguages)
    refreshes: Coalescer = field(default_factory=Coalescer)
    boards: BoardUpdates | None = None  # set by build_app
    # --- schedule (bot/scheduling.py, bot/schedule_effects.py) ---
    # hook code (workflows.phases.HOOKS) → effect(PhaseEvent); other features plug in here
    phase_effects: dict[str, Callable[..., None]] = field(default_factory=dict)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    schedule: Any = None  # bot.scheduling.Scheduling, set by build_app

    def refresh_board(self, client, team_id: str, group_id: int) -> None:
        """Ask for the group's board message to catch up (coalesced, rate-aware)."""
        if self.boards is not None:
            self.boards.request(client, team_id, group_id)

    def uow(self, team_id: str, enterprise_id: str | None = None) -> UnitOfWork:
        return UnitOfWork(self.db.sessions, team_id, enterprise_id)
