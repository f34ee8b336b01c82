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
from storage.models import Person, Role, Stage, WorkGroup, Workshop
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


def detached(seat: Seat, stages: list) -> tuple[Seat, list]:
    """Plain copies of what the hot path reads (the unit of work's rollback expires the
    originals), never attached to a session, read-only."""
    g, w, p = seat.group, seat.workshop, seat.person
    copy = Seat(WorkGroup(id=g.id, workshop_id=g.workshop_id, number=g.number,
                          channel_id=g.channel_id),
                Workshop(id=w.id, team_id=w.team_id, language=w.language, anonymous=w.anonymous),
                Person(id=p.id, workshop_id=p.workshop_id, user_id=p.user_id, role=p.role,
                       group_id=p.group_id, locale=p.locale))
    return copy, [Stage(id=s.id, group_id=s.group_id, position=s.position, key=s.key,
                        name=s.name) for s in stages]


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
