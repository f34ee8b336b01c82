"""The workshop clock (bot/scheduling.py, workflows/schedule.py) over a real SQLite file and
a fake Slack client: exactly-once transitions with two workers, a retried job, jobs that
survive a restart, the catch-up on start, the lease between processes, the effect
registry, phase gates and timetable edits (DST included). Time is driven explicitly; the
only real waits are one scheduler firing and one lease hand-over (well under a second)."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.background import BackgroundWork
from bot.config import load_settings
from bot.schedule_blocks import schedule_errors
from bot.schedule_effects import install
from bot.scheduling import Scheduling, write
from bot.services import Services
from storage import Database
from storage.models import Person, PhaseTransition, Role
from workflows import schedule
from workflows.phases import Run, Slot, Timetable, default_timetable, jobs
from workflows.problems import Invalid, WorkshopError
from workflows.schedule import ScheduleForm, edited_timetable, gate, local_days
from workflows.workshops import WorkshopDraft, create_workshop

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
TEAM = "T1"
MIN = timedelta(minutes=1)


class FakeSlack:
    """Records what the bot posts; answers like the Web API (channel + ts)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self._ts = itertools.count(1)
        self._lock = threading.Lock()

    def chat_postMessage(self, **kwargs):  # noqa: N802 (slack_sdk's name)
        with self._lock:
            self.calls.append(("chat.postMessage", kwargs))
            return {"ok": True, "channel": kwargs["channel"], "ts": f"{next(self._ts)}.0"}

    def chat_update(self, **kwargs):  # noqa: N802
        with self._lock:
            self.calls.append(("chat.update", kwargs))
            return {"ok": True, **kwargs}

    def posted(self, channel: str | None = None) -> list[dict]:
        return [k for m, k in self.calls if m == "chat.postMessage"
                and (channel is None or k["channel"] == channel)]

    def texts(self, channel: str | None = None) -> list[str]:
        return [k["text"] for k in self.posted(channel)]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def url(database_url: str) -> str:
    """A SQLite file, and PostgreSQL too when JOURNEYBOT_TEST_POSTGRES_URL is set."""
    return database_url


def make_services(url: str, clock: Clock | None = None) -> Services:
    settings = replace(load_settings({}, cwd=Path.cwd()), database_url=url)
    services = Services(settings=settings, db=Database(url), work=BackgroundWork(2))
    if clock is not None:
        services.clock = clock
    install(services)
    return services


@pytest.fixture
def runners(url):
    """Build Scheduling instances (each with its own Database, like separate processes);
    everything is stopped at the end."""
    made: list[Scheduling] = []

    def build(clock: Clock | None = None, *, scheduler: bool = False, **kwargs) -> Scheduling:
        services = make_services(url, clock)
        runner = Scheduling(services, FakeSlack(), scheduler=scheduler, **kwargs)
        services.schedule = runner
        made.append(runner)
        return runner

    yield build
    for runner in made:
        runner.stop()
        runner.services.work.shutdown(wait=True)
        runner.services.db.dispose()


def new_workshop(services: Services, day1: datetime, *, created: datetime,
                 tz: str = "Europe/Paris", participants: int = 0) -> int:
    draft = WorkshopDraft(name="Parcours", channel_id="CWORK", language="en", timezone=tz,
                          day1_start=day1, day2_start=day1 + timedelta(days=1))
    with services.uow(TEAM) as uow:
        workshop = create_workshop(uow, draft, creator="UFAC", creator_locale="en")
        workshop.created_at = created  # and its run, as if created then
        row, run = uow.schedule.get(workshop.id), schedule.initial_run(workshop)
        row.run, row.phase = run.to_dict(), run.phase
        for n in range(participants):
            uow.people.add(Person(workshop_id=workshop.id, user_id=f"UP{n}",
                                  role=Role.PARTICIPANT.value, department="cx"))
        uow.commit()
        return workshop.id


def transitions(services: Services, workshop_id: int) -> list[SimpleNamespace]:
    with services.uow(TEAM) as uow:
        return [SimpleNamespace(key=t.key, outcome=t.outcome, at=t.at)
                for t in uow.schedule.transitions(workshop_id)]


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


DAY1 = paris("2027-06-01T09:00")


# --- exactly once ----------------------------------------------------------------------------


def test_two_workers_waking_the_same_workshop_announce_the_kickoff_once(runners):
    clock = Clock(DAY1 + timedelta(seconds=5))
    first, second = runners(clock), runners(clock)
    workshop_id = new_workshop(first.services, DAY1, created=DAY1 - timedelta(days=10))
    barrier = threading.Barrier(2)

    def wake(runner):
        barrier.wait()
        runner.wake(TEAM, workshop_id)

    threads = [threading.Thread(target=wake, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    posted = first.client.posted("CWORK") + second.client.posted("CWORK")
    assert len([p for p in posted if "starts now" in p["text"]]) == 1
    keys = [t.key for t in transitions(first.services, workshop_id)]
    assert keys == ["preparation:end:1", "kickoff:start:1"]


def test_a_retried_job_finds_nothing_left_to_do(runners):
    clock = Clock(DAY1 + timedelta(seconds=5))
    runner = runners(clock)
    workshop_id = new_workshop(runner.services, DAY1, created=DAY1 - timedelta(days=10))
    assert runner.wake(TEAM, workshop_id).fired
    again = runner.wake(TEAM, workshop_id)
    assert again.applied == ()
    assert len(runner.client.posted("CWORK")) == 1


def test_the_same_key_twice_is_a_conflict_and_write_retries_with_fresh_state(runners):
    clock = Clock(DAY1 + timedelta(seconds=5))
    runner = runners(clock)
    workshop_id = new_workshop(runner.services, DAY1, created=DAY1 - timedelta(days=10))
    with runner.services.uow(TEAM) as stale:  # read before the other worker commits
        stale_run = schedule.run_of(stale, workshop_id)
        runner.wake(TEAM, workshop_id)
        _new, again = stale_run.tick(clock())
        from storage.errors import Conflict

        with pytest.raises(Conflict):
            stale.schedule.record(PhaseTransition(
                workshop_id=workshop_id, key=again[0].key, phase=again[0].phase,
                moment=again[0].moment, n=again[0].n, at=again[0].at, outcome="run"))
    calls = []

    def change(uow):
        calls.append(1)
        return schedule.tick(uow, workshop_id, clock())

    assert write(runner.services, TEAM, change).applied == ()
    assert len(calls) == 1


# --- the real scheduler: jobs in the job store, restarts, catch-up, lease ------------------------


def test_jobs_are_stored_and_survive_a_new_scheduler(runners):
    clock = Clock(DAY1 - timedelta(days=1))
    first = runners(clock, scheduler=True).start()
    workshop_id = new_workshop(first.services, DAY1, created=DAY1 - timedelta(days=10))
    first.wake(TEAM, workshop_id)  # stores the run and plans its jobs
    with first.services.uow(TEAM) as uow:
        run = schedule.run_of(uow, workshop_id)
    expected = {j.id: j.at for j in jobs(run, workshop_id)}
    assert first.planned(workshop_id) == expected
    assert f"w{workshop_id}:kickoff:start:1" in expected
    first.stop()

    second = runners(clock, scheduler=True).start()
    assert second.leading
    assert second.planned(workshop_id) == expected


def test_replanning_after_an_advance_removes_the_stale_jobs(runners):
    clock = Clock(DAY1 - timedelta(days=1))
    runner = runners(clock, scheduler=True).start()
    workshop_id = new_workshop(runner.services, DAY1, created=DAY1 - timedelta(days=10))
    runner.wake(TEAM, workshop_id)
    before = set(runner.planned(workshop_id))
    change = write(runner.services, TEAM, lambda uow: schedule.operate(
        uow, workshop_id, "UFAC", "advance", clock()))  # start now, a day early
    runner.after(TEAM, change)
    after = runner.planned(workshop_id)
    assert f"w{workshop_id}:kickoff:start:1" not in after  # already applied
    assert f"w{workshop_id}:kickoff:start:1" in before
    assert after == {j.id: j.at for j in jobs(change.run, workshop_id)}
    assert after[f"w{workshop_id}:kickoff:end:1"] == clock() + 30 * MIN


def test_on_start_a_missed_transition_runs_once_and_a_stale_one_is_skipped_and_told(runners):
    # The process stopped during the kick-off (09:00-09:30, reminder 09:20) and comes back
    # at 09:40: the reminder is 20 minutes late and its deadline passed (skip), the end and
    # the next phase's start are 10 minutes late (within the 15-minute grace: run).
    setup = runners(Clock(DAY1))
    workshop_id = new_workshop(setup.services, DAY1, created=DAY1 - timedelta(days=10))
    write(setup.services, TEAM, lambda uow: schedule.tick(uow, workshop_id, DAY1))

    clock = Clock(DAY1 + 40 * MIN)
    restarted = runners(clock, scheduler=True).start()  # catches up before returning
    assert restarted.leading
    client = restarted.client
    announced = [t for t in client.texts("CWORK") if "Group formation" in t]
    assert len(announced) == 1
    dm = [t for t in client.texts("UFAC") if "skipped" in t]
    assert len(dm) == 1 and "• reminder — Kick-off" in dm[0]
    assert any("/journey groups" in t for t in client.texts("UFAC"))  # suggest_groups ran
    outcomes = {t.key: t.outcome for t in transitions(restarted.services, workshop_id)}
    assert outcomes["kickoff:reminder:1"] == "skip"
    assert outcomes["kickoff:end:1"] == "run"
    assert outcomes["group_formation:start:1"] == "run"

    another = runners(clock, scheduler=False)
    assert another.tick() == [] or all(not c.applied for c in another.tick())
    assert [t for t in client.texts("CWORK") if "Group formation" in t] == announced


def test_a_workshop_from_before_the_schedule_gets_its_run_silently(runners):
    clock = Clock(DAY1 + timedelta(days=3))  # its two days are over
    runner = runners(clock)
    workshop_id = new_workshop(runner.services, DAY1, created=DAY1 - timedelta(days=10))
    with runner.services.uow(TEAM) as uow:  # as stored before the schedule existed
        uow.session.delete(uow.schedule.get(workshop_id))
        uow.commit()
    assert runner.tick() == []
    assert runner.client.calls == []  # no late flood: no votes, no results, no DMs
    with runner.services.uow(TEAM) as uow:
        assert schedule.run_of(uow, workshop_id).phase == "follow_up"
    outcomes = {t.outcome for t in transitions(runner.services, workshop_id)}
    assert outcomes == {"skip"}


def test_a_due_job_fires_by_itself(runners):
    now = datetime.now(UTC)
    runner = runners(scheduler=True)
    workshop_id = new_workshop(runner.services, now + timedelta(seconds=0.3),
                               created=now - timedelta(days=1))
    runner.start()  # on a loaded machine this may already be late: then the catch-up fires it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not runner.client.posted("CWORK"):
        time.sleep(0.02)
    assert "starts now" in runner.client.texts("CWORK")[0]
    assert [t.key for t in transitions(runner.services, workshop_id)] == [
        "preparation:end:1", "kickoff:start:1"]


def test_one_process_leads_and_another_takes_over_when_it_stops(runners):
    first = runners(scheduler=True, renew_seconds=0.05, lease_seconds=5).start()
    second = runners(scheduler=True, renew_seconds=0.05, lease_seconds=5).start()
    assert first.leading and not second.leading
    assert second.scheduler.state == 2  # paused: writes jobs, runs none
    first.stop()  # releases the lease
    deadline = time.monotonic() + 30
    # Taking over = lease, then catching up missed transitions, then running jobs.
    while time.monotonic() < deadline and not (second.leading
                                               and second.scheduler.state == 1):
        time.sleep(0.02)
    assert second.leading and second.scheduler.state == 1


# --- the effect registry ------------------------------------------------------------------------


def test_hooks_of_other_features_use_the_registry_and_unknown_hooks_are_skipped(runners, caplog):
    clock = Clock(paris("2027-06-01T16:59"))
    runner = runners(clock)
    seen = []
    runner.services.phase_effects["render_hypothetical_maps"] = \
        lambda event: seen.append((event.hook, event.transition.key, event.run.phase))
    workshop_id = new_workshop(runner.services, DAY1, created=DAY1 - timedelta(days=10))
    with runner.services.uow(TEAM) as uow:  # run day 1 silently up to the wrap-up
        run = schedule.run_of(uow, workshop_id)
    run, _ = run.tick(clock())
    with runner.services.uow(TEAM) as uow:
        row = uow.schedule.get(workshop_id)
        row.run, row.phase = run.to_dict(), run.phase
        uow.commit()
    assert run.phase == "day1_wrapup"

    clock.now = paris("2027-06-01T17:00")
    with caplog.at_level("INFO", logger="bot.scheduling"):
        runner.wake(TEAM, workshop_id)
        runner.wake(TEAM, workshop_id)
    assert seen == [("render_hypothetical_maps", "day1_wrapup:end:1", "day1_wrapup")]
    assert "post_leadership_digest" in caplog.text  # no handler yet: logged, skipped


# --- gates, forms, DST ------------------------------------------------------------------------


def test_gates_open_everything_in_preparation_then_follow_the_phase(runners):
    clock = Clock(DAY1 + MIN)
    runner = runners(clock)
    workshop_id = new_workshop(runner.services, DAY1, created=DAY1 - timedelta(days=10))
    with runner.services.uow(TEAM) as uow:
        for action in ("post", "vote", "form_groups", "arrange"):
            gate(uow, workshop_id, action)  # no run stored yet: preparation
    runner.wake(TEAM, workshop_id)  # kick-off
    with runner.services.uow(TEAM) as uow:
        gate(uow, workshop_id, "form_groups")
        with pytest.raises(WorkshopError) as refused:
            gate(uow, workshop_id, "post")
        assert refused.value.code == "posts_not_open_yet"
        with pytest.raises(WorkshopError) as refused:
            gate(uow, workshop_id, "vote")
        assert refused.value.code == "votes_not_open_yet"


def test_only_facilitators_operate_and_stale_buttons_are_refused(runners):
    clock = Clock(DAY1 - timedelta(days=1))
    runner = runners(clock)
    workshop_id = new_workshop(runner.services, DAY1, created=DAY1 - timedelta(days=10),
                               participants=1)
    with runner.services.uow(TEAM) as uow, pytest.raises(WorkshopError) as refused:
        schedule.operate(uow, workshop_id, "UP0", "advance", clock())
    assert refused.value.code == "not_allowed"
    write(runner.services, TEAM, lambda uow: schedule.operate(
        uow, workshop_id, "UFAC", "advance", clock(), expected="preparation"))
    with runner.services.uow(TEAM) as uow, pytest.raises(WorkshopError) as refused:
        schedule.operate(uow, workshop_id, "UFAC", "advance", clock(), expected="preparation")
    assert refused.value.code == "phase_changed"


def form(timetable: Timetable, **changes) -> ScheduleForm:
    zone = ZoneInfo(timetable.tz)
    day1, day2 = local_days(timetable)
    phases = {}
    for slot in timetable.slots:
        if slot.phase == "follow_up":
            continue
        phases[slot.phase] = (slot.starts_at.astimezone(zone).strftime("%H:%M"),
                              str(round(slot.length.total_seconds() / 60)),
                              str(round(slot.reminder_before.total_seconds() / 60)))
    values = {"day1_date": day1.isoformat(), "day2_date": day2.isoformat(), "nudges": True}
    for key, value in changes.items():
        phase, _, part = key.partition("__")
        if not part:
            values[key] = value
            continue
        start, minutes, reminder = phases[phase]
        phases[phase] = {"start": (value, minutes, reminder),
                         "minutes": (start, value, reminder),
                         "reminder": (start, minutes, value)}[part]
    return ScheduleForm(values["day1_date"], values["day2_date"], day1.isoformat(),
                        day2.isoformat(), phases, values["nudges"])


def test_a_schedule_edit_across_the_dst_change_keeps_local_times():
    # Day 1 on Saturday 27 March 2027 (CET, UTC+1), day 2 on Sunday 28 (CEST, UTC+2).
    timetable = default_timetable(paris("2027-03-27T09:00"), paris("2027-03-28T09:00"),
                                  "Europe/Paris")
    assert timetable.starts_at("kickoff") == datetime(2027, 3, 27, 8, 0, tzinfo=UTC)
    assert timetable.starts_at("validation") == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    unchanged = edited_timetable(timetable, form(timetable))
    assert unchanged == timetable
    edited = edited_timetable(timetable, form(timetable, validation__start="09:30",
                                              validation__minutes="150"))
    assert edited.starts_at("validation") == datetime(2027, 3, 28, 7, 30, tzinfo=UTC)
    assert edited.ends_at("validation") == datetime(2027, 3, 28, 10, 0, tzinfo=UTC)
    moved = edited_timetable(timetable, form(timetable, day2_date="2027-03-29"))
    assert moved.starts_at("validation") == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert moved.starts_at("follow_up") == moved.ends_at("final_maps")


def test_invalid_edits_give_every_problem_by_field_in_the_users_language():
    timetable = default_timetable(paris("2027-06-01T09:00"), paris("2027-06-02T09:00"),
                                  "Europe/Paris")
    with pytest.raises(Invalid) as invalid:
        edited_timetable(timetable, form(timetable, stages__start="09:45",
                                         share_vote__reminder="200",
                                         kickoff__minutes="abc"))
    assert set(invalid.value.fields) == {"kickoff.minutes"}
    with pytest.raises(Invalid) as invalid:
        edited_timetable(timetable, form(timetable, stages__start="09:45",
                                         share_vote__reminder="200"))
    assert schedule_errors(invalid.value.fields, "fr") == {
        "share_vote.reminder": "De 0 à moins que la durée de la phase."}
    with pytest.raises(Invalid) as invalid:
        edited_timetable(timetable, form(timetable, stages__start="09:45"))
    assert schedule_errors(invalid.value.fields, "fr") == {
        "stages.start": "Commence avant la fin de : Formation des groupes."}
    with pytest.raises(Invalid) as invalid:
        edited_timetable(timetable, form(timetable, day2_date="2027-05-31"))
    assert schedule_errors(invalid.value.fields, "en") == {
        "validation.start": "Day 2 must come after day 1."}


def test_nudges_can_be_turned_off():
    timetable = default_timetable(paris("2027-06-01T09:00"), paris("2027-06-02T09:00"),
                                  "Europe/Paris")
    quiet = edited_timetable(timetable, form(timetable, nudges=False))
    run = Run.new(quiet, now=paris("2027-05-01T09:00"))
    _run, fired = run.tick(paris("2027-06-02T18:00"))
    assert not [t for t in fired if t.moment == "nudge"]
    assert all(isinstance(s, Slot) for s in quiet.slots)
