"""Keeping every group's board message up to date without flooding Slack.

A burst of post-its produces a bounded number of `chat.update` calls:

- per board, at most one update every `interval` seconds (2 s by default), always rendered
  from the database at the time of the update, so the last one shows every post-it;
- across the workspace, `chat.update` is Slack's Tier 3 (about 50 calls a minute). Every
  board owns one reserved call. Updates while a board is busy use the free calls (the
  budget minus every board's reserve, minus a few spares). A board spends its own reserve
  on its final update, once it and the whole workspace have been quiet for `quiet`
  seconds (or the board alone for `settle` seconds), and gets it back when that call
  leaves Slack's one-minute window; a board that needs another final update after that
  uses a spare. (While 200 people post at their own pace, a board often pauses for a few
  seconds and then gets more: spending its reserve on every pause left the last boards
  waiting a minute for Slack's window.) So after a burst of any length every board can
  still be brought up to date within about `quiet` seconds of the last post-it, and we
  never get a 429. (Under a sustained load above the tier, boards fall behind by up to a
  minute: that is Slack's limit.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class CallBudget:
    """A sliding-window count of calls to one Web API method. The defaults keep a margin
    under Tier 3 (50 a minute): Slack counts a call when it arrives, we when we send it,
    and other features (kick-off counts, progress messages) use chat.update too."""

    def __init__(self, limit: int = 44, window: float = 62.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._calls: deque[float] = deque()

    def used(self, now: float) -> int:
        while self._calls and self._calls[0] <= now - self.window:
            self._calls.popleft()
        return len(self._calls)

    def take(self, now: float) -> None:
        self._calls.append(now)

    def next_free(self, now: float) -> float:
        self.used(now)
        return self._calls[0] + self.window if self._calls else now


@dataclass
class _Board:
    team_id: str
    group_id: int
    client: WebClient
    dirty: bool = False
    in_flight: bool = False
    last_update: float = float("-inf")
    last_request: float = float("-inf")
    reserve_spent_at: float = float("-inf")


class BoardUpdates:
    """Schedules board refreshes. `refresh(client, team_id, group_id)` does the actual
    rendering and `chat.update`; it runs on the shared worker pool."""

    def __init__(self, refresh: Callable[[WebClient, str, int], None], work, *,
                 interval: float = 2.0, quiet: float = 2.2, settle: float = 10.0,
                 budget: CallBudget | None = None,
                 board_count: Callable[[str], int] = lambda team_id: 0,
                 clock: Callable[[], float] = time.monotonic, max_in_flight: int = 4) -> None:
        self.refresh_board = refresh
        self.board_count = board_count  # boards in a workspace: each may need a final update
        self._counts: dict[str, tuple[float, int]] = {}
        self.work = work
        self.interval, self.quiet, self.settle, self.clock = interval, quiet, settle, clock
        # Boards rendered and sent at once. After a burst every board wants its final
        # update at the same moment; a few at a time finish sooner than 16 threads fighting
        # for the GIL, and don't open a dozen connections to Slack at once (a burst of
        # connects can overflow a listen backlog: 1 s lost per dropped SYN).
        self.max_in_flight = max_in_flight
        self.budget = budget or CallBudget(clock=clock)
        self._boards: dict[tuple[str, int], _Board] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def request(self, client: WebClient, team_id: str, group_id: int, *,
                start_thread: bool = True) -> None:
        """Ask for the board to show the latest state (cheap; safe from any thread)."""
        with self._wake:
            board = self._boards.get((team_id, group_id))
            if board is None:
                board = self._boards[(team_id, group_id)] = _Board(team_id, group_id, client)
            board.client = client
            board.last_request = self.clock()
            if board.dirty:
                # Already scheduled: the scheduler reads `last_request` when it wakes (at
                # the latest when the board is due). Waking it for every post-it of a burst
                # only made it rescan every board while the requests wait for the GIL.
                return
            board.dirty = True
            self.work.hold()  # lets the demo and tests wait for the final update
            if self._thread is None and start_thread:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="journeybot-boards")
                self._thread.start()
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()

    def _reserved(self, team_id: str, now: float) -> int:
        """Calls held in reserve: one per board of the workspace that hasn't spent its own
        within the window (boards not seen yet count too, through `board_count`)."""
        horizon = now - self.budget.window
        checked, count = self._counts.get(team_id, (float("-inf"), 0))
        if now - checked > 30:
            try:
                count = self.board_count(team_id)
            except Exception:  # noqa: BLE001 — the database is busy: keep the last count
                log.warning("could not count boards", exc_info=True)
            self._counts[team_id] = (now, count)
        boards = [b for b in self._boards.values() if b.team_id == team_id]
        spent = sum(1 for b in boards if b.reserve_spent_at > horizon)
        return max(len(boards), count) - spent

    def _run(self) -> None:
        with self._wake:
            while not self._stopped:
                wake = self._step()
                self._wake.wait(timeout=max(0.005, wake - self.clock()))

    def step(self) -> float:
        """One pass of the scheduler: start every update that is due and that the budget
        allows. Returns when to look again. (The background thread calls it in a loop.)"""
        with self._wake:
            return self._step()

    def _step(self) -> float:
        now = self.clock()
        wake = now + 0.25
        waiting = [b for b in self._boards.values() if b.dirty and not b.in_flight]
        in_flight = sum(1 for b in self._boards.values() if b.in_flight)
        team_last: dict[str, float] = {}  # each workspace's latest post-it
        for b in self._boards.values():
            team_last[b.team_id] = max(team_last.get(b.team_id, b.last_request), b.last_request)
        for board in sorted(waiting, key=lambda b: b.last_update):
            if in_flight >= self.max_in_flight:
                break  # `_refresh` wakes us when one is done
            due = board.last_update + self.interval
            if due > now:
                wake = min(wake, due)
                continue
            reserved = self._reserved(board.team_id, now)
            free = self.budget.limit - self.budget.used(now) - reserved
            spare = max(2, reserved // 4)  # second chances for boards gone quiet early
            quiet = now >= board.last_request + self.quiet
            settled = quiet and (now >= team_last[board.team_id] + self.quiet
                                 or now >= board.last_request + self.settle)
            holds_reserve = board.reserve_spent_at <= now - self.budget.window
            if free > spare:
                pass  # an update while the board is busy: free calls only
            elif settled and holds_reserve:
                board.reserve_spent_at = now  # the board's final update
                log.debug("board %s spends its reserve: quiet for %.2f s, free %d",
                          board.group_id, now - board.last_request, free)
            elif settled and free >= 1:
                pass  # its reserve is spent, but a spare call is left
            else:  # look again when that may have changed
                if not quiet:
                    later = board.last_request + self.quiet
                elif not settled:
                    later = min(team_last[board.team_id] + self.quiet,
                                board.last_request + self.settle)
                else:
                    later = self.budget.next_free(now)
                wake = min(wake, later)
                continue
            self.budget.take(now)
            board.dirty, board.in_flight = False, True
            in_flight += 1
            self.work.submit(self._refresh, board)
        return wake

    def _refresh(self, board: _Board) -> None:
        try:
            self.refresh_board(board.client, board.team_id, board.group_id)
        except SlackApiError as error:
            log.warning("board %s not updated: %s", board.group_id, error.response.get("error"))
        except Exception:
            log.exception("board %s not updated", board.group_id)
        finally:
            with self._wake:
                board.in_flight = False
                board.last_update = self.clock()
                self._wake.notify()
            self.work.release()
