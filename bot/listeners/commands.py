"""`/journey` and its subcommands (English and French words)."""

from __future__ import annotations

import secrets

from slack_bolt import Ack, App, BoltContext

from bot.blocks import help_blocks, local_today, new_workshop_view, people_view, status_blocks
from bot.board_blocks import (
    add_view,
    full_board_view,
    settings_view,
    stage_label,
    stage_names,
)
from bot.board_modals import review_modal, vote_modal
from bot.group_blocks import preview_view
from bot.i18n import language_of, t
from bot.interaction import Interaction, background
from bot.listeners.customers import open_customers
from bot.listeners.owners import open_leadership, open_owners
from bot.listeners.schedule import advance, open_schedule
from bot.maps import (
    export_workshop,
    group_map,
    map_labels,
    post_summary,
    publish_maps,
)
from bot.seat_memory import SeatSnapshot, remember_group, snapshot
from bot.services import Services
from bot.text import escape, plain
from storage.fast_post_its import Stale, loaded_schedule
from storage.models import Role
from workflows.board import NewPostIt, add_post_it, board_of, ensure_stages, seat_for
from workflows.groups import preview
from workflows.problems import Forbidden, Invalid, WorkshopError
from workflows.publication import default_version
from workflows.quick_add import QuickAdd, parse
from workflows.schedule import gate
from workflows.validation import board_feedback, only_customer
from workflows.workshops import role_of, standings, workshop_for


def show_status(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        blocks = status_blocks(standings(uow, i.user_id), i.lang)
    i.tell(t("status.header", i.lang), blocks)


def show_help(i: Interaction, _rest: str) -> None:
    i.tell(t("help.title", i.lang), help_blocks(i.lang))


def open_new_workshop(i: Interaction, _rest: str = "") -> None:
    profile = i.services.languages.profile(i.client, i.team_id, i.user_id)
    tz = profile.get("tz") or i.services.settings.default_timezone
    i.client.views_open(trigger_id=i.body["trigger_id"], view=new_workshop_view(
        i.lang, timezone=tz, today=local_today(tz), channel_id=i.channel_id))


def open_groups(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        gate(uow, workshop.id, "form_groups")
        shown = preview(uow, workshop.id, by=i.user_id)
        uow.commit()
        view = preview_view(shown, i.lang)
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def open_people(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        view = people_view(workshop, i.lang)
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def open_add(i: Interaction, rest: str) -> None:
    prefill = i.context.get("prefill")
    with i.uow() as uow:
        seat = seat_for(uow, i.user_id, i.channel_id)
        board = board_of(uow, seat.group)
        uow.commit()
        quick = QuickAdd(**prefill) if prefill else None
        view = add_view(board, i.lang, quick)
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def open_full_board(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        seat = seat_for(uow, i.user_id, i.channel_id)
        board = board_of(uow, seat.group)
        view = full_board_view(board, i.lang,
                               feedback=board_feedback(uow, seat.group, board.post_its))
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def open_vote(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.PARTICIPANT,
                                Role.FACILITATOR)
        view = vote_modal(uow, workshop, i.user_id, i.lang)
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def open_review(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        view = review_modal(uow, workshop, i.lang)
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def open_settings(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        view = settings_view(workshop, i.lang)
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def post_map(i: Interaction, _rest: str) -> None:
    """The caller's group map (or this group channel's), posted where they asked."""
    with i.uow() as uow:
        group = uow.board.group_by_channel(i.channel_id) if i.channel_id else None
        if group is None:
            seat = seat_for(uow, i.user_id, None)
            group = seat.group
        role = role_of(uow, group.workshop_id, i.user_id)
        if role in (None, Role.CUSTOMER.value):
            raise Forbidden("not_allowed")
        group_id, in_channel = group.id, group.channel_id == i.channel_id
        lang = uow.workshops.get_plain(group.workshop_id).language
        version = default_version(uow, group.workshop_id)  # validated once day 2 starts
    from workflows.rendering import alt_text, render_map  # matplotlib: only when drawing

    number, channel, *_rest, the_map = group_map(i.services, i.client, i.team_id, group_id,
                                                 version=version, lang=lang)
    labels = map_labels(lang)
    target = channel if in_channel else \
        i.client.conversations_open(users=i.user_id)["channel"]["id"]
    i.client.files_upload_v2(file=render_map(the_map, labels), channel=target,
                             filename=f"journey-map-group-{number}.png",
                             title=the_map.group, alt_txt=alt_text(the_map, labels)[:1000])


def publish_now(i: Interaction, rest: str) -> None:
    """`/journey publish`: the hypothetical maps, or the validated maps and the comparison
    views once day 2 has started (`/journey publish hypothetical|validated` to choose)."""
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        workshop_id = workshop.id
        word = rest.strip().lower()
        version = "validated" if word.startswith(("valid", "final")) else \
            "hypothetical" if word.startswith(("hypo",)) else default_version(uow, workshop_id)
    publish_maps(i.services, i.client, i.team_id, workshop_id, facilitator=i.user_id,
                 version=version)


def send_summary(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR,
                                Role.LEADERSHIP)
        workshop_id = workshop.id
    post_summary(i.services, i.client, i.team_id, workshop_id, requested_by=i.user_id)


def send_export(i: Interaction, _rest: str) -> None:
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        workshop_id = workshop.id
    export_workshop(i.services, i.client, i.team_id, workshop_id, by=i.user_id)


ADD_WORDS = ("add", "ajouter", "ajout", "+")

SUBCOMMANDS = {
    "": show_status, "status": show_status, "statut": show_status,
    "help": show_help, "aide": show_help, "?": show_help,
    "new": open_new_workshop, "nouveau": open_new_workshop, "nouvel": open_new_workshop,
    "people": open_people, "personnes": open_people,
    "groups": open_groups, "groupes": open_groups,
    **dict.fromkeys(ADD_WORDS, open_add),
    "board": open_full_board, "tableau": open_full_board,
    "vote": open_vote, "voter": open_vote,
    "review": open_review, "relire": open_review,
    "map": post_map, "carte": post_map,
    "publish": publish_now, "publier": publish_now,
    "summary": send_summary, "synthese": send_summary, "synthèse": send_summary,
    "export": send_export, "exporter": send_export,
    "owners": open_owners, "responsables": open_owners,
    "leadership": open_leadership, "direction": open_leadership,
    "settings": open_settings, "reglages": open_settings, "réglages": open_settings,
    "schedule": open_schedule, "planning": open_schedule,
    "next": advance, "suivant": advance,
    "customers": open_customers, "clients": open_customers,
}


# A quick-add's confirmation, worded once per (created, kind, language, stage) and kept:
# a burst confirms the same few stages and kinds again and again. What goes around the
# post-it's text; the mark is where the text goes (random: no stage name can contain it).
_WORDING: dict[tuple, tuple[str, str]] = {}
_TEXT_MARK = f"\x00{secrets.token_hex(8)}\x00"


def _reply(post_it, created: bool, stages, lang: str) -> str:
    stage_id, kind = post_it.stage_id, post_it.kind
    stage = next(s for s in stages if s.id == stage_id)
    key = (created, kind, lang, stage.key, stage.name)
    try:
        before, after = _WORDING[key]
    except KeyError:
        if len(_WORDING) >= 1024:  # renamed stages leave old wordings behind
            _WORDING.clear()
        before, _, after = t("add.done" if created else "add.duplicate", lang,
                             stage=escape(stage_label(stage, lang)),
                             kind=t(f"kind.{kind}", lang), text=_TEXT_MARK).partition(_TEXT_MARK)
        _WORDING[key] = before, after
    return before + escape(plain(post_it.text, 200)) + after


def _prefill(context: BoltContext, parsed) -> None:
    context["prefill"] = {"kind": parsed.kind, "stage_id": parsed.stage_id,
                          "text": parsed.text, "channel": parsed.channel,
                          "score": parsed.score}


def _quick_add_cached(services: Services, body: dict, context: BoltContext, text: str,
                      snap: SeatSnapshot) -> str | None:
    """The hot path: no reads at all. The snapshot's facts are re-checked by the writer in
    the transaction that stores the post-it (`storage.fast_post_its`); `Stale` if they
    changed, and for anything but a stored post-it (a line not understood, a validation
    error): the caller then takes the full path, which decides from fresh data."""
    parsed = parse(text, snap.names)
    if not parsed.complete:
        raise Stale("not understood with the remembered stages")  # read them again
    new = NewPostIt(parsed.kind, parsed.stage_id, parsed.text, parsed.channel, parsed.score)
    writer = services.db.post_its
    try:
        post_it, created = add_post_it(
            None, snap.seat, new, request_key=f"cmd:{body.get('trigger_id')}",
            stages=snap.stages, store=lambda p: writer.add(p, snap.facts))
    except (Invalid, WorkshopError) as refused:  # worded from fresh data by the full path
        raise Stale("refused") from refused
    context["board"] = snap.seat.group.id
    return _reply(post_it, created, snap.stages, snap.lang)


def quick_add(services: Services, body: dict, context: BoltContext, text: str, *,
              direct: bool = False) -> str | None:
    """`/journey add KIND STAGE: TEXT`, stored before the ack; the confirmation is the ack's
    own text (no Web API call). None when the line needs the modal instead.

    A burst of quick-adds from the same people in their group channels reads nothing: the
    seat, stages and phase gate read by the caller's previous quick-add are kept per process
    (`Database.post_its.snapshots`) and re-checked against the database when the post-it is
    written, in the same transaction (see `storage/fast_post_its.py`). `direct`: write
    through the unit of work under the write lock, without snapshots (after a snapshot
    turned out stale twice in a row, so a board that keeps changing cannot loop)."""
    team = context.team_id or body.get("team_id")
    channel_id = body.get("channel_id")
    writer = services.db.post_its
    key = (team, context.user_id, channel_id)
    snap = None if direct else writer.snapshots.get(key)
    if snap is not None:
        try:
            return _quick_add_cached(services, body, context, text, snap)
        except Stale:
            writer.snapshots.pop(key, None)
    with services.uow(team, context.enterprise_id) as uow:
        try:
            seat = seat_for(uow, context.user_id, channel_id)
        except WorkshopError:
            return None  # the background part explains, in the user's language
        lang = language_of(seat.person.locale, seat.workshop.language)
        # The group's stages; the very first post-it of a group seeds them (a write, so
        # that one takes the ordinary path: stages and post-it in one transaction).
        stages = uow.board.stages(seat.group.id)
        seeding = not stages
        if seeding:
            stages = ensure_stages(uow, seat.group)
        names = stage_names(stages)
        parsed = parse(text, names)
        if not parsed.complete:
            _prefill(context, parsed)
            return None
        try:
            gate(uow, seat.workshop.id, "post")  # the current phase may have closed posting
            new = NewPostIt(parsed.kind, parsed.stage_id, parsed.text, parsed.channel,
                            parsed.score)
            request_key = f"cmd:{body.get('trigger_id')}"
            if not (seeding or direct) and seat.group.channel_id \
                    and seat.group.channel_id == channel_id:
                schedule = loaded_schedule(uow, seat.workshop.id)
                snap = snapshot(seat, stages, schedule, names)
                remember_group(writer, team, seat.group, seat.workshop, stages, schedule,
                               skip=seat.person)
            else:
                with services.db.writing():
                    post_it, created = add_post_it(uow, seat, new, request_key=request_key,
                                                   stages=stages)
                    uow.commit()
                context["board"] = seat.group.id
                return _reply(post_it, created, stages, lang)
        except Invalid as invalid:
            return _problems(invalid, lang)
        except WorkshopError as error:
            return t(f"error.{error.code}", lang, **error.problem.params)
    # Committed with the other post-its arriving meanwhile (group commit), once the
    # unit of work has given its connection back: never wait for the writer holding one.
    try:
        post_it, created = add_post_it(None, snap.seat, new, request_key=request_key,
                                       stages=snap.stages,
                                       store=lambda p: writer.add(p, snap.facts))
    except Invalid as invalid:
        return _problems(invalid, lang)
    except Stale:
        return quick_add(services, body, context, text, direct=True)  # changed under us
    except WorkshopError as error:
        return t(f"error.{error.code}", lang, **error.problem.params)
    writer.remember(key, snap, snap.facts)
    context["board"] = snap.seat.group.id
    return _reply(post_it, created, snap.stages, lang)


def _problems(invalid: Invalid, lang: str) -> str:
    return "\n".join(t(f"problem.{p.code}", lang, **p.params) for p in invalid.fields.values())


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack, body: dict, context: BoltContext) -> None:
        # Only quick-add works before the ack (parse, validate, commit, confirm in the ack's
        # own text). Everything else — replies, modals — comes from `journey` below, on the
        # worker pool. (Not a Bolt lazy listener: Bolt would deep-copy the request and
        # start a worker for every command, including the quick-adds that need nothing
        # more — about a third of a burst's CPU.) It asks Bolt for three arguments only:
        # Bolt matches each of its ~35 candidates against the names asked for, per request;
        # the client and `respond` come from the context when needed.
        word, _, rest = (body.get("text") or "").strip().partition(" ")
        if word.lower() in ADD_WORDS and rest.strip():
            reply = quick_add(services, body, context, rest.strip())
            if reply is not None:
                ack(text=reply)
                if context.get("board"):  # marks the board dirty; the update comes later
                    services.refresh_board(context.client, context.team_id, context["board"])
                return
        ack()
        services.work.submit(journey, body, context.client, context, context.respond)

    @background(services)
    def journey(i: Interaction) -> None:
        word, _, rest = (i.body.get("text") or "").strip().partition(" ")
        handler = SUBCOMMANDS.get(word.lower())
        if handler is None:
            i.tell(t("error.unknown_command", i.lang, word=escape(word)),
                   help_blocks(i.lang, t("error.unknown_command", i.lang, word=escape(word))))
            return
        if handler not in (show_status, show_help):
            with i.uow() as uow:
                if only_customer(uow, i.user_id):  # customers only answer, from their DM
                    raise Forbidden("customers_only_review")
        handler(i, rest.strip())

    app.command("/journey")(acknowledge)
