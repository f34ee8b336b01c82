"""Global and message shortcuts."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.board_blocks import add_view
from bot.ids import Callback
from bot.interaction import Interaction, background
from bot.listeners.commands import open_new_workshop
from bot.services import Services
from bot.transcript import unslack
from workflows.board import MAX_TEXT, board_of, seat_for
from workflows.quick_add import QuickAdd


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    @background(services)
    def new_workshop(i: Interaction) -> None:
        open_new_workshop(i)

    app.shortcut(Callback.NEW_WORKSHOP_SHORTCUT.value)(ack=acknowledge, lazy=[new_workshop])

    @background(services)
    def add_as_post_it(i: Interaction) -> None:
        """Any Slack message becomes a post-it: the add modal opens with its text."""
        message = i.body.get("message") or {}
        channel = (i.body.get("channel") or {}).get("id")
        with i.uow() as uow:
            seat = seat_for(uow, i.user_id, channel)
            board = board_of(uow, seat.group)
            uow.commit()
            text = unslack(message.get("text") or "", {})[:MAX_TEXT]
            view = add_view(board, i.lang, QuickAdd(None, None, text))
        i.client.views_open(trigger_id=i.body["trigger_id"], view=view)

    app.shortcut(Callback.ADD_AS_POST_IT.value)(ack=acknowledge, lazy=[add_as_post_it])
