"""Buttons and menus in messages and on App Home."""

from __future__ import annotations

import json
import re

from slack_bolt import Ack, App, BoltContext

from bot.blocks import join_view, read_metadata
from bot.board_blocks import add_view, arrange_view, full_board_view, stages_view
from bot.board_modals import review_modal, vote_modal
from bot.group_blocks import edit_view, preview_view
from bot.group_channels import open_group_channels
from bot.i18n import t
from bot.ids import Action
from bot.interaction import Interaction, background
from bot.kickoff import post_kickoff
from bot.listeners.commands import open_new_workshop
from bot.maps import publish_maps
from bot.services import Services
from storage.models import Role
from workflows.board import (
    board_of,
    cast_vote,
    reveal_all,
    review,
    seat_for,
    withdraw_vote,
)
from workflows.groups import plan_groups, preview
from workflows.problems import Forbidden, NotFound, WorkshopError
from workflows.schedule import gate
from workflows.validation import board_feedback
from workflows.workshops import get_workshop, require_role, role_of


def _value(i: Interaction) -> str:
    return (i.body.get("actions") or [{}])[0].get("value") or ""


def _workshop_id(i: Interaction) -> int:
    value = _value(i)
    if not value.isdigit():  # a forged or stale value: reveal nothing

        raise NotFound("workshop_not_found")
    return int(value)


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    @background(services)
    def open_join(i: Interaction) -> None:
        with i.uow() as uow:
            workshop = get_workshop(uow, _workshop_id(i))
            person = uow.people.get(workshop.id, i.user_id)
            if person is not None and person.role == Role.CUSTOMER.value:
                raise Forbidden("customers_cannot_join")
            view = join_view(workshop, i.lang, person.department if person else None)
        i.client.views_open(trigger_id=i.body["trigger_id"], view=view)

    app.action(Action.JOIN.value)(ack=acknowledge, lazy=[open_join])

    @background(services)
    def repost(i: Interaction) -> None:
        workshop_id = _workshop_id(i)
        with i.uow() as uow:
            require_role(uow, workshop_id, i.user_id, Role.FACILITATOR)
        post_kickoff(services, i.client, i.team_id, workshop_id, facilitator_lang=i.lang)

    app.action(Action.REPOST_KICKOFF.value)(ack=acknowledge, lazy=[repost])

    @background(services)
    def open_new(i: Interaction) -> None:
        open_new_workshop(i)

    app.action(Action.OPEN_NEW_WORKSHOP.value)(ack=acknowledge, lazy=[open_new])

    # --- groups (buttons inside the preview modal) -----------------------------------------
    def update_preview(i: Interaction, shown) -> None:
        view = i.body.get("view") or {}
        i.client.views_update(view_id=view["id"], hash=view.get("hash"),
                              view=preview_view(shown, i.lang))

    @background(services)
    def reshuffle(i: Interaction) -> None:
        with i.uow() as uow:
            shown = plan_groups(uow, _workshop_id(i), by=i.user_id, reshuffle=True)
            uow.commit()
            update_preview(i, shown)

    app.action(Action.GROUPS_RESHUFFLE.value)(ack=acknowledge, lazy=[reshuffle])

    @background(services)
    def choose_option(i: Interaction) -> None:
        try:
            option = json.loads(_value(i))
        except ValueError:
            raise NotFound("workshop_not_found") from None
        rules = {key: option[key] for key in ("max_size", "min_size", "group_count")
                 if isinstance(option.get(key), int)}
        workshop_id = int(read_metadata(i.body.get("view") or {}).get("w", 0))
        with i.uow() as uow:
            shown = plan_groups(uow, workshop_id, by=i.user_id, rules=rules)
            uow.commit()
            update_preview(i, shown)

    app.action(re.compile(r"^groups\.option\.\d+$"))(ack=acknowledge, lazy=[choose_option])

    @background(services)
    def open_edit(i: Interaction) -> None:
        with i.uow() as uow:
            shown = preview(uow, _workshop_id(i), by=i.user_id)
            view = edit_view(shown, i.lang)
        i.client.views_push(trigger_id=i.body["trigger_id"], view=view)

    app.action(Action.GROUPS_EDIT.value)(ack=acknowledge, lazy=[open_edit])

    @background(services)
    def retry_channels(i: Interaction) -> None:
        workshop_id = _workshop_id(i)
        with i.uow() as uow:
            require_role(uow, workshop_id, i.user_id, Role.FACILITATOR)
        open_group_channels(services, i.client, i.team_id, workshop_id,
                            facilitator=i.user_id, lang=i.lang)

    app.action(Action.GROUPS_RETRY.value)(ack=acknowledge, lazy=[retry_channels])
    register_board(app, services)


def register_board(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def open_for_group(build):
        @background(services)
        def open_modal(i: Interaction) -> None:
            with i.uow() as uow:
                seat = seat_for(uow, i.user_id, None, group_id=_workshop_id(i))
                view = build(uow, seat, i)
                uow.commit()
            i.client.views_open(trigger_id=i.body["trigger_id"], view=view)

        return open_modal

    app.action(Action.BOARD_ADD.value)(ack=acknowledge, lazy=[open_for_group(
        lambda uow, seat, i: add_view(board_of(uow, seat.group), i.lang))])
    app.action(Action.BOARD_ARRANGE.value)(ack=acknowledge, lazy=[open_for_group(
        lambda uow, seat, i: arrange_view(board_of(uow, seat.group), i.lang))])
    app.action(Action.BOARD_STAGES.value)(ack=acknowledge, lazy=[open_for_group(
        lambda uow, seat, i: stages_view(board_of(uow, seat.group), i.lang))])

    @background(services)
    def open_full(i: Interaction) -> None:
        with i.uow() as uow:
            group = readable_group(uow, i.user_id, _workshop_id(i))
            board = board_of(uow, group)
            view = full_board_view(board, i.lang,
                                   feedback=board_feedback(uow, group, board.post_its))
        i.client.views_open(trigger_id=i.body["trigger_id"], view=view)

    app.action(Action.BOARD_FULL.value)(ack=acknowledge, lazy=[open_full])

    @background(services)
    def page_full(i: Interaction) -> None:
        target = json.loads(_value(i) or "{}")
        with i.uow() as uow:
            group = readable_group(uow, i.user_id, int(target.get("g", 0)))
            board = board_of(uow, group)
            view = full_board_view(board, i.lang, int(target.get("page", 1)),
                                   feedback=board_feedback(uow, group, board.post_its))
        i.client.views_update(view_id=i.body["view"]["id"], view=view)

    app.action(re.compile(r"^board\.page\.(prev|next)$"))(ack=acknowledge, lazy=[page_full])

    # --- votes: committed before the ack, the modal refreshed after -----------------------
    def vote_ack(withdraw: bool):
        def ack_vote(ack: Ack, body: dict, context: BoltContext) -> None:
            ack()  # an action's ack carries no message; the outcome shows in the modal
            meta = read_metadata(body.get("view") or {})
            try:
                target = json.loads((body.get("actions") or [{}])[0].get("value") or "{}")
                with services.uow(context.team_id, context.enterprise_id) as uow:
                    workshop = get_workshop(uow, int(meta.get("w", 0)))
                    gate(uow, workshop.id, "vote")  # only while voting is open
                    change = withdraw_vote if withdraw else cast_vote
                    change(uow, workshop, context.user_id, int(target["p"]))
                    uow.commit()
                    context["vote"] = {"w": workshop.id, "page": target.get("page", 1)}
            except WorkshopError as error:
                context["vote"] = {"w": int(meta.get("w", 0)), "problem": error.code,
                                   "params": error.problem.params}
            except (ValueError, KeyError):
                context["vote"] = {"w": int(meta.get("w", 0)), "problem": "post_it_not_found"}

        return ack_vote

    @background(services)
    def show_votes(i: Interaction) -> None:
        outcome = i.context.get("vote") or {}
        notice = None
        if outcome.get("problem"):
            notice = t(f"error.{outcome['problem']}", i.lang, **outcome.get("params", {}))
        with i.uow() as uow:
            workshop = get_workshop(uow, outcome.get("w", 0))
            view = vote_modal(uow, workshop, i.user_id, i.lang, page=outcome.get("page", 1),
                              notice=notice)
            groups = [g.id for g in uow.groups.groups(workshop.id)]
        i.client.views_update(view_id=i.body["view"]["id"], view=view)
        if not outcome.get("problem"):
            for group_id in groups:  # tallies show on every board
                services.refresh_board(i.client, i.team_id, group_id)

    app.action(Action.VOTE_CAST.value)(ack=vote_ack(False), lazy=[show_votes])
    app.action(Action.VOTE_WITHDRAW.value)(ack=vote_ack(True), lazy=[show_votes])

    @background(services)
    def open_votes(i: Interaction) -> None:
        with i.uow() as uow:
            workshop = get_workshop(uow, _workshop_id(i))
            if role_of(uow, workshop.id, i.user_id) not in (Role.PARTICIPANT.value,
                                                             Role.FACILITATOR.value):
                raise Forbidden("only_participants_vote")
            view = vote_modal(uow, workshop, i.user_id, i.lang)
        i.client.views_open(trigger_id=i.body["trigger_id"], view=view)

    app.action(Action.VOTE_OPEN.value)(ack=acknowledge, lazy=[open_votes])

    @background(services)
    def page_votes(i: Interaction) -> None:
        target = json.loads(_value(i) or "{}")
        meta = read_metadata(i.body.get("view") or {})
        with i.uow() as uow:
            workshop = get_workshop(uow, int(meta.get("w", 0)))
            view = vote_modal(uow, workshop, i.user_id, i.lang, page=int(target.get("page", 1)))
        i.client.views_update(view_id=i.body["view"]["id"], view=view)

    app.action(re.compile(r"^vote\.page\.(prev|next)$"))(ack=acknowledge, lazy=[page_votes])

    # --- anonymous mode: the facilitator's review ---------------------------------------------
    @background(services)
    def hide(i: Interaction) -> None:
        meta = read_metadata(i.body.get("view") or {})
        with i.uow() as uow:
            workshop = require_role(uow, int(meta.get("w", 0)), i.user_id, Role.FACILITATOR)
            post_it = uow.board.post_it(_workshop_id(i))
            if post_it is None:
                raise NotFound("post_it_not_found")
            seat = seat_for(uow, i.user_id, None, group_id=post_it.group_id)
            review(uow, seat, post_it.id, reveal=False)
            uow.commit()
            view = review_modal(uow, workshop, i.lang)
        i.client.views_update(view_id=i.body["view"]["id"], view=view)

    app.action(Action.REVIEW_HIDE.value)(ack=acknowledge, lazy=[hide])

    @background(services)
    def reveal(i: Interaction) -> None:
        with i.uow() as uow:
            workshop = require_role(uow, _workshop_id(i), i.user_id, Role.FACILITATOR)
            reveal_all(uow, workshop, uow.people.get(workshop.id, i.user_id))
            uow.commit()
            view = review_modal(uow, workshop, i.lang)
            groups = [g.id for g in uow.groups.groups(workshop.id)]
        i.client.views_update(view_id=i.body["view"]["id"], view=view)
        for group_id in groups:
            services.refresh_board(i.client, i.team_id, group_id)

    app.action(Action.REVIEW_REVEAL_ALL.value)(ack=acknowledge, lazy=[reveal])

    @background(services)
    def retry_maps(i: Interaction) -> None:
        try:
            target = json.loads(_value(i))
            workshop_id = int(target["w"])
        except (ValueError, KeyError, TypeError):
            raise NotFound("workshop_not_found") from None
        with i.uow() as uow:
            require_role(uow, workshop_id, i.user_id, Role.FACILITATOR)
        publish_maps(services, i.client, i.team_id, workshop_id,
                     version=target.get("v", "hypothetical"), facilitator=i.user_id,
                     only=[int(g) for g in target.get("g", [])],
                     views=[str(k) for k in target.get("c", [])])

    app.action(Action.MAPS_RETRY.value)(ack=acknowledge, lazy=[retry_maps])


def readable_group(uow, user_id: str, group_id: int):
    """Anyone in the workshop but customers may read any group's board."""
    group = uow.board.group(group_id)
    if group is None:
        raise NotFound("workshop_not_found")
    role = role_of(uow, group.workshop_id, user_id)
    if role == Role.CUSTOMER.value:  # customers only answer, from their invitation
        raise Forbidden("customers_only_review")
    if role is None:
        raise Forbidden("not_allowed")
    return group
