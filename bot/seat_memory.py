"""What the quick-add hot path remembers of each caller's seat, per process.

A quick-add in a group channel needs the caller's seat (group, workshop, person), the
group's stages, the caller's language and the phase gate. Reading them costs more than the
rest of the request, so they are kept per process (`Database.post_its.snapshots`, keyed by
team, user and channel) and the facts they were decided from are re-checked by the writer
in the transaction that stores the post-it (`storage.fast_post_its.SeatFacts`): a stale
snapshot is refused, never written from.

They are remembered for a whole group at once: when its board is rendered (the group is
confirmed, or its board changes) and after a quick-add had to read them. So the first
burst of a workshop reads nothing either.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.board_blocks import stage_names
from bot.i18n import language_of
from storage.fast_post_its import SeatFacts, seat_facts
from storage.models import Person, Role, WorkGroup, Workshop
from workflows.board import Seat

#: Who never posts: their seat is not remembered (`seat_for` refuses them).
_OBSERVERS = (Role.LEADERSHIP.value, Role.CUSTOMER.value)


@dataclass(frozen=True)
class SeatSnapshot:
    """What a quick-add of this caller in this channel decides from."""

    seat: Seat
    stages: list
    names: dict
    lang: str
    facts: SeatFacts


@dataclass(frozen=True, slots=True)
class _Group:
    id: int
    workshop_id: int
    number: int
    channel_id: str | None


@dataclass(frozen=True, slots=True)
class _Workshop:
    id: int
    team_id: str
    language: str
    anonymous: bool


@dataclass(frozen=True, slots=True)
class _Person:
    id: int
    workshop_id: int
    user_id: str
    role: str
    group_id: int | None
    locale: str | None


@dataclass(frozen=True, slots=True)
class _Stage:
    id: int
    group_id: int
    position: int
    key: str | None
    name: str | None


def detached(seat: Seat, stages: list) -> tuple[Seat, list]:
    """Plain read-only copies of what the hot path reads (the unit of work's rollback
    expires the originals): records, not ORM instances, so reading them on every quick-add
    goes through no attribute instrumentation."""
    g, w, p = seat.group, seat.workshop, seat.person
    copy = Seat(_Group(g.id, g.workshop_id, g.number, g.channel_id),
                _Workshop(w.id, w.team_id, w.language, w.anonymous),
                _Person(p.id, p.workshop_id, p.user_id, p.role, p.group_id, p.locale))
    return copy, [_Stage(s.id, s.group_id, s.position, s.key, s.name) for s in stages]


def snapshot(seat: Seat, stages: list, schedule, names: dict | None = None) -> SeatSnapshot:
    return SeatSnapshot(*detached(seat, stages), names or stage_names(stages),
                        language_of(seat.person.locale, seat.workshop.language),
                        seat_facts(seat.group, seat.workshop, seat.person, stages, schedule))


def remember_group(writer, team_id: str, group: WorkGroup, workshop: Workshop, stages: list,
                   schedule, *, skip: Person | None = None) -> int:
    """Remember a snapshot for every member of the group in its channel who has none yet
    (reads the members, once). Returns how many were added."""
    if not group.channel_id or not stages:
        return 0
    names = None
    added = 0
    for member in group.members:
        key = (team_id, member.user_id, group.channel_id)
        if member is skip or member.role in _OBSERVERS or key in writer.snapshots:
            continue
        names = names or stage_names(stages)
        snap = snapshot(Seat(group, workshop, member), stages, schedule, names)
        writer.remember(key, snap, snap.facts)
        added += 1
    return added
