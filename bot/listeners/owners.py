"""Opportunity owners and the leadership channel: `/journey owners`, `/journey leadership`,
the *Assign owners* button of the follow-up, and their modals."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from bot.blocks import leadership_view, read_metadata
from bot.board_blocks import stage_label
from bot.i18n import t
from bot.ids import Action, Callback
from bot.interaction import Interaction, background, language_from_metadata
from bot.listeners.views import submit
from bot.owner_blocks import owners_view
from bot.services import Services
from bot.text import escape, plain
from storage.models import Role
from workflows.owners import assign_owners, clean_owner, is_slack_user, owner_choices
from workflows.problems import NotFound
from workflows.workshops import get_workshop, set_leadership_channel, workshop_for


def _owners_view(i: Interaction, workshop_id: int) -> dict:
    with i.uow() as uow:
        workshop = get_workshop(uow, workshop_id)
        lang = workshop.language
        choices = owner_choices(uow, workshop_id, i.user_id,
                                stage_name=lambda s: stage_label(s, lang))
        if not choices:
            raise NotFound("no_opportunities")
        return owners_view(workshop, choices, i.lang)


def open_owners(i: Interaction, _rest: str = "") -> None:
    """Facilitators: every opportunity; group members (final maps, follow-up): their own
    group's."""
    with i.uow() as uow:
        workshop_id = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR,
                                   Role.PARTICIPANT).id
    i.client.views_open(trigger_id=i.body["trigger_id"], view=_owners_view(i, workshop_id))


def open_leadership(i: Interaction, _rest: str = "") -> None:
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        view = leadership_view(workshop, i.lang)
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def register(app: App, services: Services) -> None:
    default = services.settings.default_language

    def acknowledge(ack: Ack) -> None:
        ack()

    @background(services)
    def open_from_button(i: Interaction) -> None:
        value = (i.body.get("actions") or [{}])[0].get("value") or ""
        if not value.isdigit():
            raise NotFound("workshop_not_found")
        i.client.views_open(trigger_id=i.body["trigger_id"], view=_owners_view(i, int(value)))

    app.action(Action.OWNERS_OPEN.value)(ack=acknowledge, lazy=[open_from_button])

    # --- owners modal ---------------------------------------------------------------------
    def accept_owners(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def save(uow, meta, values, lang):
            ids = [int(i) for i in meta.get("ids") or [] if str(i).isdigit()]
            owners = {i: clean_owner(values.get(f"user_{i}"), values.get(f"owner_{i}"))
                      for i in ids}
            workshop_id = int(meta["w"])
            changed = assign_owners(uow, workshop_id, context.user_id, owners)
            workshop = get_workshop(uow, workshop_id)
            context["owners"] = {
                "name": workshop.name, "changed": len(changed),
                "new": [{"user": owners[i], "text": uow.board.post_it(i).text}
                        for i in changed if is_slack_user(owners[i])
                        and owners[i] != context.user_id]}

        submit(services, ack, body, view, context, save, "owner")

    @background(services)
    def after_owners(i: Interaction) -> None:
        saved = i.context.get("owners")
        if not saved:
            return
        lang = language_from_metadata(read_metadata(i.body["view"]), default)
        i.client.chat_postMessage(channel=i.user_id, text=t(
            "owners.done", lang, name=escape(saved["name"]), count=saved["changed"]))
        for item in saved["new"]:
            their = services.languages.language(i.client, i.team_id, item["user"], default)
            i.client.chat_postMessage(channel=item["user"], text=t(
                "owners.notify", their, by=i.user_id, name=escape(saved["name"]),
                text=escape(plain(item["text"], 300))))

    app.view(Callback.OWNERS.value)(ack=accept_owners, lazy=[after_owners])

    # --- leadership channel -----------------------------------------------------------------
    def accept_leadership(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def save(uow, meta, values, lang):
            workshop = set_leadership_channel(uow, int(meta["w"]), context.user_id,
                                              values.get("leadership_channel"))
            context["leadership"] = {"name": workshop.name,
                                     "channel": workshop.leadership_channel_id}

        submit(services, ack, body, view, context, save, "leadership_channel")

    @background(services)
    def after_leadership(i: Interaction) -> None:
        saved = i.context.get("leadership")
        if not saved:
            return
        lang = language_from_metadata(read_metadata(i.body["view"]), default)
        key = "leadership.set" if saved["channel"] else "leadership.cleared"
        i.client.chat_postMessage(channel=i.user_id, text=t(
            key, lang, name=escape(saved["name"]), channel=saved["channel"]))

    app.view(Callback.LEADERSHIP.value)(ack=accept_leadership, lazy=[after_leadership])
