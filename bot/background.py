"""The worker pool that runs everything slow after Slack has been acknowledged."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor


class BackgroundWork(ThreadPoolExecutor):
    """A thread pool that can tell when it has nothing left to do.

    Bolt runs lazy listeners on it. `wait_idle()` lets the demo and the tests wait for the
    work a request started, instead of sleeping.
    """

    def __init__(self, max_workers: int = 16) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="journeybot-work")
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._idle:
            self._pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def hold(self) -> None:
        """Count work that will be submitted later (e.g. a coalesced board update)."""
        with self._idle:
            self._pending += 1

    def release(self) -> None:
        self._done(None)

    def _done(self, _future: Future | None) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no submitted work is pending (work may submit more work)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)


class Coalescer:
    """Runs `refresh(key)` at most once at a time per key; requests arriving meanwhile
    are merged into one more run. A burst of N joins gives at most two message updates,
    and the last one always reflects the latest state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[object] = set()
        self._dirty: set[object] = set()

    def request(self, key: object, refresh) -> None:
        with self._lock:
            if key in self._running:
                self._dirty.add(key)
                return
            self._running.add(key)
        try:
            while True:
                refresh()
                with self._lock:
                    if key not in self._dirty:
                        self._running.discard(key)
                        return
                    self._dirty.discard(key)
        except BaseException:
            with self._lock:
                self._running.discard(key)
                self._dirty.discard(key)
            raise
