"""The live board message in each group channel."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.board_blocks import board_blocks, board_text
from bot.seat_memory import remember_group
from bot.services import Services
from storage.fast_post_its import loaded_schedule
from workflows.board import board_of
from workflows.validation import board_feedback


def refresh_board(services: Services, client: WebClient, team_id: str, group_id: int) -> None:
    """Render the group's board from the database and update (or first post) its message."""
    with services.uow(team_id) as uow:
        group = uow.board.group(group_id)
        if group is None or group.channel_id is None:
            return
        board = board_of(uow, group)
        feedback = board_feedback(uow, group, board.post_its)  # day 2: what customers said
        lang = board.workshop.language
        blocks, text = board_blocks(board, lang, feedback), board_text(board, lang)
        channel, ts = group.channel_id, group.board_ts
        if not ts:  # the group's first quick-adds then read nothing (bot/seat_memory.py)
            remember_group(services.db.post_its, team_id, group, board.workshop,
                           [column.stage for column in board.columns],
                           loaded_schedule(uow, board.workshop.id))
        uow.commit()  # default stages seeded on first view are kept (last: nothing reloads)
    if ts:
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            return
        except SlackApiError as error:
            if error.response.get("error") not in ("message_not_found", "cant_update_message"):
                raise
    posted = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    with services.uow(team_id) as uow:
        uow.board.group(group_id).board_ts = posted["ts"]
        uow.commit()
