"""Modals that gather data from several groups: voting and the facilitator's review."""

from __future__ import annotations

from bot.board_blocks import review_view, vote_view
from workflows.board import VOTABLE, ballot, board_of


def _workshop_notes(uow, workshop, *, include_pending: bool = False):
    items = []
    for group in uow.groups.groups(workshop.id):
        board = board_of(uow, group, include_pending=include_pending)
        for column in board.columns:
            for kind in VOTABLE if not include_pending else column.notes:
                for note in column.notes[kind]:
                    items.append((note, group.number, column.stage))
    return items


def vote_modal(uow, workshop, user_id: str, lang: str, *, page: int = 1,
               notice: str | None = None) -> dict:
    items = _workshop_notes(uow, workshop)
    items.sort(key=lambda item: (-item[0].votes, item[1], item[0].id))
    return vote_view(items, ballot(uow, workshop, user_id), workshop, lang, page=page,
                     notice=notice)


def review_modal(uow, workshop, lang: str) -> dict:
    pending = [item for item in _workshop_notes(uow, workshop, include_pending=True)
               if item[0].status == "pending"]
    return review_view(pending, workshop, lang)
