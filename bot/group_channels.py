"""Creating the groups' private channels, inviting members, welcoming and announcing.

Every step records what it did before the next one starts (channel id, who was invited,
welcome message ts, announcement ts), so running it again — a retry after a failure, or a
second click — picks up where it stopped and never creates anything twice.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import button_message, department_label, section
from bot.board_message import refresh_board
from bot.group_blocks import announce_blocks, welcome_text
from bot.i18n import t
from bot.ids import Action
from bot.services import Services
from storage.models import Role
from workflows.groups import channel_name
from workflows.workshops import get_workshop

log = logging.getLogger(__name__)
INVITE_BATCH = 100  # users per conversations.invite call


def open_group_channels(services: Services, client: WebClient, team_id: str, workshop_id: int,
                        *, facilitator: str, lang: str) -> bool:
    """Create, fill and welcome every group channel, then announce the groups once."""
    with services.uow(team_id) as uow:
        total = len(uow.groups.groups(workshop_id))
    progress = client.chat_postMessage(channel=facilitator, text=t(
        "groups.progress", lang, done=0, total=total))
    with services.uow(team_id) as uow:
        group_ids = [g.id for g in uow.groups.groups(workshop_id)]
    for done, group_id in enumerate(group_ids, start=1):
        try:
            _open_one(services, client, team_id, workshop_id, group_id)
        except SlackApiError as error:
            _report_failure(services, client, team_id, workshop_id, group_id, error,
                            facilitator=facilitator, lang=lang)
            return False
        client.chat_update(channel=progress["channel"], ts=progress["ts"],
                           text=t("groups.progress", lang, done=done, total=total))
    _announce(services, client, team_id, workshop_id)
    return True


def _group(uow, workshop_id: int, group_id: int):
    return next(g for g in uow.groups.groups(workshop_id) if g.id == group_id)


def _open_one(services: Services, client: WebClient, team_id: str, workshop_id: int,
              group_id: int) -> None:
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        group = _group(uow, workshop_id, group_id)
        if group.channel_id is None:
            taken = uow.groups.channel_names() - {group.channel_name}
            name = group.channel_name or channel_name(workshop, group, taken)
            while True:
                try:
                    created = client.conversations_create(name=name, is_private=True,
                                                          team_id=team_id)
                    break
                except SlackApiError as error:
                    if error.response.get("error") != "name_taken":
                        raise
                    taken.add(name)
                    name = channel_name(workshop, group, taken)
            group.channel_name = name
            group.channel_id = created["channel"]["id"]
            uow.commit()  # recorded before anything else can fail

    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        group = _group(uow, workshop_id, group_id)
        wanted = [p.user_id for p in group.members] + \
            [p.user_id for p in workshop.people if p.role == Role.FACILITATOR.value]
        missing = [u for u in dict.fromkeys(wanted) if u not in set(group.invited or [])]
        channel = group.channel_id
    for start in range(0, len(missing), INVITE_BATCH):
        batch = missing[start:start + INVITE_BATCH]
        try:
            client.conversations_invite(channel=channel, users=",".join(batch))
        except SlackApiError as error:
            if error.response.get("error") != "already_in_channel":
                raise
        with services.uow(team_id) as uow:
            group = _group(uow, workshop_id, group_id)
            group.invited = sorted(set(group.invited or []) | set(batch))
            uow.commit()

    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        group = _group(uow, workshop_id, group_id)
        if not group.welcomed_ts:
            text = welcome_text(workshop, group, workshop.language)
            posted = client.chat_postMessage(channel=group.channel_id, text=text,
                                             blocks=[section(text).to_dict()])
            group.welcomed_ts = posted["ts"]
            uow.commit()
        has_board = group.board_ts is not None
    if not has_board:
        refresh_board(services, client, team_id, group_id)  # the group's live board


def _announce(services: Services, client: WebClient, team_id: str, workshop_id: int) -> None:
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        grouping = uow.groups.grouping(workshop_id)
        if grouping.announced_ts:
            return
        groups = uow.groups.groups(workshop_id)
        lang = workshop.language
        blocks = announce_blocks(workshop, groups, grouping.plan.get("score", 0),
                                 grouping.plan.get("optimum", 0), lang)
        posted = client.chat_postMessage(channel=workshop.channel_id, blocks=blocks, text=t(
            "groups.announce", lang, name=workshop.name, count=len(groups),
            score=grouping.plan.get("score", 0), optimum=grouping.plan.get("optimum", 0)))
        grouping.announced_ts = posted["ts"]
        uow.commit()


def _report_failure(services, client, team_id, workshop_id, group_id, error, *, facilitator,
                    lang) -> None:
    code = error.response.get("error") or "unknown"
    log.warning("group channel step failed for group %s: %s", group_id, code)
    with services.uow(team_id) as uow:
        number = _group(uow, workshop_id, group_id).number
    text = t("groups.failed", lang, error=code, number=number)
    if code == "missing_scope":
        text += t("groups.failed.missing_scope", lang,
                  needed=error.response.get("needed") or "groups:write")
    blocks = button_message(text, label=t("groups.retry", lang), action=Action.GROUPS_RETRY,
                            value=str(workshop_id))
    client.chat_postMessage(channel=facilitator, text=text, blocks=blocks)


def welcome_late_joiner(services: Services, client: WebClient, team_id: str, workshop_id: int,
                        user_id: str, *, exceeds_max: bool) -> None:
    """Invite a late joiner to their group's channel and tell them, the group and the
    facilitators. Before the channels exist, `open_group_channels` will invite them."""
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        person = uow.people.get(workshop_id, user_id)
        group = person.group if person else None
        if group is None or group.channel_id is None:
            return
        lang, channel, number = workshop.language, group.channel_id, group.number
        department = person.department or "other"
        facilitators = [p.user_id for p in workshop.people if p.role == Role.FACILITATOR.value]
        already = user_id in set(group.invited or [])
    if not already:
        try:
            client.conversations_invite(channel=channel, users=user_id)
        except SlackApiError as error:
            if error.response.get("error") != "already_in_channel":
                raise
        with services.uow(team_id) as uow:
            group = uow.people.get(workshop_id, user_id).group
            group.invited = sorted(set(group.invited or []) | {user_id})
            uow.commit()
    label = department_label(department, lang)
    client.chat_postMessage(channel=channel, text=t("groups.late.in_channel", lang,
                                                    user=user_id, department=label))
    their = services.languages.language(client, team_id, user_id, lang)
    client.chat_postMessage(channel=user_id, text=t("groups.late.you", their, number=number,
                                                    channel=channel))
    over = t("groups.late.over", lang) if exceeds_max else ""
    for facilitator in facilitators:
        client.chat_postMessage(channel=facilitator, text=t(
            "groups.late.facilitator", lang, user=user_id, department=label, number=number,
            channel=channel, over=over))
