"""A workshop's schedule over time: its run (`workflows.phases.Run`) kept in storage, every
transition recorded exactly once, the facilitator's operations, timetable edits, and the
phase gates the other workflows' callers check.

Plain Python over the unit of work (no Slack, no SQL, no scheduler). Each function works
inside one unit of work and leaves the commit to the caller. Writers may race (two
processes, a retried job, a double click): a transition's key is recorded under a unique
``(workshop, key)`` constraint and the run row carries a version, so the loser of a race gets
``storage.errors.Conflict`` at flush; the caller then rolls back and calls again with a new
unit of work, and the run it reads then already contains the winner's transitions. Effects
(Slack messages) belong to the caller and run only for what the commit recorded.

A workshop gets its run the first time it is needed (``initial_run``: the default
timetable from its day 1 and day 2 starts, in its time zone). While the run is still in
``preparation`` nothing is gated (a free rehearsal: people may join, post, vote, form
groups); from the kick-off on, ``gate`` applies ``workflows.phases.why_not``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from storage.models import Person, PhaseTransition, Role, Workshop, WorkshopSchedule
from workflows.board import VOTABLE
from workflows.phases import (
    DAY1_PHASES,
    DEFAULT_GRACE,
    TIMED,
    Run,
    Timetable,
    TimetableInvalid,
    Transition,
    default_timetable,
    hooks,
    missed_policy,
    why_not,
)
from workflows.problems import Invalid, NotFound, Problem, WorkshopError
from workflows.workshops import as_utc, require_role

UTC = timezone.utc
OPERATIONS = ("advance", "back", "skip", "pause", "resume", "extend")
EDITABLE = tuple(p for p in TIMED if p != "follow_up")
"""Phases the schedule form edits (``follow_up`` starts when ``final_maps`` ends and lasts a
year: it follows ``final_maps``)."""
EXTRA_MINUTES = 10
MAX_MINUTES = 24 * 60


# --- reading -------------------------------------------------------------------------------


def initial_run(workshop: Workshop) -> Run:
    """The run a workshop starts with: the default timetable from its two start times, in
    preparation since its creation. If day 2 starts too soon after day 1 for the default
    agenda, day 2 is taken as day 1 + 24 h (the facilitator adjusts it in the schedule)."""
    day1, day2 = as_utc(workshop.day1_start), as_utc(workshop.day2_start)
    try:
        timetable = default_timetable(day1, day2, workshop.timezone)
    except TimetableInvalid:
        timetable = default_timetable(day1, day1 + timedelta(days=1), workshop.timezone)
    return Run.new(timetable, now=as_utc(workshop.created_at or datetime.now(UTC)))


def begin(uow, workshop: Workshop) -> None:
    """Store a new workshop's initial run (see ``initial_run``)."""
    uow.flush()
    run = initial_run(workshop)
    uow.schedule.add(WorkshopSchedule(workshop_id=workshop.id, phase=run.phase,
                                      run=run.to_dict()))


def run_of(uow, workshop_id: int) -> Run:
    """The workshop's current run (its initial run if it was never stored)."""
    row = uow.schedule.get(workshop_id)
    if row is not None:
        return Run.from_dict(row.run)
    workshop = uow.workshops.get_plain(workshop_id)
    if workshop is None:
        raise NotFound("workshop_not_found")
    return initial_run(workshop)


def gate(uow, workshop_id: int, action: str) -> None:
    """Refuse `action` (a ``workflows.phases.ACTIONS`` code) if the workshop's current phase
    does not allow it: ``WorkshopError`` with a ``REFUSALS`` code (or ``workshop_done``).
    Nothing is refused before the run leaves ``preparation``."""
    row = uow.schedule.get(workshop_id)
    if row is None or row.phase == "preparation":
        return
    code = why_not(row.phase, action, row.run.get("reopened", ()))
    if code:
        raise WorkshopError(code, phase=row.phase)


# --- changing the run ------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """A transition recorded for a workshop: ``outcome`` "run" (fire its hooks) or "skip"
    (it came too late to be worth it; tell the facilitator)."""

    transition: Transition
    outcome: str

    @property
    def ran(self) -> bool:
        return self.outcome == "run"


@dataclass(frozen=True)
class Change:
    """What one call did to a workshop's run."""

    workshop_id: int
    before: Run
    run: Run
    applied: tuple[Applied, ...] = ()

    @property
    def fired(self) -> tuple[Applied, ...]:
        return tuple(a for a in self.applied if a.ran)

    @property
    def skipped(self) -> tuple[Applied, ...]:
        return tuple(a for a in self.applied if not a.ran)


def _load(uow, workshop_id: int) -> tuple[Workshop, WorkshopSchedule | None, Run]:
    workshop = uow.workshops.get_plain(workshop_id)
    if workshop is None:
        raise NotFound("workshop_not_found")
    row = uow.schedule.get(workshop_id, for_update=True)
    run = Run.from_dict(row.run) if row is not None else initial_run(workshop)
    return workshop, row, run


def _save(uow, workshop_id: int, row: WorkshopSchedule | None, run: Run,
          applied: tuple[Applied, ...], now: datetime, by: str | None) -> None:
    """Record the transitions, then store the run: Conflict if either was done meanwhile."""
    for item in applied:
        t = item.transition
        uow.schedule.record(PhaseTransition(
            workshop_id=workshop_id, key=t.key, phase=t.phase, moment=t.moment, n=t.n,
            at=t.at, applied_at=now, outcome=item.outcome, by=by))
    if row is None:
        uow.schedule.add(WorkshopSchedule(workshop_id=workshop_id, phase=run.phase,
                                          run=run.to_dict()))
        return
    row.run, row.phase = run.to_dict(), run.phase
    uow.flush()  # the version check: Conflict if another writer stored a run meanwhile


def tick(uow, workshop_id: int, now: datetime, *, grace: timedelta = DEFAULT_GRACE) -> Change:
    """Let the clock move the workshop to `now`: every transition due is recorded, each with
    ``missed_policy`` (late announcements and nudges are skipped, late effects still run).
    The same call twice records nothing the second time."""
    _workshop, row, run = _load(uow, workshop_id)
    new, transitions = run.tick(now)
    applied = tuple(Applied(t, missed_policy(t, now, grace)) for t in transitions)
    if applied or row is None:
        _save(uow, workshop_id, row, new, applied, now, None)
    return Change(workshop_id, run, new, applied)


def adopt(uow, workshop_id: int, now: datetime) -> Change:
    """Give a workshop that has no stored run (one that predates the schedule) its run as of
    `now`, silently: what would have fired before `now` is recorded as skipped, and nothing
    is reported (nobody was waiting for it). A workshop that has a run is left alone."""
    _workshop, row, run = _load(uow, workshop_id)
    if row is not None:
        return Change(workshop_id, run, run)
    new, transitions = run.tick(now)
    _save(uow, workshop_id, None, new, tuple(Applied(t, "skip") for t in transitions), now,
          None)
    return Change(workshop_id, run, new)


def operate(uow, workshop_id: int, by: str, operation: str, now: datetime, *,
            expected: str | None = None, minutes: int = EXTRA_MINUTES) -> Change:
    """A facilitator's operation (``OPERATIONS``) on the run, now. ``expected``: the phase
    the facilitator saw (a button's phase); if the run moved on meanwhile the operation is
    refused with ``phase_changed``, so a double click or an old message never advances
    twice. ``advance`` from ``preparation`` starts the workshop now: day 1 moves to start
    now, keeping its agenda (``Timetable.start_now``)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    require_role(uow, workshop_id, by, Role.FACILITATOR)
    _workshop, row, run = _load(uow, workshop_id)
    if expected is not None and expected != run.phase:
        raise WorkshopError("phase_changed", expected=expected, actual=run.phase)
    if operation == "advance" and run.phase == "preparation":
        run_now = run.with_timetable(run.timetable.start_now("kickoff", now))
        new, transitions = run_now.advance(now)
    elif operation in ("advance", "back", "skip"):
        new, transitions = getattr(run, operation)(now)
    elif operation == "extend":
        new, transitions = run.extend(now, minutes)
    else:
        new, transitions = getattr(run, operation)(now)
    applied = tuple(Applied(t, "run") for t in transitions)
    _save(uow, workshop_id, row, new, applied, now, by)
    return Change(workshop_id, run, new, applied)


# --- editing the timetable ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleForm:
    """The schedule form as submitted: local dates and times as typed (``YYYY-MM-DD``,
    ``HH:MM``), minutes as text. ``shown_day1`` / ``shown_day2``: the day dates the form
    showed, so a changed day date moves that day's phases by the same number of days.
    ``phases``: {phase: (start, minutes, reminder minutes)} for ``EDITABLE`` phases."""

    day1_date: str | None
    day2_date: str | None
    shown_day1: str
    shown_day2: str
    phases: dict[str, tuple[str | None, str | None, str | None]]
    nudges: bool

    def field(self, phase: str, part: str) -> str:
        return f"{phase}.{part}"


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _time(text: str | None) -> time | None:
    try:
        return time.fromisoformat(text) if text else None
    except ValueError:
        return None


def _minutes(text: str | None) -> int | None:
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if -MAX_MINUTES <= value <= MAX_MINUTES else None


def _whole_minutes(delta: timedelta) -> int:
    return round(delta.total_seconds() / 60)


def local_days(timetable: Timetable) -> tuple[date, date]:
    """The local dates of day 1 (kickoff) and day 2 (validation), as the form shows them."""
    return (timetable.local("kickoff")[0].date(), timetable.local("validation")[0].date())


def edited_timetable(timetable: Timetable, form: ScheduleForm) -> Timetable:
    """The timetable with the form's changes (only what differs from what was shown is
    applied, so untouched phases stay exactly as they are). Raises ``Invalid`` with every
    problem keyed by form field (``day1_date``, ``{phase}.start``, ``{phase}.minutes``,
    ``{phase}.reminder``), timetable problems (``TIMETABLE_PROBLEMS``) included."""
    zone = ZoneInfo(timetable.tz)
    errors: dict[str, Problem] = {}
    days = {1: _date(form.day1_date), 2: _date(form.day2_date)}
    shown = {1: _date(form.shown_day1), 2: _date(form.shown_day2)}
    for day, value in days.items():
        if value is None:
            errors[f"day{day}_date"] = Problem("date_required")
    slots = []
    for slot in timetable.slots:
        if slot.phase not in form.phases:
            slots.append(slot)
            continue
        start_text, minutes_text, reminder_text = form.phases[slot.phase]
        day = 1 if slot.phase in DAY1_PHASES else 2
        local = slot.starts_at.astimezone(zone)
        changes: dict = {}
        at = _time(start_text) if start_text else local.time()
        if at is None:
            errors[form.field(slot.phase, "start")] = Problem("time_required")
        elif days[day] is not None and shown[day] is not None:
            on = local.date() + (days[day] - shown[day])
            if (on, at.replace(second=0, microsecond=0)) != (
                    local.date(), local.time().replace(second=0, microsecond=0)):
                changes["starts_at"] = datetime.combine(on, at).replace(tzinfo=zone)
        minutes = _minutes(minutes_text) if minutes_text not in (None, "") else \
            _whole_minutes(slot.length)
        if minutes is None:
            errors[form.field(slot.phase, "minutes")] = Problem("whole_minutes")
        elif minutes != _whole_minutes(slot.length):
            changes["duration"], changes["planned"] = timedelta(minutes=minutes), None
        reminder = _minutes(reminder_text) if reminder_text not in (None, "") else \
            _whole_minutes(slot.reminder_before)
        if reminder is None:
            errors[form.field(slot.phase, "reminder")] = Problem("whole_minutes")
        elif reminder != _whole_minutes(slot.reminder_before):
            changes["reminder_before"] = timedelta(minutes=reminder)
        if hooks(slot.phase, "nudge") and slot.nudge != form.nudges:
            changes["nudge"] = form.nudges
        slots.append(replace(slot, **changes))
    if errors:
        raise Invalid(errors)
    slots = _follow_final_maps(timetable, slots)
    edited = Timetable(timetable.tz, tuple(slots), timetable.owner_reminder_after)
    problems = edited.problems()
    if problems:
        fields: dict[str, Problem] = {}
        for problem in problems:
            fields.setdefault(_problem_field(problem, form), problem)
        raise Invalid(fields)
    return edited


def _follow_final_maps(before: Timetable, slots: list) -> list:
    """``follow_up`` starts when ``final_maps`` ends: keep it so when final_maps moved."""
    by_phase = {s.phase: s for s in slots}
    final, follow = by_phase.get("final_maps"), by_phase.get("follow_up")
    if final is None or follow is None or final.ends_at == before.ends_at("final_maps"):
        return slots
    return [replace(s, starts_at=final.ends_at) if s.phase == "follow_up" else s
            for s in slots]


def _problem_field(problem: Problem, form: ScheduleForm) -> str:
    phase = str(problem.params.get("phase", ""))
    if phase not in form.phases:
        return "day2_date" if phase == "follow_up" else "day1_date"
    part = {"duration_not_positive": "minutes",
            "reminder_out_of_range": "reminder"}.get(problem.code, "start")
    return form.field(phase, part)


def edit_schedule(uow, workshop_id: int, by: str, form: ScheduleForm, now: datetime) -> Change:
    """A facilitator's timetable edit. Fires nothing by itself (the next tick does what the
    new times make due). The workshop's day 1 and day 2 starts follow the kickoff and
    validation slots."""
    require_role(uow, workshop_id, by, Role.FACILITATOR)
    workshop, row, run = _load(uow, workshop_id)
    timetable = edited_timetable(run.timetable, form)
    new = run.with_timetable(timetable)
    workshop.day1_start = timetable.starts_at("kickoff")
    workshop.day2_start = timetable.starts_at("validation")
    _save(uow, workshop_id, row, new, (), now, by)
    return Change(workshop_id, run, new)


def set_message(uow, workshop_id: int, channel: str, ts: str, phase: str) -> dict | None:
    """Remember where the latest phase controls are (the announcement of `phase`); returns
    where the previous ones were. The run must be stored already (transitions store it)."""
    row = uow.schedule.get(workshop_id)
    if row is None:
        return None
    previous = row.message
    row.message = {"channel": channel, "ts": ts, "phase": phase}
    uow.flush()
    return previous


def message_of(uow, workshop_id: int) -> dict | None:
    row = uow.schedule.get(workshop_id)
    return row.message if row is not None else None


# --- what the hooks need ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """A pain point or opportunity with its dot votes, for the results."""

    post_it_id: int
    kind: str
    text: str
    votes: int
    group_number: int | None


def vote_results(uow, workshop_id: int, top: int = 5) -> dict[str, list[Ranked]]:
    """The most voted visible pain points and opportunities of the workshop, per kind
    (only post-its with at least one vote; ties: the oldest first)."""
    post_its = [p for p in uow.board.workshop_post_its(workshop_id, VOTABLE)
                if p.status == "visible"]
    votes = uow.board.votes_on([p.id for p in post_its])
    numbers = {g.id: g.number for g in uow.groups.groups(workshop_id)}
    results: dict[str, list[Ranked]] = {}
    for kind in VOTABLE:
        ranked = sorted((p for p in post_its if p.kind == kind and votes.get(p.id)),
                        key=lambda p: (-votes[p.id], p.id))
        results[kind] = [Ranked(p.id, p.kind, p.text, votes[p.id], numbers.get(p.group_id))
                         for p in ranked[:top]]
    return results


def silent_participants(uow, workshop_id: int, since: datetime) -> list[Person]:
    """Participants in a group who created no post-it since `since` (the phase's start)."""
    authors = uow.schedule.authors_since(workshop_id, since.astimezone(UTC))
    return [p for p in uow.people.in_workshop(workshop_id, Role.PARTICIPANT.value)
            if p.group_id is not None and p.user_id not in authors]


def facilitators(uow, workshop_id: int) -> list[Person]:
    return uow.people.in_workshop(workshop_id, Role.FACILITATOR.value)
