"""Creating a workshop, registering people, and telling each person where they stand."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.models import Objective, Person, Role, Workshop
from workflows.problems import Forbidden, Invalid, NotFound, Problem

DEFAULT_DEPARTMENTS = (
    "marketing", "cx", "sales", "finance", "legal", "communication", "after_sales", "product",
    "support", "other",
)
CHANNEL_FOCUSES = ("online", "offline", "cross_channel", "omnichannel")

# Slack's own limits, so a workshop never produces a menu Slack would refuse.
MAX_OPTIONS = 100          # options in a static select
MAX_OPTION_TEXT = 75       # characters in an option label
MAX_NAME = 150
MAX_OBJECTIVES = 10
MAX_OBJECTIVE_TEXT = 300
MAX_KPI_TEXT = 100
MIN_GROUP_SIZE, MAX_GROUP_SIZE = 2, 12
OBJECTIVE_SEPARATOR = "|"


@dataclass(frozen=True)
class WorkshopDraft:
    """What the facilitator typed in the new-workshop form, already parsed and valid."""

    name: str
    channel_id: str
    language: str
    timezone: str
    day1_start: datetime  # aware, UTC
    day2_start: datetime  # aware, UTC
    objectives: tuple[tuple[str, str], ...] = ()
    customer_types: tuple[str, ...] = ()
    channel_focuses: tuple[str, ...] = CHANNEL_FOCUSES
    departments: tuple[str, ...] = DEFAULT_DEPARTMENTS
    min_group_size: int = 4
    max_group_size: int = 6
    leadership_channel_id: str | None = None  # None: summaries go to leadership by DM


@dataclass
class WorkshopForm:
    """Raw form values (strings, as typed or picked). `parse()` validates them all at once."""

    name: str | None = None
    channel_id: str | None = None
    language: str | None = "en"
    timezone: str | None = None
    day1_date: str | None = None   # YYYY-MM-DD
    day1_time: str | None = "09:00"
    day2_date: str | None = None
    day2_time: str | None = "09:00"
    objectives: str | None = None  # one per line: "objective | KPI"
    customer_types: str | None = None  # one per line
    channel_focuses: list[str] | None = None
    departments: str | None = None  # one per line
    min_group_size: str | None = "4"
    max_group_size: str | None = "6"
    department_aliases: dict[str, str] = field(default_factory=dict)  # label → key
    leadership_channel_id: str | None = None  # optional

    def parse(self) -> WorkshopDraft:
        errors: dict[str, Problem] = {}
        name = (self.name or "").strip()
        if not name:
            errors["name"] = Problem("name_required")
        elif len(name) > MAX_NAME:
            errors["name"] = Problem("too_long", {"max": MAX_NAME})
        if not self.channel_id:
            errors["channel"] = Problem("channel_required")

        tz_name = (self.timezone or "").strip()
        tz: ZoneInfo | None = None
        try:
            tz = ZoneInfo(tz_name) if tz_name else None
        except (ZoneInfoNotFoundError, ValueError):
            tz = None
        if tz is None:
            errors["timezone"] = Problem("timezone_unknown", {"value": tz_name})

        # With an unknown zone, still check the dates (in UTC) so every problem shows at once.
        day1 = _combine(self.day1_date, self.day1_time, tz or ZoneInfo("UTC"))
        day2 = _combine(self.day2_date, self.day2_time, tz or ZoneInfo("UTC"))
        if day1 is None:
            errors["day1_date"] = Problem("date_required")
        if day2 is None:
            errors["day2_date"] = Problem("date_required")
        if day1 and day2 and day2 <= day1:
            errors["day2_date"] = Problem("day2_before_day1")

        objectives: list[tuple[str, str]] = []
        for number, line in enumerate(_lines(self.objectives), start=1):
            text, sep, kpi = line.partition(OBJECTIVE_SEPARATOR)
            text, kpi = text.strip(), kpi.strip()
            if not sep or not kpi or not text:
                errors.setdefault("objectives", Problem("objective_needs_kpi", {"line": number}))
            elif len(text) > MAX_OBJECTIVE_TEXT or len(kpi) > MAX_KPI_TEXT:
                errors.setdefault("objectives", Problem("line_too_long",
                                                        {"line": number, "max": MAX_KPI_TEXT}))
            objectives.append((text, kpi))
        if len(objectives) > MAX_OBJECTIVES:
            errors["objectives"] = Problem("too_many", {"max": MAX_OBJECTIVES})

        customer_types = _unique(_lines(self.customer_types))
        if problem := _menu_problem(customer_types):
            errors["customer_types"] = problem

        departments = _unique(self.department_aliases.get(d.casefold(), d)
                              for d in _lines(self.departments))
        if not departments:
            departments = list(DEFAULT_DEPARTMENTS)
        if problem := _menu_problem(departments):
            errors["departments"] = problem

        focuses = [f for f in (self.channel_focuses or []) if f in CHANNEL_FOCUSES]

        low, high = _int(self.min_group_size), _int(self.max_group_size)
        if low is None or not MIN_GROUP_SIZE <= low <= MAX_GROUP_SIZE:
            errors["min_group_size"] = Problem("group_size_range",
                                               {"min": MIN_GROUP_SIZE, "max": MAX_GROUP_SIZE})
        if high is None or not MIN_GROUP_SIZE <= high <= MAX_GROUP_SIZE:
            errors["max_group_size"] = Problem("group_size_range",
                                               {"min": MIN_GROUP_SIZE, "max": MAX_GROUP_SIZE})
        elif low is not None and low > high:
            errors["max_group_size"] = Problem("group_bounds_order")

        if errors:
            raise Invalid(errors)
        assert day1 and day2 and low and high and self.channel_id
        return WorkshopDraft(
            name=name, channel_id=self.channel_id, language=self.language or "en",
            timezone=tz_name, day1_start=day1, day2_start=day2, objectives=tuple(objectives),
            customer_types=tuple(customer_types), channel_focuses=tuple(focuses),
            departments=tuple(departments), min_group_size=low, max_group_size=high,
            leadership_channel_id=self.leadership_channel_id or None,
        )


def _lines(text: str | None) -> list[str]:
    return [line.strip(" \t-•*") for line in (text or "").splitlines() if line.strip(" \t-•*")]


def _unique(items) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return list(seen.values())


def _menu_problem(items: list[str]) -> Problem | None:
    if len(items) > MAX_OPTIONS:
        return Problem("too_many", {"max": MAX_OPTIONS})
    for number, item in enumerate(items, start=1):
        if len(item) > MAX_OPTION_TEXT:
            return Problem("line_too_long", {"line": number, "max": MAX_OPTION_TEXT})
    return None


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _combine(day: str | None, at: str | None, tz: ZoneInfo | None) -> datetime | None:
    if not day or tz is None:
        return None
    try:
        local = datetime.combine(date.fromisoformat(day), time.fromisoformat(at or "09:00"))
    except ValueError:
        return None
    return local.replace(tzinfo=tz).astimezone(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- operations ---------------------------------------------------------------------------


def create_workshop(uow, draft: WorkshopDraft, *, creator: str, creator_locale: str | None = None
                    ) -> Workshop:
    """Create the workshop, its first facilitator (the creator) and its schedule run, in
    the caller's unit of work (the caller commits). Storing the run now means a workshop is
    never mistaken for one that predates the schedule (those are adopted silently)."""
    from workflows.schedule import begin  # schedule builds on workshops, not the reverse
    workshop = Workshop(
        team_id=uow.team_id, enterprise_id=uow.enterprise_id, name=draft.name,
        language=draft.language, timezone=draft.timezone, day1_start=draft.day1_start,
        day2_start=draft.day2_start, channel_id=draft.channel_id,
        customer_types=list(draft.customer_types), channel_focuses=list(draft.channel_focuses),
        departments=list(draft.departments), min_group_size=draft.min_group_size,
        max_group_size=draft.max_group_size, created_by=creator,
        leadership_channel_id=draft.leadership_channel_id,
    )
    workshop.objectives = [Objective(position=i, text=text, kpi=kpi)
                           for i, (text, kpi) in enumerate(draft.objectives)]
    uow.workshops.add(workshop)
    uow.people.add(Person(workshop_id=workshop.id, user_id=creator, role=Role.FACILITATOR.value,
                          locale=creator_locale))
    begin(uow, workshop)
    return workshop


def get_workshop(uow, workshop_id: int) -> Workshop:
    workshop = uow.workshops.get(workshop_id)
    if workshop is None:  # also for a workshop of another workspace: nothing is revealed
        raise NotFound("workshop_not_found")
    return workshop


def set_leadership_channel(uow, workshop_id: int, by: str, channel_id: str | None
                           ) -> Workshop:
    """Where leadership summaries go: a channel, or None (DMs to leadership members).
    Facilitators only. Caller commits."""
    workshop = require_role(uow, workshop_id, by, Role.FACILITATOR)
    workshop.leadership_channel_id = channel_id or None
    return workshop


def role_of(uow, workshop_id: int, user_id: str) -> str | None:
    person = uow.people.get(workshop_id, user_id)
    return person.role if person else None


def require_role(uow, workshop_id: int, user_id: str, *roles: Role) -> Workshop:
    """The workshop, if `user_id` holds one of `roles` in it; otherwise Forbidden/NotFound."""
    workshop = get_workshop(uow, workshop_id)
    role = role_of(uow, workshop_id, user_id)
    if role not in {r.value for r in roles}:
        raise Forbidden("not_allowed", role=role or "none",
                        needed=",".join(r.value for r in roles))
    return workshop


@dataclass(frozen=True)
class JoinResult:
    person: Person
    created: bool
    changed: bool


def join(uow, workshop_id: int, user_id: str, department: str, *, locale: str | None = None
         ) -> JoinResult:
    """Register `user_id` as a participant with a department (or change their department).

    Facilitators, leadership and customers keep their role; only their department is set.
    """
    workshop = get_workshop(uow, workshop_id)
    if department not in workshop.departments:
        raise Invalid({"department": Problem("unknown_department")})
    person = uow.people.get(workshop_id, user_id)
    if person is None:
        person = uow.people.add(Person(workshop_id=workshop_id, user_id=user_id,
                                       role=Role.PARTICIPANT.value, department=department,
                                       locale=locale))
        return JoinResult(person, created=True, changed=True)
    if person.role == Role.CUSTOMER.value:
        raise Forbidden("customers_cannot_join")
    changed = person.department != department
    person.department = department
    person.locale = locale or person.locale
    return JoinResult(person, created=False, changed=changed)


def add_people(uow, workshop_id: int, *, by: str, user_ids: list[str], role: Role,
               department: str | None = None) -> tuple[list[Person], list[Person]]:
    """A facilitator adds people with a role. Returns (added, updated)."""
    workshop = require_role(uow, workshop_id, by, Role.FACILITATOR)
    if department is not None and department not in workshop.departments:
        raise Invalid({"department": Problem("unknown_department")})
    if not user_ids:
        raise Invalid({"users": Problem("users_required")})
    added, updated = [], []
    for user_id in dict.fromkeys(user_ids):
        person = uow.people.get(workshop_id, user_id)
        if person is None:
            added.append(uow.people.add(Person(workshop_id=workshop_id, user_id=user_id,
                                               role=role.value, department=department)))
            continue
        if person.user_id == by and role != Role.FACILITATOR:
            raise Invalid({"users": Problem("cannot_demote_self")})
        person.role = role.value
        if department is not None:
            person.department = department
        updated.append(person)
    return added, updated


def participation(people: list[Person]) -> Counter[str]:
    """Participants per department, largest first (for the kick-off message)."""
    return Counter(p.department or "other" for p in people if p.role == Role.PARTICIPANT.value)


@dataclass(frozen=True)
class Standing:
    workshop: Workshop
    role: str
    department: str | None
    next_step: str          # code: day1 / day2 / done
    next_at: datetime | None


def standings(uow, user_id: str, *, now: datetime | None = None) -> list[Standing]:
    """Where `user_id` stands in each workshop of this workspace, newest first."""
    now = now or datetime.now(timezone.utc)
    result = []
    for workshop, person in uow.workshops.for_user(user_id):
        day1, day2 = as_utc(workshop.day1_start), as_utc(workshop.day2_start)
        if now < day1:
            step, at = "day1", day1
        elif now < day2:
            step, at = "day2", day2
        else:
            step, at = "done", None
        result.append(Standing(workshop, person.role, person.department, step, at))
    return result


def workshop_for(uow, user_id: str, channel_id: str | None, *roles: Role) -> Workshop:
    """The workshop a command refers to: the newest one in this channel where the user has
    one of `roles`, else the user's newest such workshop anywhere in the workspace."""
    wanted = {r.value for r in roles}
    every = uow.workshops.for_user(user_id)
    mine = [(w, p) for w, p in every if p.role in wanted]
    for workshop, _ in mine:
        if workshop.channel_id == channel_id:
            return workshop
    if any(w.channel_id == channel_id for w, _ in every):
        # They are in this channel's workshop, but not with a role that may do this.
        raise Forbidden("not_allowed")
    if mine:
        return mine[0][0]
    if every:
        raise Forbidden("not_allowed")
    raise NotFound("no_workshop_here")
