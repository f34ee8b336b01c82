"""Posting the kick-off message and keeping its live count up to date."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import button_message, count_line, kickoff_blocks, kickoff_text
from bot.i18n import language_of, t
from bot.ids import Action
from bot.services import Services
from bot.text import escape
from workflows.workshops import get_workshop, participation

log = logging.getLogger(__name__)


def post_kickoff(services: Services, client: WebClient, team_id: str, workshop_id: int,
                 *, facilitator_lang: str) -> bool:
    """Post the kick-off message (joining a public channel if needed). On failure the
    facilitator gets a DM with a retry button; returns whether it was posted."""
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        lang = workshop.language
        blocks = kickoff_blocks(workshop, participation(workshop.people), lang)
        channel, text = workshop.channel_id, kickoff_text(workshop, lang)
        facilitator, name = workshop.created_by, workshop.name
    try:
        response = _post(client, channel, text, blocks)
    except SlackApiError as error:
        log.warning("kick-off not posted in %s: %s", channel, error.response.get("error"))
        message = t("created.not_in_channel", facilitator_lang, channel=channel)
        client.chat_postMessage(channel=facilitator, text=message,
                                blocks=button_message(
                                    message, label=t("created.repost", facilitator_lang),
                                    action=Action.REPOST_KICKOFF, value=str(workshop_id)))
        return False
    with services.uow(team_id) as uow:
        get_workshop(uow, workshop_id).kickoff_ts = response["ts"]
        uow.commit()

    client.chat_postMessage(channel=facilitator, text=t(
        "created.dm", facilitator_lang, name=escape(name), channel=channel))
    return True


def _post(client: WebClient, channel: str, text: str, blocks: list[dict]):
    try:
        return client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
        client.conversations_join(channel=channel)  # public channels only; raises otherwise
        return client.chat_postMessage(channel=channel, text=text, blocks=blocks)


def refresh_kickoff(services: Services, client: WebClient, team_id: str, workshop_id: int
                    ) -> None:
    """Update the kick-off message's live count. Bursts are coalesced per workshop."""

    def refresh() -> None:
        with services.uow(team_id) as uow:
            workshop = get_workshop(uow, workshop_id)
            if not workshop.kickoff_ts:
                return
            lang = workshop.language
            blocks = kickoff_blocks(workshop, participation(workshop.people), lang)
            channel, ts = workshop.channel_id, workshop.kickoff_ts
            text = f"{kickoff_text(workshop, lang)} — " \
                   f"{count_line(participation(workshop.people), language_of(lang))}"
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    services.refreshes.request(("kickoff", team_id, workshop_id), refresh)
