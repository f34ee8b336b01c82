"""The leadership summary: one view across all groups of a workshop."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from storage.models import Role, Stage
from workflows.board import board_of
from workflows.owners import ranked_opportunities
from workflows.validation import Coverage, coverage, marks


@dataclass(frozen=True)
class Ranked:
    text: str
    votes: int
    group: int
    stage: str
    owner: str | None = None   # opportunities: a Slack user id or a name


@dataclass(frozen=True)
class MapCoverage:
    """Customer validation of one group's map."""

    group: int
    customer_type: str | None
    channel_focus: str | None
    coverage: Coverage


@dataclass(frozen=True)
class Summary:
    workshop: str
    objectives: list[tuple[str, str]]
    participation: Counter            # department → participants
    groups: list[tuple[int, str | None, str | None, int, int]]  # number, type, focus, people, post-its
    top_pains: dict[str, list[Ranked]]  # stage name → top pain points by votes
    opportunities: list[Ranked]       # most voted first, with their owners
    lowest_moments: list[tuple[str, str, float]]  # customer type, stage, mean emotion
    validated: bool                   # customers have reviewed at least one map
    validation: list[MapCoverage] = ()            # per map
    customer_lowest: list[tuple[str, str, float]] = ()  # as customers felt it (day 2)
    opportunities_total: int = 0
    owned: int = 0                    # opportunities with an owner


def _lowest(scores: dict[tuple[str, str], list[float]]) -> list[tuple[str, str, float]]:
    """Per customer type, the stage with the lowest mean score (lowest first)."""
    lowest: dict[str, tuple[str, float]] = {}
    for (customer_type, stage), values in scores.items():
        mean = sum(values) / len(values)
        if customer_type not in lowest or mean < lowest[customer_type][1]:
            lowest[customer_type] = (stage, mean)
    return sorted(((c, s, m) for c, (s, m) in lowest.items()), key=lambda x: (x[2], x[0]))


def summarise(uow, workshop_id: int, *, stage_name: Callable[[Stage], str], top: int = 3,
              top_opportunities: int = 10) -> Summary:
    workshop = uow.workshops.get(workshop_id)
    participation = Counter(p.department or "other" for p in workshop.people
                            if p.role == Role.PARTICIPANT.value)
    groups, pains, validation = [], defaultdict(list), []
    emotions: dict[tuple[str, str], list[float]] = defaultdict(list)
    felt: dict[tuple[str, str], list[float]] = defaultdict(list)
    for group in uow.groups.groups(workshop_id):
        board = board_of(uow, group)
        customer_type = group.customer_type or "—"
        groups.append((group.number, group.customer_type, group.channel_focus,
                       len(group.members), board.total))
        stage_scores = marks(uow, group).stage_scores
        for column in board.columns:
            name = stage_name(column.stage)
            pains[name] += [Ranked(n.text, n.votes, group.number, name)
                            for n in column.notes["pain"]]
            for note in column.notes["emotion"]:
                if note.score is not None:
                    emotions[(customer_type, name)].append(note.score)
            if column.stage.id in stage_scores:
                felt[(customer_type, name)].append(stage_scores[column.stage.id])
        validation.append(MapCoverage(group.number, group.customer_type, group.channel_focus,
                                      coverage(uow, group)))
    top_pains = {stage: sorted(items, key=lambda r: -r.votes)[:top]
                 for stage, items in pains.items() if items}
    opportunities = ranked_opportunities(uow, workshop_id, stage_name=stage_name)
    validated = any(v.coverage.answered or v.coverage.accepted for v in validation)
    return Summary(
        workshop.name, [(o.text, o.kpi) for o in workshop.objectives], participation, groups,
        top_pains,
        [Ranked(o.text, o.votes, o.group, o.stage, o.owner)
         for o in opportunities[:top_opportunities]],
        _lowest(emotions), validated=validated, validation=validation,
        customer_lowest=_lowest(felt), opportunities_total=len(opportunities),
        owned=sum(1 for o in opportunities if o.owner))
