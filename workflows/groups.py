"""Group formation in a workshop: preview, reshuffle, edit, confirm, late joiners.

The arithmetic lives in `workflows.grouping` (plain values); this module applies it to a
workshop's people and keeps the facilitator's draft plan in storage until it is confirmed.
Slack channel creation is the Slack layer's job; it records its progress on each WorkGroup
(`channel_id`, `invited`, `welcomed_ts`) so a retry never does anything twice.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone

from storage.models import Grouping, Person, Role, WorkGroup, Workshop
from workflows.grouping import (
    Focus,
    GroupingRules,
    GroupPlan,
    Member,
    form_groups,
    mix_score,
    optimal_mix_score,
    place_late_joiner,
)
from workflows.problems import Invalid, Problem, WorkshopError
from workflows.workshops import require_role

MAX_CHANNEL_NAME = 80


def members_to_place(workshop: Workshop) -> list[Member]:
    """Participants (with their department). Facilitators, leadership and customers are
    not placed: they follow the groups from the workshop channel."""
    return [Member(p.user_id, p.department or "other") for p in workshop.people
            if p.role == Role.PARTICIPANT.value]


def _rules(workshop: Workshop, overrides: dict) -> GroupingRules:
    return GroupingRules(
        min_size=int(overrides.get("min_size", workshop.min_group_size)),
        max_size=int(overrides.get("max_size", workshop.max_group_size)),
        keep_apart=tuple(tuple(p) for p in overrides.get("keep_apart", [])),
        keep_together=tuple(tuple(p) for p in overrides.get("keep_together", [])),
        pins={k: int(v) for k, v in overrides.get("pins", {}).items()},
    )


def _as_json(plan: GroupPlan) -> dict:
    def problems(items):
        return [{"code": p.code, "params": p.params} for p in items]

    return {
        "groups": [[m.id for m in group] for group in plan.groups],
        "focuses": [[f.customer_type, f.channel_focus] for f in plan.focuses],
        "score": plan.score, "optimum": plan.optimum, "feasible": plan.feasible,
        "problems": problems(plan.problems), "warnings": problems(plan.warnings),
        "options": problems(plan.options),
    }


@dataclass(frozen=True)
class PlannedGroup:
    number: int
    members: list[Person]
    customer_type: str | None
    channel_focus: str | None


@dataclass(frozen=True)
class Preview:
    """What the facilitator sees before confirming."""

    workshop: Workshop
    grouping: Grouping
    groups: list[PlannedGroup]
    score: int
    optimum: int
    feasible: bool
    problems: list[Problem]
    warnings: list[Problem]
    options: list[Problem]
    confirmed: bool


def _preview(workshop: Workshop, grouping: Grouping) -> Preview:
    people = {p.user_id: p for p in workshop.people}
    plan = grouping.plan or {}
    focuses = plan.get("focuses") or []
    groups = []
    for index, ids in enumerate(plan.get("groups") or []):
        customer_type, channel_focus = focuses[index] if index < len(focuses) else (None, None)
        groups.append(PlannedGroup(index + 1, [people[i] for i in ids if i in people],
                                   customer_type, channel_focus))

    def problems(key):
        return [Problem(p["code"], p.get("params") or {}) for p in plan.get(key) or []]

    return Preview(workshop, grouping, groups, plan.get("score", 0), plan.get("optimum", 0),
                   bool(plan.get("feasible")), problems("problems"), problems("warnings"),
                   problems("options"), grouping.confirmed_at is not None)


def plan_groups(uow, workshop_id: int, *, by: str, reshuffle: bool = False,
                rules: dict | None = None) -> Preview:
    """Form (or re-form) the draft plan from the current roster. Facilitators only."""
    workshop = require_role(uow, workshop_id, by, Role.FACILITATOR)
    grouping = uow.groups.grouping(workshop_id, for_update=True)
    if grouping is None:
        grouping = uow.groups.add_grouping(Grouping(workshop_id=workshop_id, seed=0,
                                                    rules={}, plan={}))
    elif grouping.confirmed_at is not None:
        return _preview(workshop, grouping)
    if reshuffle:
        grouping.seed = random.SystemRandom().randrange(1, 2**31)
    if rules is not None:
        grouping.rules = {**(grouping.rules or {}), **rules}
    plan = form_groups(members_to_place(workshop), _rules(workshop, grouping.rules or {}),
                       seed=grouping.seed, customer_types=workshop.customer_types,
                       channel_focuses=workshop.channel_focuses,
                       group_count=(grouping.rules or {}).get("group_count"))
    grouping.plan = _as_json(plan)
    return _preview(workshop, grouping)


def preview(uow, workshop_id: int, *, by: str) -> Preview:
    """The current plan (forming one if there is none yet)."""
    workshop = require_role(uow, workshop_id, by, Role.FACILITATOR)
    grouping = uow.groups.grouping(workshop_id)
    if grouping is None or not grouping.plan:
        return plan_groups(uow, workshop_id, by=by)
    return _preview(workshop, grouping)


def _editable(uow, workshop_id: int, by: str) -> tuple[Workshop, Grouping]:
    workshop = require_role(uow, workshop_id, by, Role.FACILITATOR)
    grouping = uow.groups.grouping(workshop_id, for_update=True)
    if grouping is None or not (grouping.plan or {}).get("feasible"):
        raise WorkshopError("no_group_plan")
    if grouping.confirmed_at is not None:
        raise WorkshopError("groups_already_confirmed")
    return workshop, grouping


def _rescore(workshop: Workshop, grouping: Grouping, groups: list[list[str]]) -> None:
    department = {m.id: m.department for m in members_to_place(workshop)}
    members = [[Member(i, department.get(i, "other")) for i in g] for g in groups]
    counts: dict[str, int] = {}
    for d in department.values():
        counts[d] = counts.get(d, 0) + 1
    grouping.plan = {**grouping.plan, "groups": groups, "score": mix_score(members),
                     "optimum": optimal_mix_score(counts, [len(g) for g in groups])}


def move_person(uow, workshop_id: int, *, by: str, user_id: str, to_group: int) -> Preview:
    """Move one person to group number `to_group` (1-based) in the draft."""
    workshop, grouping = _editable(uow, workshop_id, by)
    groups = [list(g) for g in grouping.plan["groups"]]
    if not 1 <= to_group <= len(groups):
        raise Invalid({"group": Problem("unknown_group")})
    source = next((g for g in groups if user_id in g), None)
    if source is None:
        raise Invalid({"person": Problem("not_in_plan")})
    source.remove(user_id)
    groups[to_group - 1].append(user_id)
    _rescore(workshop, grouping, groups)
    return _preview(workshop, grouping)


def swap_people(uow, workshop_id: int, *, by: str, first: str, second: str) -> Preview:
    workshop, grouping = _editable(uow, workshop_id, by)
    groups = [list(g) for g in grouping.plan["groups"]]
    where = {u: gi for gi, g in enumerate(groups) for u in g}
    if first not in where:
        raise Invalid({"person": Problem("not_in_plan")})
    if second not in where:
        raise Invalid({"other": Problem("not_in_plan")})
    a, b = where[first], where[second]
    groups[a][groups[a].index(first)] = second
    groups[b][groups[b].index(second)] = first
    _rescore(workshop, grouping, groups)
    return _preview(workshop, grouping)


def confirm_groups(uow, workshop_id: int, *, by: str) -> list[WorkGroup]:
    """Turn the draft into groups. Idempotent: confirming twice returns the same groups.
    People who joined after the preview are placed as late joiners."""
    workshop = require_role(uow, workshop_id, by, Role.FACILITATOR)
    grouping = uow.groups.grouping(workshop_id, for_update=True)
    if grouping is not None and grouping.confirmed_at is not None:
        return uow.groups.groups(workshop_id)
    if grouping is None or not (grouping.plan or {}).get("feasible"):
        raise WorkshopError("no_group_plan")
    people = {p.user_id: p for p in workshop.people}
    focuses = grouping.plan.get("focuses") or []
    created = []
    for index, ids in enumerate(grouping.plan["groups"]):
        customer_type, channel_focus = focuses[index] if index < len(focuses) else (None, None)
        group = uow.groups.add_group(WorkGroup(workshop_id=workshop_id, number=index + 1,
                                               customer_type=customer_type,
                                               channel_focus=channel_focus, invited=[]))
        for user_id in ids:
            if user_id in people and people[user_id].role == Role.PARTICIPANT.value:
                people[user_id].group_id = group.id
        created.append(group)
    grouping.confirmed_at = datetime.now(timezone.utc)
    grouping.confirmed_by = by
    uow.session.flush()
    for person in workshop.people:
        if person.role == Role.PARTICIPANT.value and person.group_id is None:
            place_late(uow, workshop, person)
    return uow.groups.groups(workshop_id)


@dataclass(frozen=True)
class LatePlacement:
    group: WorkGroup | None
    exceeds_max: bool
    problems: list[Problem]


def place_late(uow, workshop: Workshop, person: Person) -> LatePlacement:
    """Place someone who joined after the groups were confirmed (no-op before that)."""
    grouping = uow.groups.grouping(workshop.id)
    if grouping is None or grouping.confirmed_at is None or person.group_id is not None \
            or person.role != Role.PARTICIPANT.value:
        return LatePlacement(None, False, [])
    groups = uow.groups.groups(workshop.id)
    current = [[Member(p.user_id, p.department or "other") for p in g.members
                if p.role == Role.PARTICIPANT.value and p.id != person.id] for g in groups]
    result = place_late_joiner(current, Member(person.user_id, person.department or "other"),
                               _rules(workshop, grouping.rules or {}))
    if result.group_index is None:
        return LatePlacement(None, False, list(result.problems))
    group = groups[result.group_index]
    person.group_id = group.id
    uow.session.flush()
    return LatePlacement(group, result.exceeds_max, [])


def channel_name(workshop: Workshop, group: WorkGroup, taken: set[str]) -> str:
    """A valid, unique Slack channel name: lowercase, a-z 0-9 - _, at most 80 characters."""
    def slug(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")

    def short(text: str, limit: int) -> str:
        words, out = slug(text).split("-"), ""
        for word in words:
            if len(out) + len(word) + 1 > limit:
                break
            out = f"{out}-{word}" if out else word
        return out or slug(text)[:limit]

    focus = "-".join(filter(None, [short(group.customer_type or "", 24),
                                   slug(group.channel_focus or "").replace("_", "-")]))
    base = "-".join(filter(None, [short(workshop.name, 24) or "atelier",
                                  f"g{group.number}", focus]))[:MAX_CHANNEL_NAME - 4].strip("-")
    name, n = base, 2
    while name in taken:
        name = f"{base}-{n}"
        n += 1
    return name


def focus_of(group: WorkGroup) -> Focus:
    return Focus(group.customer_type, group.channel_focus)
