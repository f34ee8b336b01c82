"""Tests for workflows.phases: what each phase allows, hooks, the timetable (DST included),
the facilitator's operations on a run, transition keys, due/missed jobs and the scheduler's
job list."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.phases import (
    ACTIONS,
    EFFECT_HOOKS,
    HOOKS,
    MOMENTS,
    PHASES,
    REFUSALS,
    TIMED,
    TIMETABLE_PROBLEMS,
    Job,
    Run,
    Slot,
    Timetable,
    TimetableInvalid,
    Transition,
    allows,
    default_timetable,
    due,
    follow_up_jobs,
    hooks,
    jobs,
    missed_policy,
    next_phase,
    previous_phase,
    why_not,
)
from workflows.problems import Invalid, Problem, WorkshopError

UTC = timezone.utc
PARIS = "Europe/Paris"
MIN = timedelta(minutes=1)


def paris(day: str, hhmm: str) -> datetime:
    """A Paris wall-clock time, as UTC."""
    local = datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=ZoneInfo(PARIS))
    return local.astimezone(UTC)


# A June workshop (CEST, no DST change) for the run tests.
D1, D2 = "2027-06-01", "2027-06-02"


def june() -> Timetable:
    return default_timetable(paris(D1, "09:00"), paris(D2, "09:00"), PARIS)


def local_times(tt: Timetable) -> dict[str, tuple[str, str]]:
    return {phase: tuple(t.strftime("%H:%M") for t in tt.local(phase)) for phase in TIMED
            if phase != "follow_up"}


def keys(transitions) -> list[str]:
    return [t.key for t in transitions]


def codes(caught) -> list[str]:
    return [p.code for p in caught.value.problems]


# --- allows / why_not ---------------------------------------------------------------------

ALLOWED = {
    "preparation": {"join", "form_groups"},
    "kickoff": {"join", "form_groups"},
    "group_formation": {"join", "form_groups"},
    "stages": {"join", "post", "arrange"},
    "stage_details": {"join", "post", "arrange"},
    "share_vote": {"join", "post", "arrange", "vote"},
    "day1_wrapup": {"join", "post", "arrange", "publish_maps"},
    "validation": {"post", "arrange", "customer_answer", "accept_corrections"},
    "consolidation": {"post", "arrange", "accept_corrections"},
    "final_maps": {"publish_maps", "assign_owners"},
    "follow_up": {"publish_maps", "assign_owners"},
    "done": set(),
}


@pytest.mark.parametrize("phase", PHASES)
def test_allows_table(phase):
    assert {a for a in ACTIONS if allows(phase, a)} == ALLOWED[phase]
    for action in ACTIONS:
        assert (why_not(phase, action) == "") == (action in ALLOWED[phase])


@pytest.mark.parametrize(("phase", "action", "code"), [
    ("stages", "vote", "votes_not_open_yet"),
    ("share_vote", "vote", ""),
    ("day1_wrapup", "vote", "votes_closed"),
    ("preparation", "post", "posts_not_open_yet"),
    ("final_maps", "post", "posts_closed"),
    ("final_maps", "arrange", "board_closed"),
    ("share_vote", "customer_answer", "validation_not_open"),
    ("consolidation", "customer_answer", "validation_closed"),
    ("share_vote", "accept_corrections", "corrections_not_open_yet"),
    ("final_maps", "accept_corrections", "corrections_closed"),
    ("validation", "join", "join_closed"),
    ("stages", "form_groups", "groups_closed"),
    ("stages", "publish_maps", "maps_not_ready"),
    ("validation", "publish_maps", "maps_not_ready"),  # between the two maps
    ("consolidation", "assign_owners", "owners_not_open_yet"),
    ("done", "assign_owners", "workshop_done"),
    ("done", "join", "workshop_done"),
])
def test_why_not(phase, action, code):
    assert why_not(phase, action) == code


def test_reopened_actions_stay_open_after_closing_but_never_early_or_when_done():
    assert allows("final_maps", "post", frozenset({"post"}))
    assert allows("follow_up", "vote", frozenset({"vote"}))
    assert why_not("stages", "vote", frozenset({"vote"})) == "votes_not_open_yet"
    assert why_not("done", "post", frozenset({"post"})) == "workshop_done"
    assert not allows("final_maps", "post", frozenset({"vote"}))


def test_refusal_codes_are_listed_and_unknown_keys_raise():
    listed = {c for pair in REFUSALS.values() for c in pair} | {"workshop_done", ""}
    assert {why_not(p, a) for p in PHASES for a in ACTIONS} <= listed
    with pytest.raises(ValueError):
        allows("lunch", "post")
    with pytest.raises(ValueError):
        allows("stages", "dance")


def test_phase_order_helpers():
    assert next_phase("preparation") == "kickoff"
    assert next_phase("final_maps") == "follow_up"
    assert next_phase("done") is None
    assert previous_phase("validation") == "day1_wrapup"
    assert previous_phase("preparation") is None


# --- hooks --------------------------------------------------------------------------------


def test_hooks_from_the_protocol():
    assert hooks("kickoff", "start") == ("announce_kickoff",)
    assert hooks("group_formation", "start") == ("announce_phase", "suggest_groups")
    assert hooks("day1_wrapup", "end") == ("render_hypothetical_maps", "post_leadership_digest")
    assert hooks("validation", "start") == ("announce_phase", "invite_customers")
    assert hooks("final_maps", "end") == ("render_validated_maps", "post_leadership_summary")
    assert hooks("stages", "reminder") == ("reminder",)
    assert hooks("stages", "nudge") == ("nudge",)
    assert hooks("kickoff", "nudge") == ()  # no post-its during the kickoff
    assert hooks("follow_up", "owner_reminder") == ("remind_owners",)
    assert hooks("follow_up", "end") == ("remind_review_map",)
    assert hooks("day1_wrapup", "skip") == hooks("day1_wrapup", "end")  # maps still rendered
    assert hooks("share_vote", "skip") == ()
    for phase in PHASES:
        if phase not in ("kickoff", "done"):
            assert hooks(phase, "start")[0] == "announce_phase"
    every = {h for p in PHASES for m in MOMENTS for h in hooks(p, m)}
    assert every <= set(HOOKS) and set(HOOKS) >= EFFECT_HOOKS
    with pytest.raises(ValueError):
        hooks("stages", "lunch")


# --- default timetable --------------------------------------------------------------------

DEFAULT_LOCAL = {
    "kickoff": ("09:00", "09:30"), "group_formation": ("09:30", "10:00"),
    "stages": ("10:00", "11:30"), "stage_details": ("11:30", "15:00"),
    "share_vote": ("15:00", "16:30"), "day1_wrapup": ("16:30", "17:00"),
    "validation": ("09:00", "12:00"), "consolidation": ("13:00", "15:00"),
    "final_maps": ("15:00", "16:00"),
}


@pytest.mark.parametrize(("tz", "day1", "day2", "utc1", "utc2"), [
    (PARIS, "2027-06-01", "2027-06-02", 7, 7),
    (PARIS, "2027-03-27", "2027-03-28", 8, 7),          # CET → CEST overnight
    (PARIS, "2027-10-30", "2027-10-31", 7, 8),          # CEST → CET overnight
    ("America/New_York", "2027-03-13", "2027-03-14", 14, 13),
    ("America/New_York", "2027-11-06", "2027-11-07", 13, 14),
])
def test_default_timetable_keeps_local_wall_clock_across_dst(tz, day1, day2, utc1, utc2):
    zone = ZoneInfo(tz)
    start1 = datetime.fromisoformat(f"{day1}T09:00").replace(tzinfo=zone)
    start2 = datetime.fromisoformat(f"{day2}T09:00").replace(tzinfo=zone)
    tt = default_timetable(start1, start2, tz)
    assert tt.problems() == ()
    assert local_times(tt) == DEFAULT_LOCAL
    assert tt.starts_at("kickoff") == datetime.fromisoformat(f"{day1}T{utc1:02d}:00+00:00")
    assert tt.starts_at("validation") == datetime.fromisoformat(f"{day2}T{utc2:02d}:00+00:00")
    assert all(s.starts_at.tzinfo == UTC for s in tt.slots)
    assert tt.local("kickoff")[0].date().isoformat() == day1
    assert tt.local("final_maps")[0].date().isoformat() == day2
    follow = tt.slot("follow_up")
    assert follow.starts_at == tt.ends_at("final_maps")
    assert follow.duration == timedelta(days=365)
    assert (follow.reminder_before, follow.nudge) == (timedelta(0), False)


def test_default_timetable_is_relative_to_each_days_start():
    tt = default_timetable(paris(D1, "13:30"), paris(D2, "08:00"), PARIS)
    assert tt.local("kickoff")[0].strftime("%H:%M") == "13:30"
    assert tt.local("day1_wrapup")[1].strftime("%H:%M") == "21:30"
    assert tt.local("consolidation")[0].strftime("%H:%M") == "12:00"
    assert tt.local("final_maps")[1].strftime("%H:%M") == "15:00"


def test_default_timetable_refuses_bad_input():
    with pytest.raises(TimetableInvalid) as caught:
        default_timetable(paris(D1, "09:00"), paris(D1, "12:00"), PARIS)
    assert caught.value.problems == (
        Problem("day2_before_day1", {"phase": "validation", "previous": "day1_wrapup"}),)
    with pytest.raises(TimetableInvalid) as caught:
        default_timetable(paris(D1, "09:00"), paris(D2, "09:00"), "Mars/Olympus")
    assert codes(caught) == ["unknown_timezone"]
    with pytest.raises(ValueError):
        default_timetable(datetime(2027, 6, 1, 9), paris(D2, "09:00"), PARIS)


# --- editing the timetable ----------------------------------------------------------------


def test_shift_extends_a_phase_and_pushes_the_rest_of_its_day_only():
    tt = june()
    later = tt.shift("stages", 10 * MIN)
    assert local_times(later) == {**DEFAULT_LOCAL,
                                  "stages": ("10:00", "11:40"), "stage_details": ("11:40", "15:10"),
                                  "share_vote": ("15:10", "16:40"),
                                  "day1_wrapup": ("16:40", "17:10")}
    assert local_times(tt) == DEFAULT_LOCAL  # immutable
    earlier = tt.shift("validation", -30 * MIN)
    assert local_times(earlier)["validation"] == ("09:00", "11:30")
    assert local_times(earlier)["final_maps"] == ("14:30", "15:30")
    assert earlier.starts_at("follow_up") == earlier.ends_at("final_maps")  # moves with day 2


def test_shift_into_day_2_pushes_day_2_just_enough():
    tt = june().shift("day1_wrapup", timedelta(hours=17))  # day 1 now ends at 10:00 on day 2
    assert tt.starts_at("validation") == paris(D2, "10:00")
    assert tt.starts_at("consolidation") == paris(D2, "13:00")  # the lunch gap absorbed it
    assert tt.problems() == ()


def test_start_now_moves_the_phase_and_the_rest_of_its_day():
    tt = june().start_now("kickoff", paris(D1, "13:30"))
    assert local_times(tt)["kickoff"] == ("13:30", "14:00")
    assert local_times(tt)["day1_wrapup"] == ("21:00", "21:30")
    assert local_times(tt)["validation"] == ("09:00", "12:00")
    with pytest.raises(TimetableInvalid) as caught:
        june().start_now("stages", paris(D1, "09:10"))
    assert caught.value.problems == (
        Problem("overlap", {"phase": "stages", "previous": "group_formation"}),)


@pytest.mark.parametrize(("edit", "problems"), [
    (dict(phase="stages", duration=timedelta(0)),
     [Problem("duration_not_positive", {"phase": "stages"})]),
    (dict(phase="stages", duration=-MIN),
     [Problem("duration_not_positive", {"phase": "stages"})]),
    (dict(phase="kickoff", reminder_before=30 * MIN),
     [Problem("reminder_out_of_range", {"phase": "kickoff"})]),
    (dict(phase="kickoff", reminder_before=-MIN),
     [Problem("reminder_out_of_range", {"phase": "kickoff"})]),
    (dict(phase="group_formation", starts_at=paris(D1, "09:15")),
     [Problem("overlap", {"phase": "group_formation", "previous": "kickoff"})]),
    (dict(phase="validation", starts_at=paris(D1, "16:45")),
     [Problem("day2_before_day1", {"phase": "validation", "previous": "day1_wrapup"})]),
    (dict(phase="stages", starts_at=datetime(2027, 6, 1, 10)),
     [Problem("naive_datetime", {"phase": "stages"})]),
    (dict(phase="lunch", duration=MIN), [Problem("unknown_phase", {"phase": "lunch"})]),
])
def test_with_slot_validation(edit, problems):
    with pytest.raises(TimetableInvalid) as caught:
        june().with_slot(**edit)
    assert list(caught.value.problems) == problems
    assert isinstance(caught.value, Invalid)  # inline modal errors, keyed by phase
    assert caught.value.fields == {problems[0].params["phase"]: problems[0]}
    assert {p.code for p in problems} <= set(TIMETABLE_PROBLEMS)


def test_with_slot_changes_one_slot_and_nothing_else():
    tt = june().with_slot("stage_details", starts_at=paris(D1, "12:30"), duration=2 * 60 * MIN,
                          reminder_before=5 * MIN, nudge=False)
    slot = tt.slot("stage_details")
    assert (slot.starts_at, slot.duration, slot.reminder_before, slot.nudge) == (
        paris(D1, "12:30"), timedelta(hours=2), 5 * MIN, False)
    assert local_times(tt)["share_vote"] == ("15:00", "16:30")
    with pytest.raises(TimetableInvalid) as caught:
        june().shift("kickoff", -30 * MIN)
    assert codes(caught) == ["duration_not_positive"]


def test_structural_problems():
    tt = june()
    lunch = Slot("lunch", tt.slots[0].starts_at, MIN, reminder_before=timedelta(0))
    broken = Timetable(PARIS, (*tt.slots[1:], tt.slots[2], lunch))
    assert {p.code for p in broken.problems()} == {"missing_slot", "duplicate_slot",
                                                   "unknown_phase"}


def test_timetable_round_trips_through_json():
    tt = june().shift("stages", timedelta(seconds=12.5))
    data = json.loads(json.dumps(tt.to_dict()))
    assert data["slots"][0]["starts_at"] == "2027-06-01T07:00:00+00:00"
    assert Timetable.from_dict(data) == tt
    data["slots"][1]["duration_seconds"] = 0
    with pytest.raises(TimetableInvalid):
        Timetable.from_dict(data)


# --- the run: the clock -------------------------------------------------------------------


def new_run() -> Run:
    return Run.new(june(), paris("2027-05-20", "10:00"))


def test_the_clock_runs_the_default_day():
    run, fired = new_run().tick(paris(D1, "09:00"))
    assert keys(fired) == ["preparation:end:1", "kickoff:start:1"]
    assert (run.phase, run.entered_at) == ("kickoff", paris(D1, "09:00"))
    run, fired = run.tick(paris(D1, "10:00"))
    assert keys(fired) == ["kickoff:reminder:1", "kickoff:end:1", "group_formation:start:1",
                           "group_formation:reminder:1", "group_formation:end:1",
                           "stages:start:1"]
    assert fired[0].deadline == paris(D1, "09:30")
    run, fired = run.tick(paris(D2, "12:30"))  # lunch on day 2: validation ended, not replaced
    assert run.phase == "validation" and "end" in run.fired
    assert keys(fired)[-3:] == ["validation:reminder:1", "validation:nudge:1",
                                "validation:end:1"]
    assert [t.phase for t in fired if t.moment == "start"] == [
        "stage_details", "share_vote", "day1_wrapup", "validation"]
    run, fired = run.tick(paris("2028-06-01", "16:00"))
    assert keys(fired)[-3:] == ["follow_up:owner_reminder:1", "follow_up:end:1", "done:start:1"]
    assert run.phase == "done" and run.tick(paris("2030-01-01", "00:00"))[1] == []


def test_due_after_a_restart_is_idempotent():
    run, _ = new_run().tick(paris(D1, "09:05"))
    restart = paris(D1, "12:00")
    first, second = due(run, restart), due(run, restart)
    assert first == second and keys(first)[0] == "kickoff:reminder:1"
    assert keys(due(run, paris(D1, "10:30"))) == keys(first)[:len(due(run, paris(D1, "10:30")))]
    caught_up, applied = run.tick(restart)
    assert applied == first and due(caught_up, restart) == []
    assert Run.from_dict(json.loads(json.dumps(caught_up.to_dict()))) == caught_up


def test_missed_policy():
    now = paris(D1, "12:00")
    start = Transition("stages", "start", paris(D1, "11:50"), 1)
    assert missed_policy(start, now) == "run"
    assert missed_policy(start, now, grace=5 * MIN) == "skip"
    late_reminder = Transition("stage_details", "reminder", paris(D1, "11:00"), 1,
                               deadline=paris(D1, "11:10"))
    assert missed_policy(late_reminder, now) == "skip"  # its deadline is past
    upcoming = Transition("stage_details", "reminder", paris(D1, "11:00"), 1,
                          deadline=paris(D1, "12:10"))
    assert missed_policy(upcoming, now) == "run"
    assert missed_policy(Transition("stages", "nudge", paris(D1, "10:00"), 1), now) == "skip"
    maps = Transition("day1_wrapup", "end", paris(D1, "17:00"), 1)
    assert missed_policy(maps, paris(D2, "08:00")) == "run"  # the maps are still needed
    invite = Transition("validation", "start", paris(D2, "09:00"), 1)
    assert missed_policy(invite, paris(D2, "11:00")) == "run"
    kickoff = Transition("kickoff", "start", paris(D1, "09:00"), 1)
    assert missed_policy(kickoff, paris(D1, "11:00")) == "skip"


# --- the run: facilitator operations ------------------------------------------------------


def in_phase(phase: str, now: datetime) -> Run:
    run, _ = new_run().tick(now)
    assert run.phase == phase
    return run


def test_advance_early_starts_the_next_phase_now_without_moving_the_rest():
    run = in_phase("kickoff", paris(D1, "09:05"))
    run, fired = run.advance(paris(D1, "09:10"))
    assert keys(fired) == ["kickoff:end:1", "group_formation:start:1"]
    assert all(t.at == paris(D1, "09:10") for t in fired)
    assert local_times(run.timetable)["group_formation"] == ("09:10", "09:40")
    assert local_times(run.timetable)["stages"] == ("10:00", "11:30")
    kickoff = run.timetable.slot("kickoff")
    assert (kickoff.duration, kickoff.planned) == (10 * MIN, 30 * MIN)  # cut, plan kept
    assert run.timetable.problems() == ()


def test_advance_late_pushes_the_rest_of_the_day_only_as_needed():
    run = in_phase("kickoff", paris(D1, "09:05"))
    run, _ = run.advance(paris(D1, "09:45"))  # the 09:30 end never fired (bot was down)
    assert local_times(run.timetable) == {
        **DEFAULT_LOCAL, "kickoff": ("09:00", "09:30"), "group_formation": ("09:45", "10:15"),
        "stages": ("10:15", "11:45"), "stage_details": ("11:45", "15:15"),
        "share_vote": ("15:15", "16:45"), "day1_wrapup": ("16:45", "17:15")}


def test_back_reenters_the_previous_phase_with_new_keys():
    run = in_phase("stages", paris(D1, "10:40"))
    run, fired = run.back(paris(D1, "10:40"))
    assert keys(fired) == ["stages:end:1", "group_formation:start:2"]
    assert local_times(run.timetable)["group_formation"] == ("10:40", "11:10")
    assert local_times(run.timetable)["stages"] == ("11:10", "12:40")
    run, fired = run.tick(paris(D1, "11:10"))
    assert keys(fired) == ["group_formation:reminder:2", "group_formation:end:2",
                           "stages:start:2"]
    assert run.count("stages") == 2


def test_back_to_preparation_waits_for_the_facilitator():
    run = in_phase("kickoff", paris(D1, "09:05"))
    run, fired = run.back(paris(D1, "09:10"))
    assert keys(fired) == ["kickoff:end:1", "preparation:start:2"]
    assert run.tick(paris(D1, "12:00"))[1] == [] and jobs(run, 1) == []
    run, fired = run.advance(paris(D1, "09:20"))
    assert keys(fired) == ["preparation:end:2", "kickoff:start:2"]


def test_skip_skips_the_next_phase_but_keeps_its_effects():
    run = in_phase("kickoff", paris(D1, "09:05"))
    run, fired = run.skip(paris(D1, "09:10"))
    assert keys(fired) == ["kickoff:end:1", "group_formation:skip:1", "stages:start:1"]
    assert local_times(run.timetable)["group_formation"] == ("09:10", "09:10")
    assert local_times(run.timetable)["stages"] == ("09:10", "10:40")
    assert run.timetable.problems() == ()
    run = in_phase("share_vote", paris(D1, "15:00"))
    run, fired = run.skip(paris(D1, "16:00"))
    assert [t.hooks for t in fired if t.moment == "skip"] == [
        ("render_hypothetical_maps", "post_leadership_digest")]
    assert run.phase == "validation" and local_times(run.timetable)["validation"][0] == "16:00"
    run, fired = run.back(paris(D1, "16:05"))  # the skipped phase gets its planned length back
    assert local_times(run.timetable)["day1_wrapup"] == ("16:05", "16:35")
    assert keys(fired)[-1] == "day1_wrapup:start:2"


def test_pause_and_resume_push_the_current_end_and_the_rest_of_the_day():
    run = in_phase("stages", paris(D1, "10:30"))
    run, _ = run.pause(paris(D1, "10:30"))
    assert run.paused and run.tick(paris(D1, "13:00"))[1] == [] and jobs(run, 1) == []
    with pytest.raises(WorkshopError, match="already_paused"):
        run.pause(paris(D1, "10:40"))
    run, fired = run.resume(paris(D1, "11:00"))
    assert fired == [] and not run.paused
    assert local_times(run.timetable) == {
        **DEFAULT_LOCAL, "stages": ("10:00", "12:00"), "stage_details": ("12:00", "15:30"),
        "share_vote": ("15:30", "17:00"), "day1_wrapup": ("17:00", "17:30")}
    with pytest.raises(WorkshopError, match="not_paused"):
        run.resume(paris(D1, "11:00"))


def test_extend_gives_more_time_from_the_end_or_from_now_if_overdue():
    run = in_phase("stages", paris(D1, "11:00"))
    extended, fired = run.extend(paris(D1, "11:00"))
    assert fired == [] and local_times(extended.timetable)["stages"] == ("10:00", "11:40")
    assert local_times(extended.timetable)["day1_wrapup"] == ("16:40", "17:10")
    overdue, _ = run.extend(paris(D1, "11:35"), minutes=5)
    assert local_times(overdue.timetable)["stages"] == ("10:00", "11:40")
    with pytest.raises(WorkshopError, match="minutes_not_positive"):
        run.extend(paris(D1, "11:00"), minutes=0)
    lunch = in_phase("validation", paris(D2, "12:30"))
    with pytest.raises(WorkshopError, match="phase_ended"):
        lunch.extend(paris(D2, "12:30"))
    with pytest.raises(WorkshopError, match="phase_not_timed"):
        new_run().extend(paris(D1, "08:00"))


def test_refused_operations():
    with pytest.raises(WorkshopError, match="no_previous_phase"):
        new_run().back(paris(D1, "08:00"))
    follow = in_phase("follow_up", paris(D2, "17:00"))
    with pytest.raises(WorkshopError, match="nothing_to_skip"):
        follow.skip(paris(D2, "17:00"))
    done, fired = follow.advance(paris(D2, "17:05"))
    assert keys(fired) == ["follow_up:end:1", "done:start:1"]
    for operation in (done.advance, done.skip, done.pause, done.extend):
        with pytest.raises(WorkshopError, match="workshop_done"):
            operation(paris(D2, "17:10"))
    with pytest.raises(WorkshopError) as caught:
        follow.advance(paris(D2, "17:00"), expected="final_maps")
    assert caught.value.problem == Problem("phase_changed",
                                           {"expected": "final_maps", "actual": "follow_up"})


def test_reopen_and_close_actions():
    run = in_phase("final_maps", paris(D2, "15:10"))
    assert run.why_not("post") == "posts_closed"
    assert run.reopen("post").allows("post")
    assert not run.reopen("post").close("post").allows("post")


# --- jobs ---------------------------------------------------------------------------------


def test_jobs_have_deterministic_ids_and_match_the_clock():
    run = new_run()
    planned = jobs(run, 42)
    assert planned[:3] == [
        Job("w42:preparation:end:1", paris(D1, "09:00"), "end", "preparation"),
        Job("w42:kickoff:start:1", paris(D1, "09:00"), "start", "kickoff"),
        Job("w42:kickoff:reminder:1", paris(D1, "09:20"), "reminder", "kickoff"),
    ]
    assert "w42:stages:nudge:1" in {j.id for j in planned}
    assert "w42:kickoff:nudge:1" not in {j.id for j in planned}
    assert len({j.id for j in planned}) == len(planned)
    assert [j.at for j in planned] == sorted(j.at for j in planned)
    for job in planned[::7]:  # when a job fires, the clock produces its transition
        assert job.id.removeprefix("w42:") in keys(due(run, job.at))
    later, _ = run.tick(paris(D1, "10:15"))
    assert jobs(later, 42)[0].id == "w42:stages:reminder:1"
    assert jobs(later, 42) == jobs(later, 42)


def test_follow_up_jobs():
    end = paris(D2, "16:00")
    assert follow_up_jobs(end, workshop_id=3) == [
        Job("w3:follow_up:owner_reminder:1", end + timedelta(days=30), "owner_reminder",
            "follow_up"),
        Job("w3:follow_up:end:1", end + timedelta(days=365), "end", "follow_up"),
    ]
    assert jobs(new_run(), 3)[-3:-1] == follow_up_jobs(end, workshop_id=3)
    assert [j.kind for j in follow_up_jobs(end, timedelta(days=400))] == ["end"]


# --- property: random facilitator sessions ------------------------------------------------

OPERATIONS = st.sampled_from(["tick", "tick", "tick", "advance", "back", "skip", "pause",
                              "resume", "extend", "shift", "start_now"])
STEP = st.one_of(st.integers(0, 90), st.integers(0, 2 * 24 * 60))
SESSION = st.lists(st.tuples(OPERATIONS, STEP, st.integers(-60, 120), st.sampled_from(TIMED)),
                   max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SESSION)
def test_random_sessions_keep_the_protocol(session):
    run = Run.new(june(), paris("2027-05-31", "18:00"))
    now = paris("2027-05-31", "18:00")
    seen: set[str] = set()
    for operation, step, amount, phase in session:
        now += timedelta(minutes=step)
        before = run
        try:
            if operation == "tick":
                run, fired = run.tick(now)
            elif operation == "extend":
                run, fired = run.extend(now, minutes=max(amount, 1))
            elif operation == "shift":
                run, fired = run.with_timetable(
                    run.timetable.shift(phase, timedelta(minutes=amount))), []
            elif operation == "start_now":
                run, fired = run.with_timetable(run.timetable.start_now(phase, now)), []
            else:
                run, fired = getattr(run, operation)(now)
        except (WorkshopError, TimetableInvalid):
            assert run == before
            continue
        # protocol order: forward only, except one step back on an explicit back
        moved = PHASES.index(run.phase) - PHASES.index(before.phase)
        assert moved == -1 if operation == "back" else moved >= 0
        started = [PHASES.index(t.phase) for t in fired if t.moment == "start"]
        if operation != "back":
            assert started == sorted(started)
        assert all(t.at <= now for t in fired)
        assert [t.at for t in fired] == sorted(t.at for t in fired)
        assert all(t.n == run.count(t.phase) for t in fired if t.moment == "start")
        # keys are unique within the run
        new_keys = keys(fired)
        assert len(set(new_keys)) == len(new_keys) and not seen & set(new_keys)
        seen |= set(new_keys)
        # the timetable never overlaps and day 2 stays after day 1
        assert run.timetable.problems() == ()
        slots = run.timetable.slots
        assert all(b.starts_at >= a.ends_at for a, b in zip(slots, slots[1:], strict=False))
        assert Run.from_dict(json.loads(json.dumps(run.to_dict()))) == run
    # what the scheduler would still fire never repeats a key
    assert not seen & {j.id.removeprefix("w1:") for j in jobs(run, 1)}
