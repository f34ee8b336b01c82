"""The board updater under a fake clock: bounded updates, no 429, every board ends current."""

from __future__ import annotations

import random
import threading

from bot.board_updates import BoardUpdates, CallBudget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class InlineWork:
    """Runs submitted work at once; the scheduler's lock is re-entrant for this test."""

    def hold(self) -> None: ...
    def release(self) -> None: ...
    def submit(self, fn, *args):
        fn(*args)


def make(clock: Clock, calls: list, boards: int) -> BoardUpdates:
    updates = BoardUpdates(lambda client, team, group: calls.append((clock.now, group)),
                           InlineWork(), interval=2.0, quiet=2.2, clock=clock,
                           budget=CallBudget(clock=clock), board_count=lambda team: boards)
    updates._wake = threading.Condition(threading.RLock())
    return updates


def run_until(updates: BoardUpdates, clock: Clock, until: float, step: float = 0.05) -> None:
    while clock.now < until:
        updates.step()
        clock.now += step


def assert_in_tier_and_current(updates: BoardUpdates, clock: Clock, calls: list,
                               last_post: dict[int, float]) -> None:
    """After the last post: never more than the budget in any 62 s window (Tier 3:
    50/min), every board ends current, within 3 s of the last post."""
    end = clock.now
    run_until(updates, clock, end + 5)
    for t, _ in calls:
        assert sum(1 for u, _ in calls if t - 62 < u <= t) <= 44
    finals = {g: max(t for t, gg in calls if gg == g) for g in last_post}
    assert all(finals[g] >= last_post[g] for g in last_post)
    assert max(finals.values()) - end <= 3.0


def test_a_long_burst_on_34_boards_stays_in_tier_and_ends_current():
    clock, calls = Clock(), []
    updates = make(clock, calls, 34)
    last_post: dict[int, float] = {}
    while clock.now < 40:  # 40 s of posts: every board, every 0.3 s
        for group in range(34):
            updates.request(None, "T", group, start_thread=False)
            last_post[group] = clock.now
        run_until(updates, clock, clock.now + 0.3)
    assert_in_tier_and_current(updates, clock, calls, last_post)


def test_a_quiet_board_is_updated_at_once_and_bursts_coalesce():
    clock, calls = Clock(), []
    updates = make(clock, calls, 3)
    updates.request(None, "T", 1, start_thread=False)
    updates.step()
    assert calls == [(0.0, 1)]
    for _ in range(50):  # a burst of 50 post-its in one second
        updates.request(None, "T", 1, start_thread=False)
        run_until(updates, clock, clock.now + 0.02)
    run_until(updates, clock, clock.now + 5)
    assert 2 <= len(calls) <= 3   # first, then at most one per 2 s, and the final one


def test_people_posting_at_their_own_pace_end_current_within_3_s():
    """200 people, 34 boards, each person posting 10 post-its with a think time of about a
    second (exponential: boards pause for a few seconds now and then, and get more):
    pauses don't spend a board's reserved final update, so none waits for Slack's window."""
    rng = random.Random(3)
    clock, calls = Clock(), []
    updates = make(clock, calls, 34)
    posts = []
    for person in range(200):  # starts within the first second, then thinks ~1 s a post
        at = rng.uniform(0, 1)
        for _ in range(10):
            posts.append((at, person % 34))
            at += rng.expovariate(1.0)
    posts.sort()
    last_post: dict[int, float] = {}
    for at, group in posts:
        run_until(updates, clock, at)
        updates.request(None, "T", group, start_thread=False)
        last_post[group] = clock.now
    assert_in_tier_and_current(updates, clock, calls, last_post)
