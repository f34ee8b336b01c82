"""From a group's board to a journey map (the data `workflows.rendering` draws)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from storage.models import Stage, WorkGroup
from workflows.board import KINDS, board_of
from workflows.rendering import JourneyMap, MapNote, MapStage
from workflows.validation import marks


def journey_map(uow, group: WorkGroup, *, version: str, made_on: date,
                stage_name: Callable[[Stage], str], group_label: str,
                focus_label: Callable[[str | None], str | None],
                author_name: Callable[[str], str | None] = lambda user_id: None) -> JourneyMap:
    """The group's map as it stands: stages in the group's order, every visible post-it.
    Authors are named only outside anonymous mode. The hypothetical map is the groups' own
    post-its; the validated map adds the customers' marks, their mean feeling per stage and
    the customer post-its the group accepted (marked "new")."""
    board = board_of(uow, group)
    validated = version == "validated"
    found = marks(uow, group) if validated else None
    stages = []
    for column in board.columns:
        notes = []
        for kind in KINDS:
            for note in column.notes[kind]:
                if note.origin == "customer" and not validated:
                    continue
                mark = found.post_its.get(note.id) if found else None
                notes.append(MapNote(
                    kind=note.kind, text=note.text, channel=note.channel, score=note.score,
                    votes=note.votes,
                    author=author_name(note.author) if note.author and
                    note.origin != "customer" else None,
                    origin=note.origin,
                    mark=("new" if note.origin == "customer" else mark.mark if mark else None)
                    if validated else None,
                    confirmations=mark.yes if mark else 0))
        score = found.stage_scores.get(column.stage.id) if found else None
        stages.append(MapStage(stage_name(column.stage), tuple(notes), customer_score=score))
    return JourneyMap(workshop=board.workshop.name, group=group_label,
                      customer_type=group.customer_type,
                      channel_focus=focus_label(group.channel_focus), version=version,
                      made_on=made_on, stages=tuple(stages))
