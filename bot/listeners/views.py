"""Modal submissions. Validation and the database write happen before the ack, so errors
show inline in the modal and nothing accepted is lost; Slack calls happen after."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from bot.blocks import (
    department_aliases,
    department_label,
    form_values,
    modal,
    read_metadata,
    section,
)
from bot.group_blocks import preview_view
from bot.group_channels import open_group_channels, welcome_late_joiner
from bot.i18n import t
from bot.ids import Callback
from bot.interaction import Interaction, background, language_from_metadata
from bot.kickoff import post_kickoff, refresh_kickoff
from bot.listeners.schedule import post_agenda
from bot.services import Services
from bot.text import escape
from storage.models import Role
from workflows.board import (
    NewPostIt,
    add_post_it,
    add_stage,
    delete_post_it,
    edit_post_it,
    move_post_it,
    move_stage,
    remove_stage,
    rename_stage,
    seat_for,
    set_voting,
)
from workflows.groups import confirm_groups, move_person, place_late, preview, swap_people
from workflows.problems import Invalid, Problem, WorkshopError
from workflows.schedule import gate
from workflows.workshops import WorkshopForm, add_people, create_workshop, get_workshop, join


def inline_errors(fields: dict[str, Problem], lang: str) -> dict[str, str]:
    return {field: t(f"problem.{p.code}", lang, **p.params) for field, p in fields.items()}


def submit(services: Services, ack: Ack, body: dict, view: dict, context: BoltContext,
           operation, error_field: str) -> None:
    """Run `operation(uow, meta, values, lang)` and commit before the ack. Field problems go
    back inline (`response_action: errors`); other refusals show under `error_field`."""
    meta = read_metadata(view)
    lang = language_from_metadata(meta, services.settings.default_language)
    try:
        with services.uow(context.team_id or body["team"]["id"], context.enterprise_id) as uow:
            operation(uow, meta, form_values(view), lang)
            uow.commit()
    except Invalid as invalid:
        ack(response_action="errors", errors=inline_errors(invalid.fields, lang))
        return
    except WorkshopError as error:
        ack(response_action="errors", errors={error_field: t(
            f"error.{error.code}", lang, **error.problem.params)})
        return
    ack()


def register(app: App, services: Services) -> None:
    default = services.settings.default_language

    def uow_for(context: BoltContext, body: dict):
        return services.uow(context.team_id or body["team"]["id"], context.enterprise_id)

    # --- new workshop -----------------------------------------------------------------------
    def accept_workshop(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        lang = language_from_metadata(read_metadata(view), default)
        values = form_values(view)
        form = WorkshopForm(
            name=values.get("name"), channel_id=values.get("channel"),
            language=values.get("language") or lang, timezone=values.get("timezone"),
            day1_date=values.get("day1_date"), day1_time=values.get("day1_time"),
            day2_date=values.get("day2_date"), day2_time=values.get("day2_time"),
            objectives=values.get("objectives"), customer_types=values.get("customer_types"),
            channel_focuses=values.get("channel_focuses"), departments=values.get("departments"),
            min_group_size=values.get("min_group_size"),
            max_group_size=values.get("max_group_size"),
            department_aliases=department_aliases(),
            leadership_channel_id=values.get("leadership_channel"),
        )
        try:
            draft = form.parse()
        except Invalid as invalid:
            ack(response_action="errors", errors=inline_errors(invalid.fields, lang))
            return
        with uow_for(context, body) as uow:
            workshop = create_workshop(uow, draft, creator=context.user_id,
                                       creator_locale=lang)
            uow.commit()
            context["workshop_id"] = workshop.id
        ack()

    @background(services)
    def announce_workshop(i: Interaction) -> None:
        if "workshop_id" in i.context:
            lang = language_from_metadata(read_metadata(i.body["view"]), default)
            post_kickoff(services, i.client, i.team_id, i.context["workshop_id"],
                         facilitator_lang=lang)
            post_agenda(services, i.client, i.team_id, i.context["workshop_id"], lang=lang)

    app.view(Callback.NEW_WORKSHOP.value)(ack=accept_workshop, lazy=[announce_workshop])

    # --- join -------------------------------------------------------------------------------
    def accept_join(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def register_person(uow, meta, values, lang):
            department = values.get("department")
            if not department:
                raise Invalid({"department": Problem("department_required")})
            result = join(uow, int(meta["w"]), context.user_id, department, locale=lang)
            late = place_late(uow, result.person.workshop, result.person)
            if late.group is not None:
                context["late"] = {"exceeds_max": late.exceeds_max}
            elif late.problems:
                context["unplaced"] = late.problems[0].code
            context["joined"] = {"workshop": int(meta["w"]), "name": result.person.workshop.name,
                                 "created": result.created, "department": department}

        submit(services, ack, body, view, context, register_person, "department")

    @background(services)
    def after_join(i: Interaction) -> None:
        joined = i.context.get("joined")
        if not joined:
            return
        lang = language_from_metadata(read_metadata(i.body["view"]), default)
        key = "join.done" if joined["created"] else "join.changed"
        if "late" not in i.context:  # a late joiner is told their group instead
            i.client.chat_postMessage(channel=i.user_id, text=t(
                key, lang, name=escape(joined["name"]),
                department=escape(department_label(joined["department"], lang))))
        refresh_kickoff(services, i.client, i.team_id, joined["workshop"])
        if "late" in i.context:
            welcome_late_joiner(services, i.client, i.team_id, joined["workshop"], i.user_id,
                                exceeds_max=i.context["late"]["exceeds_max"])
        elif "unplaced" in i.context:
            with i.uow() as uow:
                workshop = get_workshop(uow, joined["workshop"])
                facilitators = [p.user_id for p in workshop.people
                                if p.role == Role.FACILITATOR.value]
                wlang = workshop.language
            for facilitator in facilitators:
                i.client.chat_postMessage(channel=facilitator, text=t(
                    "groups.late.unplaced", wlang, user=i.user_id, code=i.context["unplaced"]))

    app.view(Callback.JOIN.value)(ack=accept_join, lazy=[after_join])

    # --- people -----------------------------------------------------------------------------
    def accept_people(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def add(uow, meta, values, lang):
            if values.get("role") not in {r.value for r in Role}:
                raise Invalid({"role": Problem("role_required")})
            role = Role(values["role"])
            users = [u for u in values.get("users") or [] if u != context.bot_user_id]
            added, updated = add_people(uow, int(meta["w"]), by=context.user_id, user_ids=users,
                                        role=role, department=values.get("department"))
            workshop = added[0].workshop if added else updated[0].workshop
            context["people"] = {"workshop": workshop.id, "name": workshop.name,
                                 "channel": workshop.channel_id, "role": role.value,
                                 "users": [p.user_id for p in added + updated]}

        submit(services, ack, body, view, context, add, "users")

    @background(services)
    def after_people(i: Interaction) -> None:
        people = i.context.get("people")
        if not people:
            return
        lang = language_from_metadata(read_metadata(i.body["view"]), default)
        mentions = ", ".join(f"<@{u}>" for u in people["users"])
        i.client.chat_postMessage(channel=i.user_id, text=t(
            "people.done", lang, role=t(f"role.{people['role']}", lang),
            name=escape(people["name"]), users=mentions))
        for user in people["users"]:
            if user == i.user_id:
                continue
            their = services.languages.language(i.client, i.team_id, user, default)
            i.client.chat_postMessage(channel=user, text=t(
                "people.notify", their, by=f"<@{i.user_id}>",
                role=t(f"role.{people['role']}", their), name=escape(people["name"]),
                channel=people["channel"]))
        refresh_kickoff(services, i.client, i.team_id, people["workshop"])

    app.view(Callback.PEOPLE.value)(ack=accept_people, lazy=[after_people])

    # --- groups: confirm the preview, edit the draft -------------------------------------------
    def accept_groups(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        meta = read_metadata(view)
        lang = language_from_metadata(meta, default)
        try:
            with uow_for(context, body) as uow:
                gate(uow, int(meta["w"]), "form_groups")
                confirm_groups(uow, int(meta["w"]), by=context.user_id)
                uow.commit()
        except WorkshopError as error:
            ack(response_action="update", view=problem_view(error, lang))
            return
        context["confirmed"] = {"workshop": int(meta["w"]), "lang": lang}
        ack()

    @background(services)
    def after_groups(i: Interaction) -> None:
        confirmed = i.context.get("confirmed")
        if confirmed:
            open_group_channels(services, i.client, i.team_id, confirmed["workshop"],
                                facilitator=i.user_id, lang=confirmed["lang"])

    app.view(Callback.GROUPS_PREVIEW.value)(ack=accept_groups, lazy=[after_groups])

    def accept_edit(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def edit(uow, meta, values, lang):
            person, group, other = values.get("person"), values.get("group"), values.get("other")
            if bool(group) == bool(other):
                raise Invalid({"group": Problem("move_or_swap")})
            if group:
                move_person(uow, int(meta["w"]), by=context.user_id, user_id=person,
                            to_group=int(group))
            else:
                swap_people(uow, int(meta["w"]), by=context.user_id, first=person,
                            second=other)
            context["edited"] = {"workshop": int(meta["w"]), "lang": lang}

        submit(services, ack, body, view, context, edit, "person")

    @background(services)
    def after_edit(i: Interaction) -> None:
        edited = i.context.get("edited")
        previous = (i.body.get("view") or {}).get("previous_view_id")
        if not edited or not previous:
            return
        with i.uow() as uow:
            shown = preview(uow, edited["workshop"], by=i.user_id)
            i.client.views_update(view_id=previous, view=preview_view(shown, edited["lang"]))

    app.view(Callback.GROUPS_EDIT.value)(ack=accept_edit, lazy=[after_edit])
    register_board(app, services)


def problem_view(error: WorkshopError, lang: str) -> dict:
    return modal(callback_id=Callback.GROUPS_PREVIEW, title=t("groups.title", lang), submit=None,
                 close=t("close", lang), blocks=[section(t(f"error.{error.code}", lang,
                                                           **error.problem.params))])


def register_board(app: App, services: Services) -> None:
    """Board modals: add, arrange, stages, settings."""

    def refresh_after(i: Interaction) -> None:
        if i.context.get("board"):
            services.refresh_board(i.client, i.team_id, i.context["board"])
        for group_id in i.context.get("boards") or []:
            services.refresh_board(i.client, i.team_id, group_id)


    def _score(value) -> int | None:
        return int(value) if value not in (None, "") else None

    def accept_post_it(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def add(uow, meta, values, lang):
            seat = seat_for(uow, context.user_id, None, group_id=int(meta["g"]))
            gate(uow, seat.workshop.id, "post")  # the current phase may have closed posting
            stage = values.get("stage")
            post_it, _ = add_post_it(uow, seat, NewPostIt(
                values.get("kind"), int(stage) if stage else None, values.get("text"),
                values.get("channel"), _score(values.get("score"))),
                request_key=f"view:{view['id']}")
            context["board"] = seat.group.id

        submit(services, ack, body, view, context, add, "text")

    app.view(Callback.ADD_POST_IT.value)(ack=accept_post_it,
                                         lazy=[background(services)(refresh_after)])

    def accept_arrange(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def arrange(uow, meta, values, lang):
            if not values.get("post_it"):
                raise Invalid({"post_it": Problem("pick_post_it")})
            seat = seat_for(uow, context.user_id, None, group_id=int(meta["g"]))
            gate(uow, seat.workshop.id, "arrange")
            post_it_id = int(values["post_it"])
            version = (meta.get("v") or {}).get(str(post_it_id))
            if "delete" in (values.get("delete") or []):
                delete_post_it(uow, seat, post_it_id, expected_version=version)
            else:
                if values.get("text"):
                    post_it = edit_post_it(uow, seat, post_it_id, expected_version=version,
                                           text=values["text"])
                    version = post_it.version
                if values.get("stage") or values.get("position"):
                    current = uow.board.post_it(post_it_id)
                    stage_id = int(values["stage"]) if values.get("stage") else current.stage_id
                    position = int(values["position"]) if values.get("position") else None
                    move_post_it(uow, seat, post_it_id, stage_id=stage_id, position=position,
                                 expected_version=version)
            context["board"] = seat.group.id

        submit(services, ack, body, view, context, arrange, "post_it")

    app.view(Callback.ARRANGE.value)(ack=accept_arrange,
                                     lazy=[background(services)(refresh_after)])

    def accept_stages(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def change(uow, meta, values, lang):
            seat = seat_for(uow, context.user_id, None, group_id=int(meta["g"]))
            action, stage = values.get("action"), values.get("stage")
            position = int(values["position"]) if values.get("position") else None
            if action == "add":
                add_stage(uow, seat, values.get("name") or "", position=position)
            elif not stage:
                raise Invalid({"stage": Problem("stage_action")})
            elif action == "rename":
                rename_stage(uow, seat, int(stage), values.get("name") or "")
            elif action == "move":
                if position is None:
                    raise Invalid({"position": Problem("stage_action")})
                move_stage(uow, seat, int(stage), position)
            elif action == "remove":
                remove_stage(uow, seat, int(stage))
            context["board"] = seat.group.id

        submit(services, ack, body, view, context, change, "stage")

    app.view(Callback.STAGES.value)(ack=accept_stages,
                                    lazy=[background(services)(refresh_after)])

    def accept_settings(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        def save(uow, meta, values, lang):
            options = values.get("options") or []
            budget = int(values.get("budget") or 0)
            workshop = set_voting(uow, int(meta["w"]), context.user_id, budget=budget,
                                  stacking="stacking" in options)
            workshop.anonymous = "anonymous" in options
            context["boards"] = [g.id for g in uow.groups.groups(workshop.id)]

        submit(services, ack, body, view, context, save, "budget")

    app.view(Callback.SETTINGS.value)(ack=accept_settings,
                                      lazy=[background(services)(refresh_after)])
