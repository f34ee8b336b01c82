"""The workshop protocol as a state machine and a timetable.

Plain Python (dataclasses, datetime, zoneinfo): no Slack, no SQL, no scheduler. Everything
here is an immutable value; every operation returns a new value.

Phases (stable string keys, in protocol order)
    ``preparation`` → day 1: ``kickoff``, ``group_formation``, ``stages``, ``stage_details``,
    ``share_vote``, ``day1_wrapup`` → day 2: ``validation``, ``consolidation``,
    ``final_maps`` → ``follow_up`` → ``done``.
    ``preparation`` and ``done`` have no slot in the timetable; the other ten (``TIMED``)
    have exactly one each. For scheduling, ``follow_up`` belongs to day 2's block: it starts
    when ``final_maps`` ends and is pushed along with day 2.

What each phase allows
    ``allows(phase, action, reopened)`` and ``why_not(phase, action, reopened)`` over the
    ``ACTIONS``; the table is ``ACTION_PHASES``. ``reopened`` is the per-workshop set of
    actions the facilitator explicitly reopened after they closed (``Run.reopened``); it
    re-allows an action in any phase from the one where it first opens until ``done``, never
    earlier and never in ``done``.

Hooks
    ``hooks(phase, moment)`` gives the hook codes the Slack layer runs at a moment of a phase
    (``HOOKS`` lists every code). Moments: ``start``, ``reminder`` (``reminder_before`` ahead of
    the end), ``nudge`` (at the end of phases where ``post`` is allowed), ``owner_reminder``
    (``follow_up`` only), ``end``, and ``skip`` (a phase the facilitator skipped: only its
    indispensable effects, e.g. rendering the maps).

Timetable
    ``Timetable`` holds one ``Slot`` per timed phase, UTC-aware. ``default_timetable`` builds
    the default protocol in the workshop's local wall-clock time (DST-safe). Edits
    (``with_slot``, ``shift``, ``start_now``) return a new timetable or raise
    ``TimetableInvalid`` (a ``workflows.problems.Invalid`` whose ``fields`` are keyed by phase
    and whose ``problems`` lists every ``Problem``). ``TIMETABLE_PROBLEMS`` lists the codes.

Run
    ``Run`` is the state of one workshop: current phase, how many times each phase started,
    which moments of the current entry already fired, pause, reopened actions, timetable.
    Facilitator operations (``advance``, ``back``, ``skip``, ``pause``, ``resume``,
    ``extend``) and the clock (``tick`` / ``due``) return ``Transition`` values: the hooks to
    fire. A run never fires anything by itself; ``tick(now)`` is how time passes.

Exactly-once
    ``Transition.key`` is ``f"{phase}:{moment}:{n}"`` where ``n`` counts how many times the
    phase was entered (``start``; a ``skip`` counts as an entry too). Going back into a phase
    gives new keys; recomputing the same transitions (a retried job, two processes, a
    restart) gives the same keys. The caller stores each key under a unique
    ``(workshop_id, key)`` constraint in the same transaction as the new ``Run`` and runs the
    hooks only when the insert succeeded.

Scheduling (APScheduler)
    ``jobs(run, workshop_id)`` lists every event the run will fire if nobody intervenes, with
    ids ``f"w{workshop_id}:{phase}:{kind}:{n}"`` (= ``"w{workshop_id}:" + transition key``).
    After any change, add them with ``replace_existing=True`` and remove this workshop's other
    jobs (prefix ``f"w{workshop_id}:"``). A job only wakes the workshop up: its handler loads
    the run, calls ``run.tick(now)``, records and fires the transitions (``missed_policy``
    decides whether a late one still runs), saves the run, and re-plans ``jobs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflows.problems import Invalid, Problem, WorkshopError

__all__ = [
    "ACTIONS",
    "ACTION_PHASES",
    "DAY1_PHASES",
    "DAY2_PHASES",
    "DEFAULT_GRACE",
    "EFFECT_HOOKS",
    "HOOKS",
    "JOB_KINDS",
    "MOMENTS",
    "PHASES",
    "REFUSALS",
    "RUN_ERRORS",
    "TIMED",
    "TIMETABLE_PROBLEMS",
    "Job",
    "Run",
    "Slot",
    "Timetable",
    "TimetableInvalid",
    "Transition",
    "allows",
    "default_timetable",
    "due",
    "follow_up_jobs",
    "hooks",
    "jobs",
    "missed_policy",
    "next_phase",
    "previous_phase",
    "why_not",
]

UTC = timezone.utc

# --- phases -------------------------------------------------------------------------------

DAY1_PHASES = ("kickoff", "group_formation", "stages", "stage_details", "share_vote",
               "day1_wrapup")
DAY2_PHASES = ("validation", "consolidation", "final_maps")
PHASES = ("preparation", *DAY1_PHASES, *DAY2_PHASES, "follow_up", "done")
TIMED = (*DAY1_PHASES, *DAY2_PHASES, "follow_up")
"""Phases with a slot in the timetable, in protocol order."""

_INDEX = {phase: i for i, phase in enumerate(PHASES)}
_BLOCK = {**dict.fromkeys(DAY1_PHASES, 1), **dict.fromkeys(DAY2_PHASES, 2), "follow_up": 2}


def _check_phase(phase: str) -> None:
    if phase not in _INDEX:
        raise ValueError(f"unknown phase {phase!r}")


def next_phase(phase: str) -> str | None:
    """The phase after ``phase`` in protocol order (None after ``done``)."""
    _check_phase(phase)
    i = _INDEX[phase] + 1
    return PHASES[i] if i < len(PHASES) else None


def previous_phase(phase: str) -> str | None:
    """The phase before ``phase`` in protocol order (None before ``preparation``)."""
    _check_phase(phase)
    i = _INDEX[phase] - 1
    return PHASES[i] if i >= 0 else None


# --- what each phase allows ---------------------------------------------------------------

ACTIONS = ("join", "form_groups", "post", "arrange", "vote", "customer_answer",
           "accept_corrections", "publish_maps", "assign_owners")

_POSTING = ("stages", "stage_details", "share_vote", "day1_wrapup", "validation",
            "consolidation")
ACTION_PHASES: Mapping[str, frozenset[str]] = {
    "join": frozenset(("preparation", *DAY1_PHASES)),
    "form_groups": frozenset(("preparation", "kickoff", "group_formation")),
    "post": frozenset(_POSTING),            # add / edit post-its
    "arrange": frozenset(_POSTING),         # move / reorder post-its on the board
    "vote": frozenset(("share_vote",)),
    "customer_answer": frozenset(("validation",)),
    "accept_corrections": frozenset(("validation", "consolidation")),
    "publish_maps": frozenset(("day1_wrapup", "final_maps", "follow_up")),
    "assign_owners": frozenset(("final_maps", "follow_up")),
}
"""Where each action is open without any facilitator reopening."""

REFUSALS: Mapping[str, tuple[str, str]] = {
    # action: (code before it opens or between two open periods, code after it closed)
    "join": ("join_not_open_yet", "join_closed"),
    "form_groups": ("groups_not_open_yet", "groups_closed"),
    "post": ("posts_not_open_yet", "posts_closed"),
    "arrange": ("board_not_open_yet", "board_closed"),
    "vote": ("votes_not_open_yet", "votes_closed"),
    "customer_answer": ("validation_not_open", "validation_closed"),
    "accept_corrections": ("corrections_not_open_yet", "corrections_closed"),
    "publish_maps": ("maps_not_ready", "maps_closed"),
    "assign_owners": ("owners_not_open_yet", "owners_closed"),
}
"""Refusal codes of ``why_not``; in ``done`` every action is refused with ``workshop_done``.
(``join_not_open_yet``, ``groups_not_open_yet``, ``maps_closed`` and ``owners_closed`` cannot
occur with the default table but are kept so every action has both codes.)"""


def _check_action(action: str) -> None:
    if action not in ACTION_PHASES:
        raise ValueError(f"unknown action {action!r}")


def why_not(phase: str, action: str, reopened: Iterable[str] = frozenset()) -> str:
    """Why ``action`` is refused in ``phase``: a code from ``REFUSALS`` or ``workshop_done``;
    ``""`` (falsy) when it is allowed. Unknown phases or actions raise ``ValueError``."""
    _check_phase(phase)
    _check_action(action)
    if phase == "done":
        return "workshop_done"
    open_in = ACTION_PHASES[action]
    if phase in open_in:
        return ""
    position = _INDEX[phase]
    first = min(_INDEX[p] for p in open_in)
    last = max(_INDEX[p] for p in open_in)
    if position < first:
        return REFUSALS[action][0]
    if action in frozenset(reopened):
        return ""
    return REFUSALS[action][0] if position < last else REFUSALS[action][1]


def allows(phase: str, action: str, reopened: Iterable[str] = frozenset()) -> bool:
    """Whether ``action`` is allowed in ``phase``. ``reopened``: actions the facilitator
    explicitly reopened (they stay allowed after closing, until ``done``)."""
    return why_not(phase, action, reopened) == ""


# --- hooks --------------------------------------------------------------------------------

MOMENTS = ("start", "reminder", "nudge", "owner_reminder", "end", "skip")
"""Transition moments; at equal times they fire in this order."""
JOB_KINDS = ("start", "reminder", "nudge", "owner_reminder", "end")
"""Kinds of scheduled jobs (``skip`` only comes from the facilitator)."""
_MOMENT_ORDER = {m: i for i, m in enumerate(MOMENTS)}

_START_HOOKS: Mapping[str, tuple[str, ...]] = {
    "preparation": ("announce_phase",),
    "kickoff": ("announce_kickoff",),  # the kickoff's own announcement, instead of announce_phase
    "group_formation": ("announce_phase", "suggest_groups"),
    "stages": ("announce_phase",),
    "stage_details": ("announce_phase",),
    "share_vote": ("announce_phase", "open_votes"),
    "day1_wrapup": ("announce_phase",),
    "validation": ("announce_phase", "invite_customers"),
    "consolidation": ("announce_phase",),
    "final_maps": ("announce_phase",),
    "follow_up": ("announce_phase", "ask_owners"),
    "done": ("close_workshop",),  # silent close: the review reminder was the last message
}
_END_HOOKS: Mapping[str, tuple[str, ...]] = {
    "share_vote": ("post_vote_results",),
    "day1_wrapup": ("render_hypothetical_maps", "post_leadership_digest"),
    "validation": ("thank_customers",),
    "final_maps": ("render_validated_maps", "post_leadership_summary"),
    "follow_up": ("remind_review_map",),
}
_REMINDER_HOOKS: Mapping[str, tuple[str, ...]] = {
    "validation": ("remind_customers",),  # one automatic reminder before validation ends
}
_SKIP_HOOKS: Mapping[str, tuple[str, ...]] = {
    "day1_wrapup": ("render_hypothetical_maps", "post_leadership_digest"),
    "final_maps": ("render_validated_maps", "post_leadership_summary"),
}

HOOKS: Mapping[str, str] = {
    "announce_phase": "post the new phase and what to do now in the workshop and group channels",
    "announce_kickoff": "post the kick-off message (objectives, agenda) in the workshop channel",
    "suggest_groups": "show the facilitator a group preview (workflows.groups)",
    "open_votes": "post the share-out and the dot-voting controls",
    "post_vote_results": "post the vote results",
    "render_hypothetical_maps": "render and post every group's hypothetical map",
    "post_leadership_digest": "post the day-1 digest to the leadership channel",
    "invite_customers": "invite the customers and show each the map of their customer type",
    "thank_customers": "thank the customers and close their validation",
    "render_validated_maps": "render and post the final maps everywhere",
    "post_leadership_summary": "post the final summary to the leadership channel",
    "ask_owners": "ask the facilitator to assign an owner to each opportunity",
    "remind_owners": "remind owners of their opportunities",
    "remind_review_map": "remind the facilitator to review the map",
    "close_workshop": "mark the workshop closed (App Home, buttons)",
    "reminder": "tell the channel(s) the phase ends soon (time left from Transition.deadline)",
    "remind_customers": "remind the customers who haven't finished their review",
    "nudge": "nudge groups whose board is still thin for this phase",
}
"""Every hook code, with what the Slack layer is expected to do."""

EFFECT_HOOKS = frozenset({
    "suggest_groups", "open_votes", "post_vote_results", "render_hypothetical_maps",
    "post_leadership_digest", "invite_customers", "render_validated_maps",
    "post_leadership_summary", "ask_owners", "remind_owners", "remind_review_map",
    "close_workshop",
})
"""Hooks whose result is still needed when they run late (``missed_policy`` keeps them);
the others (announcements, reminders, nudges) are only worth it on time."""


def hooks(phase: str, moment: str) -> tuple[str, ...]:
    """Hook codes to run at ``moment`` of ``phase`` (possibly empty). ``moment`` is one of
    ``MOMENTS``; ``reminder`` and ``nudge`` exist for every timed phase (whether they are
    scheduled depends on the slot), ``owner_reminder`` only for ``follow_up``."""
    _check_phase(phase)
    if moment == "start":
        return _START_HOOKS.get(phase, ())
    if moment == "end":
        return _END_HOOKS.get(phase, ())
    if moment == "skip":
        return _SKIP_HOOKS.get(phase, ())
    if moment == "reminder":
        return ("reminder", *_REMINDER_HOOKS.get(phase, ())) if phase in _BLOCK else ()
    if moment == "nudge":
        return ("nudge",) if phase in _BLOCK and "post" in _allowed_actions(phase) else ()
    if moment == "owner_reminder":
        return ("remind_owners",) if phase == "follow_up" else ()
    raise ValueError(f"unknown moment {moment!r}")


def _allowed_actions(phase: str) -> frozenset[str]:
    return frozenset(a for a, phases in ACTION_PHASES.items() if phase in phases)


# --- timetable ----------------------------------------------------------------------------

TIMETABLE_PROBLEMS = (
    "unknown_phase",          # {"phase"}: not a timed phase
    "missing_slot",           # {"phase"}
    "duplicate_slot",         # {"phase"}
    "unknown_timezone",       # {"tz"}
    "naive_datetime",         # {"phase"}: starts_at without a time zone
    "duration_not_positive",  # {"phase"}
    "reminder_out_of_range",  # {"phase"}: reminder_before < 0 or >= the duration
    "overlap",                # {"phase", "previous"}: starts before the previous phase ends
    "day2_before_day1",       # {"phase", "previous"}: day 2 starts before day 1 ends
)
"""Problem codes of timetable validation (``Problem.params`` in the comments)."""

DEFAULT_REMINDER = timedelta(minutes=10)
DEFAULT_OWNER_REMINDER = timedelta(days=30)
DEFAULT_REVIEW = timedelta(days=365)

# (phase, day, offset from that day's start, duration), in local wall-clock time.
_DEFAULT_TEMPLATE = (
    ("kickoff", 1, timedelta(0), timedelta(minutes=30)),                         # 09:00–09:30
    ("group_formation", 1, timedelta(minutes=30), timedelta(minutes=30)),        # 09:30–10:00
    ("stages", 1, timedelta(hours=1), timedelta(hours=1, minutes=30)),           # 10:00–11:30
    ("stage_details", 1, timedelta(hours=2, minutes=30),
     timedelta(hours=3, minutes=30)),                                            # 11:30–15:00
    ("share_vote", 1, timedelta(hours=6), timedelta(hours=1, minutes=30)),       # 15:00–16:30
    ("day1_wrapup", 1, timedelta(hours=7, minutes=30), timedelta(minutes=30)),   # 16:30–17:00
    ("validation", 2, timedelta(0), timedelta(hours=3)),                         # 09:00–12:00
    ("consolidation", 2, timedelta(hours=4), timedelta(hours=2)),                # 13:00–15:00
    ("final_maps", 2, timedelta(hours=6), timedelta(hours=1)),                   # 15:00–16:00
)


@dataclass(frozen=True)
class Slot:
    """When a timed phase runs. ``starts_at`` is aware (normalised to UTC).

    ``reminder_before``: the ``reminder`` fires that long before the end (0 = no reminder;
    must be shorter than the phase). ``nudge``: whether a ``nudge`` fires at the end (only
    for phases where ``post`` is allowed). ``planned``: set by a ``Run`` when it cuts a phase
    short (left early or skipped); ``duration`` is then what the phase really lasted (maybe 0)
    and ``planned`` the length it gets again if the facilitator goes back to it.
    """

    phase: str
    starts_at: datetime
    duration: timedelta
    reminder_before: timedelta = DEFAULT_REMINDER
    nudge: bool = True
    planned: timedelta | None = None

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is not None:
            object.__setattr__(self, "starts_at", self.starts_at.astimezone(UTC))

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + self.duration

    @property
    def length(self) -> timedelta:
        """The phase's intended length: ``planned`` if it was cut short, else ``duration``."""
        return self.planned if self.planned is not None else self.duration

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "phase": self.phase, "starts_at": self.starts_at.isoformat(),
            "duration_seconds": _seconds(self.duration),
            "reminder_before_seconds": _seconds(self.reminder_before), "nudge": self.nudge,
        }
        if self.planned is not None:
            data["planned_seconds"] = _seconds(self.planned)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Slot:
        planned = data.get("planned_seconds")
        return cls(
            phase=data["phase"], starts_at=datetime.fromisoformat(data["starts_at"]),
            duration=timedelta(seconds=data["duration_seconds"]),
            reminder_before=timedelta(seconds=data.get(
                "reminder_before_seconds", DEFAULT_REMINDER.total_seconds())),
            nudge=bool(data.get("nudge", True)),
            planned=None if planned is None else timedelta(seconds=planned),
        )


def _seconds(delta: timedelta) -> int | float:
    seconds = delta.total_seconds()
    return int(seconds) if seconds == int(seconds) else seconds


class TimetableInvalid(Invalid):
    """A timetable edit was refused. ``problems``: every problem found; ``fields``: the first
    problem per phase (keyed by phase, or ``"timetable"``), as ``Invalid`` expects for inline
    errors in a modal."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        fields: dict[str, Problem] = {}
        for problem in self.problems:
            fields.setdefault(str(problem.params.get("phase", "timetable")), problem)
        super().__init__(fields)


@dataclass(frozen=True)
class Timetable:
    """One slot per timed phase (``TIMED``), kept in protocol order, plus the workshop's time
    zone and when the owner reminder fires after ``follow_up`` starts.

    Valid when: every timed phase has exactly one slot; times are aware; durations > 0
    (0 allowed for a slot a run cut short); ``0 <= reminder_before < length``; each slot
    starts no earlier than the previous one ends (gaps, e.g. lunch, are fine), so within a
    day nothing overlaps and day 2 starts after day 1 ends. The constructor only normalises
    (sorting, UTC); ``problems()`` validates and the editing operations raise
    ``TimetableInvalid`` on any problem.
    """

    tz: str
    slots: tuple[Slot, ...]
    owner_reminder_after: timedelta = DEFAULT_OWNER_REMINDER

    def __post_init__(self) -> None:
        rank = {phase: i for i, phase in enumerate(TIMED)}
        ordered = sorted(self.slots, key=lambda s: rank.get(s.phase, len(TIMED)))
        object.__setattr__(self, "slots", tuple(ordered))

    # reading

    def slot(self, phase: str) -> Slot:
        """The slot of ``phase`` (KeyError if it has none)."""
        for slot in self.slots:
            if slot.phase == phase:
                return slot
        raise KeyError(phase)

    def starts_at(self, phase: str) -> datetime:
        return self.slot(phase).starts_at

    def ends_at(self, phase: str) -> datetime:
        return self.slot(phase).ends_at

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def local(self, phase: str) -> tuple[datetime, datetime]:
        """Start and end of ``phase`` in the workshop's time zone (for display)."""
        slot = self.slot(phase)
        return slot.starts_at.astimezone(self.zone), slot.ends_at.astimezone(self.zone)

    def problems(self) -> tuple[Problem, ...]:
        """Every validation problem (empty when the timetable is valid)."""
        found: list[Problem] = []
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            found.append(Problem("unknown_timezone", {"tz": self.tz}))
        seen: set[str] = set()
        for slot in self.slots:
            if slot.phase not in _BLOCK:
                found.append(Problem("unknown_phase", {"phase": slot.phase}))
            elif slot.phase in seen:
                found.append(Problem("duplicate_slot", {"phase": slot.phase}))
            seen.add(slot.phase)
        found += [Problem("missing_slot", {"phase": p}) for p in TIMED if p not in seen]
        for slot in self.slots:
            params = {"phase": slot.phase}
            if slot.starts_at.tzinfo is None:
                found.append(Problem("naive_datetime", params))
            cut = slot.planned is not None
            if slot.duration < timedelta(0) or (slot.duration == timedelta(0) and not cut) or (
                    cut and slot.length <= timedelta(0)):
                found.append(Problem("duration_not_positive", params))
            elif slot.reminder_before < timedelta(0) or (
                    slot.reminder_before > timedelta(0) and slot.reminder_before >= slot.length):
                found.append(Problem("reminder_out_of_range", params))
        if found:
            return tuple(found)
        for previous, slot in zip(self.slots, self.slots[1:], strict=False):
            if slot.starts_at < previous.ends_at:
                code = ("day2_before_day1"
                        if _BLOCK[previous.phase] != _BLOCK[slot.phase] else "overlap")
                found.append(Problem(code, {"phase": slot.phase, "previous": previous.phase}))
        return tuple(found)

    def validated(self) -> Timetable:
        """This timetable, or ``TimetableInvalid`` with all its problems."""
        if problems := self.problems():
            raise TimetableInvalid(problems)
        return self

    # editing (each returns a new, validated timetable or raises TimetableInvalid)

    def with_slot(self, phase: str, starts_at: datetime | None = None,
                  duration: timedelta | None = None, reminder_before: timedelta | None = None,
                  nudge: bool | None = None) -> Timetable:
        """Change one slot's fields as given; nothing else moves. A new ``duration`` also
        clears ``planned``."""
        slot = self._slot_or_problem(phase)
        changes: dict[str, Any] = {}
        if starts_at is not None:
            changes["starts_at"] = starts_at
        if duration is not None:
            changes["duration"], changes["planned"] = duration, None
        if reminder_before is not None:
            changes["reminder_before"] = reminder_before
        if nudge is not None:
            changes["nudge"] = nudge
        return self._replacing(replace(slot, **changes)).validated()

    def shift(self, phase: str, delta: timedelta) -> Timetable:
        """Lengthen ``phase`` by ``delta`` (negative: shorten) and move the later phases of the
        same day by the same amount, keeping their gaps. If day 1 then runs into day 2, day 2
        is pushed just enough (``follow_up`` moves with day 2)."""
        self._slot_or_problem(phase)
        return self._shifted(phase, delta).validated()

    def start_now(self, phase: str, now: datetime) -> Timetable:
        """Move ``phase`` to start at ``now`` (same duration) and the later phases of its day
        by the same amount; a later day is pushed only if it would overlap. Refused
        (``overlap`` / ``day2_before_day1``) if that overlaps an earlier phase."""
        slot = self._slot_or_problem(phase)
        _check_aware(now)
        return self._moved(phase, now - slot.starts_at).validated()

    # serialisation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (ISO datetimes, durations in seconds)."""
        return {"tz": self.tz, "owner_reminder_after_seconds": _seconds(self.owner_reminder_after),
                "slots": [slot.to_dict() for slot in self.slots]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timetable:
        """Inverse of ``to_dict``; raises ``TimetableInvalid`` if the result is invalid."""
        return cls(
            tz=data["tz"], slots=tuple(Slot.from_dict(s) for s in data["slots"]),
            owner_reminder_after=timedelta(seconds=data.get(
                "owner_reminder_after_seconds", DEFAULT_OWNER_REMINDER.total_seconds())),
        ).validated()

    # internals: these never validate; callers do.

    def _slot_or_problem(self, phase: str) -> Slot:
        try:
            return self.slot(phase)
        except KeyError:
            raise TimetableInvalid([Problem("unknown_phase", {"phase": phase})]) from None

    def _replacing(self, *new: Slot) -> Timetable:
        by_phase = {s.phase: s for s in new}
        return replace(self, slots=tuple(by_phase.get(s.phase, s) for s in self.slots))

    def _shifted(self, phase: str, delta: timedelta) -> Timetable:
        """Lengthen ``phase`` by ``delta``; later phases of its day move by ``delta``."""
        slots = list(self.slots)
        i = _position(slots, phase)
        slots[i] = replace(slots[i], duration=slots[i].duration + delta)
        return self._pushed(slots, i, delta)

    def _moved(self, phase: str, delta: timedelta) -> Timetable:
        """Move ``phase`` and the later phases of its day by ``delta``."""
        slots = list(self.slots)
        i = _position(slots, phase)
        slots[i] = replace(slots[i], starts_at=slots[i].starts_at + delta)
        return self._pushed(slots, i, delta)

    def _pushed(self, slots: list[Slot], i: int, delta: timedelta) -> Timetable:
        block = _BLOCK.get(slots[i].phase)
        for j in range(i + 1, len(slots)):
            if _BLOCK.get(slots[j].phase) == block:
                slots[j] = replace(slots[j], starts_at=slots[j].starts_at + delta)
        _ripple(slots, i)
        return replace(self, slots=tuple(slots))


def _position(slots: list[Slot], phase: str) -> int:
    for i, slot in enumerate(slots):
        if slot.phase == phase:
            return i
    raise KeyError(phase)


def _ripple(slots: list[Slot], i: int) -> None:
    """Push each slot after ``i`` just enough to start when the previous one ends."""
    for j in range(i + 1, len(slots)):
        if slots[j].starts_at < slots[j - 1].ends_at:
            slots[j] = replace(slots[j], starts_at=slots[j - 1].ends_at)


def _check_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware datetime")


def _wall(day_start_local: datetime, offset: timedelta, zone: ZoneInfo) -> datetime:
    """``offset`` after a day's local start, in local wall-clock time, as UTC."""
    naive = day_start_local.replace(tzinfo=None) + offset
    return naive.replace(tzinfo=zone).astimezone(UTC)


def default_timetable(day1_start: datetime, day2_start: datetime, tz: str) -> Timetable:
    """The default protocol, relative to each day's start (09:00 gives the times below).

    Day 1: kickoff 09:00–09:30, group_formation –10:00, stages –11:30, stage_details –15:00,
    share_vote –16:30, day1_wrapup –17:00. Day 2: validation 09:00–12:00, (lunch),
    consolidation 13:00–15:00, final_maps 15:00–16:00. follow_up starts when final_maps ends
    and lasts 365 days (no reminder, no nudge); its end is the "review this map" reminder.
    Times are computed in ``tz`` wall-clock time, so 09:00 stays 09:00 local across DST
    changes; stored in UTC. Reminders 10 minutes before each end; nudges on. Raises
    ``TimetableInvalid`` (e.g. ``unknown_timezone``, ``day2_before_day1``); naive datetimes
    raise ``ValueError``.
    """
    _check_aware(day1_start)
    _check_aware(day2_start)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise TimetableInvalid([Problem("unknown_timezone", {"tz": tz})]) from None
    local = {1: day1_start.astimezone(zone), 2: day2_start.astimezone(zone)}
    slots = []
    for phase, day, offset, duration in _DEFAULT_TEMPLATE:
        start = _wall(local[day], offset, zone)
        slots.append(Slot(phase, start, _wall(local[day], offset + duration, zone) - start))
    slots.append(Slot("follow_up", slots[-1].ends_at, DEFAULT_REVIEW,
                      reminder_before=timedelta(0), nudge=False))
    return Timetable(tz, tuple(slots)).validated()


# --- transitions and jobs -----------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """A moment of a phase whose hooks must fire (``hooks(phase, moment)``).

    ``n``: the phase's entry number (1 the first time it starts, 2 after going back to it...).
    ``deadline``: for reminders, the end they announce. ``key`` is unique within a workshop
    and stable across recomputations: store it under ``(workshop_id, key)``.
    """

    phase: str
    moment: str
    at: datetime
    n: int
    deadline: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.phase}:{self.moment}:{self.n}"

    @property
    def hooks(self) -> tuple[str, ...]:
        return hooks(self.phase, self.moment)


@dataclass(frozen=True)
class Job:
    """A scheduled wake-up: ``id`` = ``f"w{workshop_id}:{phase}:{kind}:{n}"``, ``kind`` one of
    ``JOB_KINDS``. Use ``replace_existing=True``; the handler calls ``Run.tick``."""

    id: str
    at: datetime
    kind: str
    phase: str


def _job(t: Transition, workshop_id: object) -> Job:
    return Job(f"w{workshop_id}:{t.key}", t.at, t.moment, t.phase)


DEFAULT_GRACE = timedelta(minutes=15)


def missed_policy(transition: Transition, now: datetime,
                  grace: timedelta = DEFAULT_GRACE) -> str:
    """``"run"`` or ``"skip"`` for a transition computed at ``now`` (late after a restart).

    On time (no later than ``grace``): ``run``. Late: a ``reminder`` runs while its deadline
    is still ahead; a ``nudge`` is skipped; any other moment runs if one of its hooks is in
    ``EFFECT_HOOKS`` (maps, digests, invitations, vote controls... are still needed) and is
    skipped otherwise (announcements). "run" means run all its hooks. Record skipped
    transitions' keys too, and tell the facilitator what was skipped.
    """
    if now - transition.at <= grace:
        return "run"
    if transition.moment == "reminder":
        return "run" if transition.deadline is not None and now < transition.deadline else "skip"
    if transition.moment == "nudge":
        return "skip"
    return "run" if EFFECT_HOOKS.intersection(transition.hooks) else "skip"


def follow_up_jobs(final_maps_end: datetime,
                   owner_reminder_after: timedelta = DEFAULT_OWNER_REMINDER,
                   review_after: timedelta = DEFAULT_REVIEW, *, workshop_id: object = "",
                   n: int = 1) -> list[Job]:
    """The follow-up reminders for a ``follow_up`` starting at ``final_maps_end``: the owner
    reminder (kind ``owner_reminder``, hook ``remind_owners``; only if it comes before the
    review) and the "review this map" reminder, which is the end of ``follow_up`` (kind
    ``end``, hook ``remind_review_map``). Same ids as ``jobs`` gives for a follow_up slot of
    ``review_after`` (``n``: follow_up's entry number)."""
    _check_aware(final_maps_end)
    out = []
    if owner_reminder_after < review_after:
        out.append(Transition("follow_up", "owner_reminder",
                              final_maps_end + owner_reminder_after, n))
    out.append(Transition("follow_up", "end", final_maps_end + review_after, n))
    return [_job(t, workshop_id) for t in out]


# --- the run ------------------------------------------------------------------------------

RUN_ERRORS = (
    "workshop_done",        # advance / skip / pause / extend after the end
    "no_previous_phase",    # back in preparation
    "nothing_to_skip",      # skip when only done is left
    "already_paused",
    "not_paused",
    "phase_not_timed",      # extend in preparation (no slot)
    "phase_ended",          # extend after the phase's end already fired (waiting for the next)
    "minutes_not_positive",
    "phase_changed",        # {"expected", "actual"}: the run moved on since the button was drawn
)
"""``WorkshopError`` codes raised by ``Run`` operations."""

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    """The state of a workshop run (immutable; persist it with ``to_dict``).

    ``phase``: the current phase, i.e. the last one that started. After its ``end`` fired
    (``"end" in fired``) it stays current until the next phase starts (e.g. lunch, the night
    between the days). ``entered_at``: when it started. ``entries``: how many times each
    phase was entered (the ``n`` of keys). ``fired``: moments of the current entry already
    fired. ``paused_at``: set while paused (nothing fires while paused). ``reopened``: actions
    the facilitator reopened (see ``allows``).

    The clock moves a run forward only through ``tick``: when the current phase's end is due
    it ends, and the next phase starts at its slot's start. One exception: from
    ``preparation``, a kickoff slot that starts before ``preparation`` was entered never
    starts by itself (after going back to ``preparation``, or a workshop created late): the
    facilitator advances, or moves the kickoff with ``Timetable.start_now``.
    """

    timetable: Timetable
    phase: str = "preparation"
    entered_at: datetime | None = None
    entries: tuple[tuple[str, int], ...] = (("preparation", 1),)
    fired: frozenset[str] = frozenset({"start"})
    paused_at: datetime | None = None
    reopened: frozenset[str] = frozenset()

    @classmethod
    def new(cls, timetable: Timetable, now: datetime | None = None) -> Run:
        """A run in ``preparation`` (its start counts as fired: creating the workshop is its
        announcement). ``now``: creation time (a kickoff slot before it never auto-starts)."""
        return cls(timetable=timetable.validated(), entered_at=now)

    # reading

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def count(self, phase: str) -> int:
        """How many times ``phase`` was entered (started or skipped)."""
        return dict(self.entries).get(phase, 0)

    def allows(self, action: str) -> bool:
        return allows(self.phase, action, self.reopened)

    def why_not(self, action: str) -> str:
        return why_not(self.phase, action, self.reopened)

    # facilitator operations: each returns (new_run, transitions)

    def advance(self, now: datetime, *, expected: str | None = None
                ) -> tuple[Run, list[Transition]]:
        """End the current phase now and start the next one now, with its full length. Later
        phases move only if they would overlap (just enough; day 2 too if day 1 runs into it).
        The current phase's slot is cut at ``now``. A paused run is unpaused (no push)."""
        self._expect(expected, now)
        if self.phase == "done":
            raise WorkshopError("workshop_done")
        target = next_phase(self.phase)
        assert target is not None
        return self._jump(target, now, skipped=None)

    def back(self, now: datetime, *, expected: str | None = None
             ) -> tuple[Run, list[Transition]]:
        """End the current phase now and start the previous phase again now, with its full
        (planned) length; the phases after it are pushed just enough to follow it. Gives new
        transition keys (a new entry). Back to ``preparation`` leaves the kickoff slot alone."""
        self._expect(expected, now)
        target = previous_phase(self.phase)
        if target is None:
            raise WorkshopError("no_previous_phase")
        return self._jump(target, now, skipped=None)

    def skip(self, now: datetime, *, expected: str | None = None
             ) -> tuple[Run, list[Transition]]:
        """Skip the next phase: end the current phase now, record the next one as skipped (a
        ``skip`` transition: only its indispensable effects, e.g. rendering maps) and start
        the one after it now. The skipped slot is cut to zero at ``now`` (its planned length
        is kept for a later ``back``)."""
        self._expect(expected, now)
        if self.phase == "done":
            raise WorkshopError("workshop_done")
        skipped = next_phase(self.phase)
        target = next_phase(skipped) if skipped else None
        if skipped is None or target is None:
            raise WorkshopError("nothing_to_skip")
        return self._jump(target, now, skipped=skipped)

    def pause(self, now: datetime) -> tuple[Run, list[Transition]]:
        """Stop the clock: nothing fires until ``resume`` (or a jump)."""
        _check_aware(now)
        if self.phase == "done":
            raise WorkshopError("workshop_done")
        if self.paused:
            raise WorkshopError("already_paused")
        return replace(self, paused_at=now.astimezone(UTC)), []

    def resume(self, now: datetime) -> tuple[Run, list[Transition]]:
        """Restart the clock; the current phase's end and the later phases of its day move by
        the paused time (day 2 only as far as needed). In ``preparation`` nothing moves."""
        _check_aware(now)
        if self.paused_at is None:
            raise WorkshopError("not_paused")
        paused_for = max(now - self.paused_at, timedelta(0))
        timetable = self.timetable
        if self.phase in _BLOCK:
            if "end" in self.fired:  # waiting for the next phase: only the rest of the day
                timetable = _push_day_after(timetable, self.phase, paused_for)
            else:
                timetable = timetable._shifted(self.phase, paused_for)
        return replace(self, timetable=timetable, paused_at=None), []

    def extend(self, now: datetime, minutes: int = 10) -> tuple[Run, list[Transition]]:
        """Give the current phase ``minutes`` more (from ``now`` if it is already overdue);
        the later phases of its day move by the same amount. Fires nothing; the reminder of
        this entry does not fire again."""
        _check_aware(now)
        if self.phase == "done":
            raise WorkshopError("workshop_done")
        if self.phase not in _BLOCK:
            raise WorkshopError("phase_not_timed")
        if "end" in self.fired:
            raise WorkshopError("phase_ended")
        if minutes <= 0:
            raise WorkshopError("minutes_not_positive")
        end = self.timetable.ends_at(self.phase)
        delta = max(end, now) - end + timedelta(minutes=minutes)
        return replace(self, timetable=self.timetable._shifted(self.phase, delta)), []

    def with_timetable(self, timetable: Timetable) -> Run:
        """Replace the timetable after a facilitator edit (it must be valid)."""
        return replace(self, timetable=timetable.validated())

    def reopen(self, *actions: str) -> Run:
        """Reopen closed actions (e.g. ``post`` after consolidation) until ``close``."""
        for action in actions:
            _check_action(action)
        return replace(self, reopened=self.reopened | frozenset(actions))

    def close(self, *actions: str) -> Run:
        """Undo ``reopen`` for these actions."""
        return replace(self, reopened=self.reopened - frozenset(actions))

    # the clock

    def tick(self, now: datetime) -> tuple[Run, list[Transition]]:
        """Apply every transition due by ``now`` (in time order) and return them. Pure: the
        same run and ``now`` always give the same transitions and keys. Nothing fires while
        paused or in ``done``."""
        _check_aware(now)
        run, out = self, []
        while True:
            event = run._next_event()
            if event is None or event[1] > now:
                return run, out
            run, fired = run._fire(*event)
            out += fired

    def _next_event(self) -> tuple[str, datetime] | None:
        """The next (moment, at) the clock would fire: a moment of the current entry, or
        ``"next"`` (the next phase's start)."""
        if self.paused or self.phase == "done":
            return None
        if self.phase in _BLOCK and "end" not in self.fired:
            slot = self.timetable.slot(self.phase)
            pending = [("end", slot.ends_at)]
            if slot.reminder_before > timedelta(0) and "reminder" not in self.fired:
                pending.append(("reminder", slot.ends_at - slot.reminder_before))
            if slot.nudge and hooks(self.phase, "nudge") and "nudge" not in self.fired:
                pending.append(("nudge", slot.ends_at))
            owner_at = slot.starts_at + self.timetable.owner_reminder_after
            if (self.phase == "follow_up" and "owner_reminder" not in self.fired
                    and owner_at < slot.ends_at):
                pending.append(("owner_reminder", owner_at))
            return min(pending, key=lambda e: (e[1], _MOMENT_ORDER[e[0]]))
        target = next_phase(self.phase)
        assert target is not None
        if target == "done":
            at = self.timetable.ends_at("follow_up")
        else:
            at = self.timetable.starts_at(target)
            if self.phase == "preparation" and self.entered_at is not None and (
                    at < self.entered_at):
                return None  # a kickoff slot in the past never restarts by itself
        return "next", at

    def _fire(self, moment: str, at: datetime) -> tuple[Run, list[Transition]]:
        if moment != "next":
            deadline = self.timetable.ends_at(self.phase) if moment == "reminder" else None
            t = Transition(self.phase, moment, at, self.count(self.phase), deadline)
            return replace(self, fired=self.fired | {moment}), [t]
        target = next_phase(self.phase)
        assert target is not None
        out = self._leaving(at)
        run = self._entering(target, at)
        return run, [*out, Transition(target, "start", at, run.count(target))]

    # internals

    def _expect(self, expected: str | None, now: datetime) -> None:
        _check_aware(now)
        if expected is not None and expected != self.phase:
            raise WorkshopError("phase_changed", expected=expected, actual=self.phase)

    def _leaving(self, at: datetime) -> list[Transition]:
        """The current phase's end, unless it already fired."""
        if "end" in self.fired:
            return []
        return [Transition(self.phase, "end", at, self.count(self.phase))]

    def _entering(self, phase: str, at: datetime) -> Run:
        counts = dict(self.entries)
        counts[phase] = counts.get(phase, 0) + 1
        return replace(self, phase=phase, entered_at=at, fired=frozenset({"start"}),
                       entries=_entries(counts), paused_at=None)

    def _jump(self, target: str, now: datetime, skipped: str | None
              ) -> tuple[Run, list[Transition]]:
        now = now.astimezone(UTC)
        out = self._leaving(now)
        counts = dict(self.entries)
        if skipped is not None:
            counts[skipped] = counts.get(skipped, 0) + 1
            out.append(Transition(skipped, "skip", now, counts[skipped]))
        run = replace(self, entries=_entries(counts))._entering(target, now)
        run = replace(run, timetable=_replan(self.timetable, target, now))
        out.append(Transition(target, "start", now, run.count(target)))
        return run, out

    # serialisation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (ISO datetimes)."""
        return {
            "phase": self.phase,
            "entered_at": _iso(self.entered_at),
            "entries": dict(self.entries),
            "fired": sorted(self.fired, key=_MOMENT_ORDER.__getitem__),
            "paused_at": _iso(self.paused_at),
            "reopened": sorted(self.reopened),
            "timetable": self.timetable.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        return cls(
            timetable=Timetable.from_dict(data["timetable"]),
            phase=data["phase"],
            entered_at=_from_iso(data.get("entered_at")),
            entries=_entries(data.get("entries", {})),
            fired=frozenset(data.get("fired", ())),
            paused_at=_from_iso(data.get("paused_at")),
            reopened=frozenset(data.get("reopened", ())),
        )


def _entries(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple((p, int(counts[p])) for p in PHASES if counts.get(p))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _push_day_after(timetable: Timetable, phase: str, delta: timedelta) -> Timetable:
    """Move the phases after ``phase`` in its day by ``delta`` (``phase`` itself stays)."""
    slots = list(timetable.slots)
    i = _position(slots, phase)
    return timetable._pushed(slots, i, delta)


def _replan(timetable: Timetable, target: str, now: datetime) -> Timetable:
    """Re-plan for ``target`` starting at ``now``: every slot before it is cut so it ends by
    ``now`` (keeping its ``planned`` length), ``target`` starts now with its full length, and
    the slots after it are pushed just enough not to overlap."""
    slots = list(timetable.slots)
    if target == "preparation":
        return timetable
    stop = _position(slots, target) if target in _BLOCK else len(slots)  # done: cut them all
    for i in range(stop):
        slot = slots[i]
        if slot.ends_at > now:
            start = min(slot.starts_at, now)
            slots[i] = replace(slot, starts_at=start, duration=now - start, planned=slot.length)
    if target in _BLOCK:
        slot = slots[stop]
        slots[stop] = replace(slot, starts_at=now, duration=slot.length, planned=None)
        _ripple(slots, stop)
    return replace(timetable, slots=tuple(slots))


# --- module-level helpers for the scheduler -----------------------------------------------


def due(run: Run, now: datetime) -> list[Transition]:
    """The transitions whose time has come since the run's last applied state (what a
    restart missed). ``run.tick(now)`` also returns the run to save afterwards. Computing it
    twice gives the same keys."""
    return run.tick(now)[1]


def jobs(run: Run, workshop_id: object) -> list[Job]:
    """Every event the run will fire if nobody intervenes (phase starts and ends, reminders,
    nudges, the owner reminder, the review reminder = ``follow_up`` end, ``done``), in time
    order, with deterministic ids ``f"w{workshop_id}:{phase}:{kind}:{n}"``. Includes events
    already due but not yet applied (a scheduler runs them at once). Several jobs may share a
    time (an end and the next start): the first one's ``tick`` applies them all, the others
    find nothing left to do. Empty while paused, in ``done``, or when the run waits for a
    manual advance. Recompute after every operation, tick or timetable edit."""
    return [_job(t, workshop_id) for t in run.tick(_FAR_FUTURE)[1]]
