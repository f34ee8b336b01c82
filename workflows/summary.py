"""The leadership summary: one view across all groups of a workshop."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from storage.models import Role, Stage
from workflows.board import board_of


@dataclass(frozen=True)
class Ranked:
    text: str
    votes: int
    group: int
    stage: str


@dataclass(frozen=True)
class Summary:
    workshop: str
    objectives: list[tuple[str, str]]
    participation: Counter            # department → participants
    groups: list[tuple[int, str | None, str | None, int, int]]  # number, type, focus, people, post-its
    top_pains: dict[str, list[Ranked]]  # stage name → top pain points by votes
    opportunities: list[Ranked]
    lowest_moments: list[tuple[str, str, float]]  # customer type, stage, mean emotion
    validated: bool                   # day 2 done (customer validation)


def summarise(uow, workshop_id: int, *, stage_name: Callable[[Stage], str], top: int = 3
              ) -> Summary:
    workshop = uow.workshops.get(workshop_id)
    participation = Counter(p.department or "other" for p in workshop.people
                            if p.role == Role.PARTICIPANT.value)
    groups, pains, opportunities = [], defaultdict(list), []
    emotions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for group in uow.groups.groups(workshop_id):
        board = board_of(uow, group)
        groups.append((group.number, group.customer_type, group.channel_focus,
                       len(group.members), board.total))
        for column in board.columns:
            name = stage_name(column.stage)
            pains[name] += [Ranked(n.text, n.votes, group.number, name)
                            for n in column.notes["pain"]]
            opportunities += [Ranked(n.text, n.votes, group.number, name)
                              for n in column.notes["opportunity"]]
            for note in column.notes["emotion"]:
                if note.score is not None:
                    emotions[(group.customer_type or "—", name)].append(note.score)
    top_pains = {stage: sorted(items, key=lambda r: -r.votes)[:top]
                 for stage, items in pains.items() if items}
    opportunities.sort(key=lambda r: (-r.votes, r.group))
    lowest: dict[str, tuple[str, float]] = {}
    for (customer_type, stage), scores in emotions.items():
        mean = sum(scores) / len(scores)
        if customer_type not in lowest or mean < lowest[customer_type][1]:
            lowest[customer_type] = (stage, mean)
    return Summary(workshop.name, [(o.text, o.kpi) for o in workshop.objectives],
                   participation, groups, top_pains, opportunities[:10],
                   sorted(((c, s, m) for c, (s, m) in lowest.items()), key=lambda x: x[2]),
                   validated=False)
