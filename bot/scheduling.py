"""The workshop clock: scheduled jobs that wake workshops up, and the catch-up on start.

How a phase changes by itself
-----------------------------
Each workshop's run (`workflows.phases.Run`) is stored with it (`workflows.schedule`). The
scheduler never changes a run: it only wakes a workshop up. For every event that
`workflows.phases.jobs(run, workshop_id)` lists (a phase's start or end, a reminder, a
nudge, the owner reminder...) there is one APScheduler job with that event's id
(`w{workshop}:{phase}:{kind}:{n}`), a date trigger at its time, and the module-level
function `wake_job(team_id, workshop_id)` (ids only, so it pickles). Whichever job fires,
`Scheduling.wake` loads the run, calls `Run.tick(now)`, records each transition under the
unique `(workshop_id, key)` constraint in the same transaction as the new run, commits, and
only then runs the hooks of what it recorded (`bot.schedule_effects`). A retried job, two
jobs at the same time, or two processes doing the same compute the same keys: the loser's
insert (or the run's version check) fails, it rolls back, re-reads the run and finds
nothing left to do. Each transition's effects therefore happen once. After every change
the workshop's jobs are re-planned: `add_job(..., replace_existing=True)` for each event
that is new or moved, and removal of every other job whose id starts with `w{workshop}:`.

Lateness
--------
Jobs live in the same database (`SQLAlchemyJobStore`, table `apscheduler_jobs`), so they
survive restarts. Lateness is judged in one place, `workflows.phases.missed_policy`, not
by APScheduler: jobs have `misfire_grace_time=None` (a late job still runs, however late)
and `coalesce=True` (one run however many run times it missed), and the handler decides
per transition: an announcement or a nudge more than 15 minutes late is skipped, a
reminder runs while its deadline is still ahead, effects (vote results, maps, digests...)
always run. When a process starts running the jobs (at start, or when it takes over), it
first ticks every workshop still running: what was missed runs once or is skipped, each
facilitator gets a DM listing what was skipped, and the jobs are re-planned.

Several processes
-----------------
APScheduler 3 does not support several schedulers processing one job store (each would run
the same due jobs and they would race to delete them). So one process at a time runs the
jobs, elected through the database: a lease row (`scheduler_lease`, `storage.lease`) held
for `LEASE_SECONDS` and renewed every `RENEW_SECONDS` by a small thread. Every process
starts its own `BackgroundScheduler` on the shared job store, the lease holder's running
and the others' *paused*: a paused scheduler still writes jobs (whichever process handles
a facilitator's click re-plans that workshop's jobs in the shared table) but never runs
any. The holder's renewal thread also wakes its scheduler up, so jobs written by another
process are seen within `RENEW_SECONDS`. A process that stops cleanly releases the lease; a
process that dies lets it expire, and the next renewal elsewhere takes over, catches up,
then resumes its scheduler. Should two processes briefly both believe they hold the lease
(one stalled past its expiry), nothing happens twice: the transition keys decide.
Without a scheduler (`build_app(..., scheduler=False)`: tests, the demo) nothing fires by
itself; `Scheduling.tick(now)` moves every workshop to `now` explicitly.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient

from bot.schedule_effects import PhaseEvent, tell_skipped
from bot.services import Services
from storage import lease
from storage.db import make_engine
from storage.errors import Conflict
from storage.repositories import workspaces
from workflows import schedule
from workflows.phases import DEFAULT_GRACE, jobs
from workflows.problems import NotFound
from workflows.schedule import Change

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
LEASE_NAME = "scheduler"
LEASE_SECONDS = 30.0
RENEW_SECONDS = 10.0
ATTEMPTS = 5
UTC = timezone.utc
T = TypeVar("T")

_runners: list[Scheduling] = []
_runners_lock = threading.Lock()


def wake_job(team_id: str, workshop_id: int) -> None:
    """The APScheduler job: wake one workshop up in the process that runs the jobs."""
    with _runners_lock:
        runner = next((r for r in _runners if r.leading), None)
    if runner is None:
        log.info("job for workshop %s fired in a process that does not lead; ignored",
                 workshop_id)
        return
    with runner.in_flight:
        runner.wake(team_id, workshop_id)


class _InFlight:
    """Counts running jobs, so `stop` can wait for them without holding APScheduler's
    locks (its `shutdown(wait=True)` holds the job store lock that a running job's
    re-planning needs)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *exc) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=timeout)


def write(services: Services, team_id: str, change: Callable[..., T]) -> T:
    """Run `change(uow)` and commit, again with a fresh unit of work on `Conflict` (another
    writer recorded the same transition or stored a newer run meanwhile)."""
    for attempt in range(ATTEMPTS):
        try:
            with services.db.writing(), services.uow(team_id) as uow:
                result = change(uow)
                uow.commit()
                return result
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise
            log.info("schedule write conflict (attempt %d); reading again", attempt + 1)
    raise AssertionError("unreachable")


class _SharedJobStore(SQLAlchemyJobStore):
    """The SQLAlchemy job store, tolerant of other processes writing the same table: a job
    another process already removed (re-planning) is not an error when this scheduler
    removes it after running it, and an update of a job removed meanwhile inserts it."""

    def remove_job(self, job_id):
        with contextlib.suppress(JobLookupError):
            super().remove_job(job_id)

    def update_job(self, job):
        try:
            super().update_job(job)
        except JobLookupError:
            super().add_job(job)


class Scheduling:
    """This process's side of the workshop clock (see the module docstring).

    `scheduler=False`: no APScheduler, no lease; time moves only through `tick` / `wake`.
    """

    def __init__(self, services: Services, client: WebClient, *, scheduler: bool = True,
                 lease_seconds: float = LEASE_SECONDS, renew_seconds: float = RENEW_SECONDS,
                 grace: timedelta = DEFAULT_GRACE, holder: str | None = None) -> None:
        self.services = services
        self.client = client
        self.enabled = scheduler
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.grace = grace
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.scheduler: BackgroundScheduler | None = None
        self._leading = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._plan_lock = threading.Lock()
        self._lead_lock = threading.Lock()
        self.in_flight = _InFlight()

    # --- life cycle -------------------------------------------------------------------------

    @property
    def leading(self) -> bool:
        """Whether this process runs the scheduled jobs now."""
        return self._leading

    def start(self) -> Scheduling:
        """Start the (paused) scheduler on the shared job store, try to take the lease at
        once (catching up if it does), and keep renewing it in the background."""
        if not self.enabled or self.scheduler is not None:
            return self
        url = self.services.settings.database_url
        store = _SharedJobStore(engine=make_engine(url), tablename=JOB_TABLE)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": store},
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 4},
            timezone=UTC)
        self.scheduler.start(paused=True)
        with _runners_lock:
            _runners.append(self)
        self._renew()
        self._thread = threading.Thread(target=self._keep_lease, name="journeybot-lease",
                                        daemon=True)
        self._thread.start()
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop renewing, stop the scheduler (waiting for running jobs), give the lease up."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.renew_seconds + 5)
        with _runners_lock:
            if self in _runners:
                _runners.remove(self)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            if not self.in_flight.wait(timeout=30):
                log.warning("scheduled jobs still running at stop")
        with self._lead_lock:
            if self._leading:
                self._leading = False
                lease.release(self.services.db.sessions, LEASE_NAME, self.holder)

    def _keep_lease(self) -> None:
        while not self._stopping.wait(self.renew_seconds):
            self._renew()

    def _renew(self) -> None:
        with self._lead_lock:
            if self._stopping.is_set() or self.scheduler is None:
                return
            try:
                holds = lease.acquire(self.services.db.sessions, LEASE_NAME, self.holder,
                                      seconds=self.lease_seconds)
            except Exception:  # noqa: BLE001 — the database is away: stop leading
                log.exception("could not renew the scheduler lease")
                holds = False
            if holds and not self._leading:
                log.info("this process now runs the workshop schedules (%s)", self.holder)
                self._leading = True
                try:
                    self.catch_up()
                finally:
                    self.scheduler.resume()
            elif not holds and self._leading:
                log.warning("scheduler lease lost: another process runs the schedules")
                self._leading = False
                self.scheduler.pause()
            elif holds:
                self.scheduler.wakeup()  # see jobs other processes wrote meanwhile

    # --- moving time ------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.services.clock()

    def wake(self, team_id: str, workshop_id: int, now: datetime | None = None
             ) -> Change | None:
        """Move one workshop to `now`: record what is due, run its hooks, re-plan its jobs.
        Returns what changed (None if the workshop is gone)."""
        now = now or self.now()
        try:
            change = write(self.services, team_id,
                           lambda uow: schedule.tick(uow, workshop_id, now, grace=self.grace))
        except NotFound:
            self.unplan(workshop_id)
            return None
        self.after(team_id, change, now)
        return change

    def tick(self, now: datetime | None = None) -> list[Change]:
        """Move every workshop still running (in every workspace) to `now`. A workshop
        without a stored run (created before the schedule existed) gets one silently."""
        now = now or self.now()
        with self.services.db.sessions() as session:
            teams = workspaces(session)
        changes = []
        for team_id in teams:
            with self.services.uow(team_id) as uow:
                running, older = uow.schedule.running(), uow.schedule.unscheduled()
            for workshop_id in older:  # workshops from before the schedule: no flood of
                try:                    # late messages, just their run as of now
                    write(self.services, team_id,
                          lambda uow, w=workshop_id: schedule.adopt(uow, w, now))
                    self.replan(team_id, workshop_id)
                except Exception:  # noqa: BLE001
                    log.exception("could not give workshop %s its schedule", workshop_id)
            for workshop_id in running:
                try:
                    change = self.wake(team_id, workshop_id, now)
                except Exception:  # noqa: BLE001 — one workshop must not stop the others
                    log.exception("could not wake workshop %s", workshop_id)
                    continue
                if change is not None:
                    changes.append(change)
        return changes

    catch_up = tick

    def after(self, team_id: str, change: Change, now: datetime | None = None) -> None:
        """After a committed change: run the hooks of what fired, tell the facilitators what
        was skipped, re-plan the jobs."""
        self.fire(team_id, change, now or self.now())
        self.replan(team_id, change.workshop_id)

    def fire(self, team_id: str, change: Change, now: datetime) -> None:
        effects = self.services.phase_effects
        for applied in change.fired:
            transition = applied.transition
            for hook in transition.hooks:
                effect = effects.get(hook)
                if effect is None:
                    log.info("no effect registered for hook %r (%s, workshop %s): skipped",
                             hook, transition.key, change.workshop_id)
                    continue
                event = PhaseEvent(self.services, self.client, team_id, change.workshop_id,
                                   hook, transition, change.run,
                                   late=now - transition.at > self.grace)
                try:
                    effect(event)
                except Exception:  # noqa: BLE001 — the other hooks still run
                    log.exception("hook %s failed for %s (workshop %s)", hook, transition.key,
                                  change.workshop_id)
        if change.skipped:
            try:
                tell_skipped(self.services, self.client, team_id, change.workshop_id,
                             [a.transition for a in change.skipped])
            except Exception:  # noqa: BLE001
                log.exception("could not tell the facilitators what was skipped")

    # --- jobs -------------------------------------------------------------------------------

    def planned(self, workshop_id: int) -> dict[str, datetime]:
        """This workshop's jobs in the job store: {job id: run time}."""
        if self.scheduler is None or not self.scheduler.running:
            return {}
        prefix = f"w{workshop_id}:"
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()
                if job.id.startswith(prefix)}

    def replan(self, team_id: str, workshop_id: int) -> None:
        """Make the job store hold exactly the workshop's upcoming events."""
        if self.scheduler is None or not self.scheduler.running:
            return
        with self.services.uow(team_id) as uow:
            run = schedule.run_of(uow, workshop_id)
        wanted = jobs(run, workshop_id)
        with self._plan_lock:
            existing = self.planned(workshop_id)
            for job in wanted:
                if existing.get(job.id) != job.at:
                    self.scheduler.add_job(
                        wake_job, "date", run_date=job.at, args=[team_id, workshop_id],
                        id=job.id, name=f"{job.phase} {job.kind}", replace_existing=True,
                        misfire_grace_time=None, coalesce=True)
            for job_id in set(existing) - {job.id for job in wanted}:
                self.scheduler.remove_job(job_id)

    def unplan(self, workshop_id: int) -> None:
        if self.scheduler is None or not self.scheduler.running:
            return
        with self._plan_lock:
            for job_id in self.planned(workshop_id):
                self.scheduler.remove_job(job_id)
