"""Opportunity owners (after day 2): who carries each opportunity forward.

An owner is a Slack user (stored as their user id) or a free-text name (someone outside
Slack, a team). Facilitators assign owners to any opportunity of their workshop at any
time; group members assign them to their own group's opportunities while the schedule
allows ``assign_owners`` (final maps and follow-up). Leadership and customers only read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from storage.models import Role, Stage
from workflows.board import board_of
from workflows.problems import Forbidden, Invalid, NotFound, Problem
from workflows.schedule import gate
from workflows.workshops import get_workshop

MAX_OWNER = 120          # PostIt.owner's column size
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,31}$")


def is_slack_user(owner: str | None) -> bool:
    """An owner that is a Slack user id (shown as a mention), not a free-text name."""
    return bool(owner and SLACK_USER.match(owner))


@dataclass(frozen=True)
class Opportunity:
    post_it_id: int
    text: str
    votes: int
    group: int               # group number
    group_id: int
    stage: str               # stage name
    owner: str | None        # Slack user id or free text


def ranked_opportunities(uow, workshop_id: int, *, stage_name: Callable[[Stage], str]
                         ) -> list[Opportunity]:
    """Every opportunity on the workshop's boards, most voted first (then by group, then in
    board order), with its owner."""
    found = []
    for group in uow.groups.groups(workshop_id):
        owners = {p.id: p.owner for p in uow.board.post_its(group.id)}
        for column in board_of(uow, group).columns:
            name = stage_name(column.stage)
            found += [Opportunity(n.id, n.text, n.votes, group.number, group.id, name,
                                  owners.get(n.id)) for n in column.notes["opportunity"]]
    order = {o.post_it_id: i for i, o in enumerate(found)}
    return sorted(found, key=lambda o: (-o.votes, o.group, order[o.post_it_id]))


def _editable_groups(uow, workshop_id: int, user_id: str) -> set[int] | None:
    """Group ids whose opportunities `user_id` may give owners to (None: every group).
    Raises Forbidden / WorkshopError when they may not assign any."""
    get_workshop(uow, workshop_id)
    person = uow.people.get(workshop_id, user_id)
    if person is None or person.role not in (Role.FACILITATOR.value, Role.PARTICIPANT.value):
        raise Forbidden("not_allowed", role=person.role if person else "none",
                        needed="facilitator,participant")
    if person.role == Role.FACILITATOR.value:
        return None
    gate(uow, workshop_id, "assign_owners")
    if person.group_id is None:
        raise NotFound("no_group_yet")
    return {person.group_id}


def owner_choices(uow, workshop_id: int, user_id: str, *, stage_name: Callable[[Stage], str]
                  ) -> list[Opportunity]:
    """The opportunities `user_id` may give an owner to, most voted first."""
    groups = _editable_groups(uow, workshop_id, user_id)
    return [o for o in ranked_opportunities(uow, workshop_id, stage_name=stage_name)
            if groups is None or o.group_id in groups]


def clean_owner(user_id: str | None, text: str | None) -> str | None:
    """The owner a form gives: the picked Slack user, else the typed name, else nobody."""
    if user_id:
        return user_id
    text = " ".join((text or "").split())
    return text or None


def assign_owners(uow, workshop_id: int, by: str, owners: dict[int, str | None]
                  ) -> list[int]:
    """Set (or clear, with None) the owner of each opportunity in `owners` (post-it id →
    owner). All or nothing: a name too long is an ``Invalid`` on field ``owner_<id>``; an
    opportunity the caller may not edit is ``Forbidden`` (revealing nothing). Returns the
    ids whose owner changed. Caller commits."""
    groups = _editable_groups(uow, workshop_id, by)
    editable = {g.id for g in uow.groups.groups(workshop_id)} if groups is None else groups
    problems: dict[str, Problem] = {}
    post_its = {}
    for post_it_id, owner in owners.items():
        post_it = uow.board.post_it(post_it_id)
        if post_it is None or post_it.group_id not in editable or post_it.kind != "opportunity" \
                or post_it.deleted_at is not None:
            raise Forbidden("not_allowed")
        if owner is not None and len(owner) > MAX_OWNER:
            problems[f"owner_{post_it_id}"] = Problem("too_long", {"max": MAX_OWNER})
        post_its[post_it_id] = post_it
    if problems:
        raise Invalid(problems)
    changed = []
    for post_it_id, owner in owners.items():
        post_it = post_its[post_it_id]
        if post_it.owner != owner:
            post_it.owner = owner
            changed.append(post_it_id)
    uow.flush()
    return changed


def owned_by(uow, workshop_id: int, *, stage_name: Callable[[Stage], str]
             ) -> dict[str, list[Opportunity]]:
    """Slack user id → the opportunities they own (for reminders)."""
    mine: dict[str, list[Opportunity]] = {}
    for opportunity in ranked_opportunities(uow, workshop_id, stage_name=stage_name):
        if is_slack_user(opportunity.owner):
            mine.setdefault(opportunity.owner, []).append(opportunity)
    return mine
