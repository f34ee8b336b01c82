"""The schedule: `/journey schedule` and `/journey next`, the phase controls on each
announcement (Start now / Next, +10 min, Pause / Resume, Skip, Back, Edit), and the
schedule modal.

The buttons are visible to everyone in the channel; only facilitators may use them, which
`workflows.schedule.operate` checks on the server (others get a private answer in their
language). A button's operation is validated and committed before the ack (it carries the
phase its message showed, so a double click or an old message never moves the workshop
twice); announcements, the refreshed controls and re-planned jobs come after.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext

from bot.blocks import form_values, message, read_metadata
from bot.i18n import has, t
from bot.ids import Action, Callback
from bot.interaction import Interaction, background, language_from_metadata
from bot.kickoff import refresh_kickoff
from bot.schedule_blocks import (
    agenda_blocks,
    phase_label,
    read_control,
    schedule_errors,
    schedule_view,
    slack_time,
)
from bot.schedule_effects import refresh_controls
from bot.scheduling import write
from bot.services import Services
from bot.text import escape
from storage.models import Role
from workflows.phases import PHASES
from workflows.problems import Invalid, WorkshopError
from workflows.schedule import (
    EDITABLE,
    EXTRA_MINUTES,
    Change,
    ScheduleForm,
    edit_schedule,
    operate,
    run_of,
    set_message,
    tick,
)
from workflows.workshops import get_workshop, require_role, workshop_for

log = logging.getLogger(__name__)

BUTTONS = {
    Action.SCHEDULE_NEXT: "advance",
    Action.SCHEDULE_EXTEND: "extend",
    Action.SCHEDULE_PAUSE: "pause",
    Action.SCHEDULE_RESUME: "resume",
    Action.SCHEDULE_SKIP: "skip",
    Action.SCHEDULE_BACK: "back",
}


# --- commands (called from bot/listeners/commands.py, after the ack) ---------------------------


def open_schedule(i: Interaction, _rest: str = "", workshop_id: int | None = None) -> None:
    with i.uow() as uow:
        if workshop_id is None:
            workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        else:
            workshop = require_role(uow, workshop_id, i.user_id, Role.FACILITATOR)
        view = schedule_view(workshop, run_of(uow, workshop.id), i.lang)
    i.client.views_open(trigger_id=i.body["trigger_id"], view=view)


def advance(i: Interaction, _rest: str = "") -> None:
    """`/journey next`: end the current phase now and start the next one (from preparation:
    start the workshop now)."""
    services = i.services
    with i.uow() as uow:
        workshop = workshop_for(uow, i.user_id, i.channel_id, Role.FACILITATOR)
        workshop_id, channel = workshop.id, workshop.channel_id
    change = write(services, i.team_id, lambda uow: operate(
        uow, workshop_id, i.user_id, "advance", services.clock()))
    services.schedule.after(i.team_id, change)
    i.tell(t("schedule.moved", i.lang, phase=phase_label(change.run.phase, i.lang),
             channel=channel))


# --- after a workshop is created ---------------------------------------------------------------


def post_agenda(services: Services, client, team_id: str, workshop_id: int, *,
                lang: str) -> None:
    """Store the new workshop's run, plan its jobs, and DM its facilitator the agenda with
    the controls (*Start now*, *Edit schedule*) until the kick-off. A failure here is
    logged: the workshop itself was created and announced."""
    try:
        change = write(services, team_id, lambda uow: _tick(uow, workshop_id, services))
        services.schedule.after(team_id, change)
        if change.run.phase != "preparation":
            return
        with services.uow(team_id) as uow:
            workshop = get_workshop(uow, workshop_id)
            text = t("schedule.agenda", lang, name=escape(workshop.name),
                     channel=workshop.channel_id)
            blocks = message(agenda_blocks(workshop, change.run, lang, intro=text))
            creator = workshop.created_by
        posted = client.chat_postMessage(channel=creator, text=text, blocks=blocks)
        write(services, team_id, lambda uow: set_message(
            uow, workshop_id, posted["channel"], posted["ts"], "preparation"))
    except Exception:  # noqa: BLE001
        log.exception("could not set up the schedule of workshop %s", workshop_id)


def _tick(uow, workshop_id: int, services: Services) -> Change:
    return tick(uow, workshop_id, services.clock())


# --- listeners ---------------------------------------------------------------------------------


def register(app: App, services: Services) -> None:
    default = services.settings.default_language

    def acknowledge(ack: Ack) -> None:
        ack()

    def button_ack(operation: str):
        def ack_button(ack: Ack, body: dict, context: BoltContext) -> None:
            value = ((body.get("actions") or [{}])[0]).get("value")
            workshop_id, expected = read_control(value)
            team = context.team_id or (body.get("team") or {}).get("id")
            try:
                change = write(services, team, lambda uow: operate(
                    uow, workshop_id, context.user_id, operation, services.clock(),
                    expected=expected, minutes=EXTRA_MINUTES))
                context["schedule"] = {"change": change, "operation": operation}
            except WorkshopError as error:
                context["schedule"] = {"problem": error.code, "params": error.problem.params}
            except Exception:  # noqa: BLE001 — Slack still gets its ack; the user is told
                log.exception("schedule button %s failed", operation)
                context["schedule"] = {"problem": "generic", "params": {}}
            ack()

        return ack_button

    @background(services)
    def after_button(i: Interaction) -> None:
        outcome = i.context.get("schedule") or {}
        if "problem" in outcome:
            code = outcome["problem"]
            key = f"error.{code}"
            i.tell(t(key if has(key) else "error.generic", i.lang,
                     **_labels(outcome.get("params") or {}, i.lang)))
            return
        change: Change = outcome["change"]
        services.schedule.after(i.team_id, change)
        if not change.applied:  # +10 min, pause, resume: the same announcement, redrawn
            refresh_controls(services, i.client, i.team_id, change.workshop_id, change.run)
            _note(services, i, change, outcome["operation"])

    for action, operation in BUTTONS.items():
        app.action(action.value)(ack=button_ack(operation), lazy=[after_button])

    @background(services)
    def edit(i: Interaction) -> None:
        value = ((i.body.get("actions") or [{}])[0]).get("value")
        workshop_id, _phase = read_control(value)
        open_schedule(i, workshop_id=workshop_id)

    app.action(Action.SCHEDULE_EDIT.value)(ack=acknowledge, lazy=[edit])

    # --- the schedule modal ----------------------------------------------------------------
    def accept_schedule(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        meta = read_metadata(view)
        lang = language_from_metadata(meta, default)
        values = form_values(view)
        form = ScheduleForm(
            day1_date=values.get("day1_date"), day2_date=values.get("day2_date"),
            shown_day1=meta.get("d1", ""), shown_day2=meta.get("d2", ""),
            phases={p: (values.get(f"{p}.start"), values.get(f"{p}.minutes"),
                        values.get(f"{p}.reminder")) for p in EDITABLE},
            nudges="nudges" in (values.get("options") or []))
        team = context.team_id or body["team"]["id"]
        try:
            change = write(services, team, lambda uow: edit_schedule(
                uow, int(meta.get("w", 0)), context.user_id, form, services.clock()))
        except Invalid as invalid:
            ack(response_action="errors", errors=schedule_errors(invalid.fields, lang))
            return
        except WorkshopError as error:
            ack(response_action="errors", errors={"day1_date": t(
                f"error.{error.code}", lang, **error.problem.params)})
            return
        context["schedule"] = {"change": change, "lang": lang}
        ack()

    @background(services)
    def after_schedule(i: Interaction) -> None:
        outcome = i.context.get("schedule")
        if not outcome:
            return
        change: Change = outcome["change"]
        woken = services.schedule.wake(i.team_id, change.workshop_id)  # what the edit made due
        run = woken.run if woken is not None else change.run
        refresh_controls(services, i.client, i.team_id, change.workshop_id, run)
        refresh_kickoff(services, i.client, i.team_id, change.workshop_id)
        with i.uow() as uow:
            name = get_workshop(uow, change.workshop_id).name
        i.client.chat_postMessage(channel=i.user_id, text=t(
            "schedule.saved", outcome["lang"], name=escape(name)))

    app.view(Callback.SCHEDULE.value)(ack=accept_schedule, lazy=[after_schedule])


def _labels(params: dict, lang: str) -> dict:
    return {k: phase_label(v, lang) if isinstance(v, str) and v in PHASES else v
            for k, v in params.items()}


def _note(services: Services, i: Interaction, change: Change, operation: str) -> None:
    """A short public line when the clock changed without a new phase."""
    with i.uow() as uow:
        workshop = get_workshop(uow, change.workshop_id)
        lang, channel, tz = workshop.language, workshop.channel_id, workshop.timezone
    run, phase = change.run, change.run.phase
    label = phase_label(phase, lang)
    if operation == "extend":
        text = t("schedule.extended", lang, phase=label, minutes=EXTRA_MINUTES,
                 end=slack_time(run.timetable.ends_at(phase), tz))
    elif operation == "pause":
        text = t("schedule.paused_note", lang, phase=label)
    elif operation == "resume" and phase in {s.phase for s in run.timetable.slots}:
        text = t("schedule.resumed_note", lang, phase=label,
                 end=slack_time(run.timetable.ends_at(phase), tz))
    else:
        return
    i.client.chat_postMessage(channel=channel, text=text)
