"""What each schedule hook does in Slack (`workflows.phases.HOOKS`).

`services.phase_effects` maps a hook code to a handler `fn(event: PhaseEvent) -> None`.
`install(services)` puts the built-in handlers there; handlers of other features plug in by
code (e.g. `services.phase_effects["render_hypothetical_maps"] = my_handler`). A hook
without a handler is logged and skipped. Handlers run after the transition was recorded
(exactly once per transition key), on a worker thread, and may call the Web API freely.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.blocks import message, section
from bot.i18n import language_of, t
from bot.ids import Action
from bot.schedule_blocks import (
    agenda_blocks,
    kickoff_message,
    phase_label,
    phase_message,
    slack_time,
)
from bot.services import Services
from bot.text import escape, plain
from storage.errors import Conflict
from storage.models import Role
from workflows.phases import Run, Transition
from workflows.schedule import (
    facilitators,
    message_of,
    run_of,
    set_message,
    silent_participants,
    vote_results,
)
from workflows.workshops import get_workshop

log = logging.getLogger(__name__)

FUTURE_HOOKS = ("render_hypothetical_maps", "post_leadership_digest", "invite_customers",
                "thank_customers", "render_validated_maps", "post_leadership_summary")
"""Hooks whose features are not in this module: other features register their handlers."""


@dataclass(frozen=True)
class PhaseEvent:
    """One hook to run. `run`: the workshop's run after the transitions were applied
    (`run.phase` may be past `transition.phase` when several fired at once). `late`: the
    transition was applied after its grace period (a catch-up) and still judged useful."""

    services: Services
    client: WebClient
    team_id: str
    workshop_id: int
    hook: str
    transition: Transition
    run: Run
    late: bool = False


Effect = Callable[[PhaseEvent], None]


@dataclass(frozen=True)
class _Workshop:
    id: int
    name: str
    channel_id: str
    language: str
    timezone: str
    groups: tuple[str, ...]                   # group channel ids
    facilitators: tuple[tuple[str, str], ...]  # (user id, language)
    vote_budget: int
    participants: int
    groups_confirmed: bool


def _load(event: PhaseEvent) -> _Workshop:
    with event.services.uow(event.team_id) as uow:
        w = get_workshop(uow, event.workshop_id)
        grouping = uow.groups.grouping(w.id)
        return _Workshop(
            w.id, w.name, w.channel_id, w.language, w.timezone,
            tuple(g.channel_id for g in uow.groups.groups(w.id) if g.channel_id),
            tuple((p.user_id, language_of(p.locale, w.language))
                  for p in facilitators(uow, w.id)),
            w.vote_budget, sum(1 for p in w.people if p.role == Role.PARTICIPANT.value),
            grouping is not None and grouping.confirmed_at is not None)


def _post(client: WebClient, channel: str, text: str, blocks: list[dict] | None = None):
    try:
        return client.chat_postMessage(channel=channel, text=text,
                                       blocks=blocks or message([section(text)]))
    except SlackApiError as error:
        log.warning("schedule message not posted in %s: %s", channel,
                    error.response.get("error"))
        return None


def _everywhere(client: WebClient, w: _Workshop, text: str, blocks=None) -> None:
    """The workshop channel, then every group channel."""
    for channel in (w.channel_id, *w.groups):
        _post(client, channel, text, blocks)


# --- announcements and controls ----------------------------------------------------------------


def post_controls(services: Services, client: WebClient, team_id: str, workshop_id: int,
                  run: Run, phase: str, *, kickoff: bool = False, groups: bool = True) -> None:
    """Announce `phase` in the workshop channel (with the controls if it is the current
    phase) and in the group channels (without); the previous announcement loses its
    buttons, so the controls only ever live on the latest one."""
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        lang = workshop.language
        if kickoff:
            text, blocks = kickoff_message(workshop, run, lang)
            plain_text, plain_blocks = kickoff_message(workshop, run, lang, with_controls=False)
        else:
            text, blocks = phase_message(workshop, run, phase, lang)
            plain_text, plain_blocks = phase_message(workshop, run, phase, lang,
                                                     with_controls=False)
        channel = workshop.channel_id
        group_channels = [g.channel_id for g in uow.groups.groups(workshop_id) if g.channel_id]
    posted = _post(client, channel, text, blocks)
    if posted is not None and run.phase == phase:
        previous = _remember(services, team_id, workshop_id, posted, phase)
        if previous:
            retire_controls(services, client, team_id, workshop_id, previous)
    if groups:
        for group_channel in group_channels:
            _post(client, group_channel, plain_text, plain_blocks)


def _remember(services: Services, team_id: str, workshop_id: int, posted, phase: str
              ) -> dict | None:
    for _attempt in range(5):
        try:
            with services.db.writing(), services.uow(team_id) as uow:
                previous = set_message(uow, workshop_id, posted["channel"], posted["ts"], phase)
                uow.commit()
                return previous
        except Conflict:
            continue
    log.warning("could not remember the controls of workshop %s", workshop_id)
    return None


def _controls_message(workshop, run: Run, phase: str, *, live: bool
                     ) -> tuple[str, list[dict]]:
    """The message that carries (`live`) or carried the controls for `phase`: the agenda
    DM in preparation, the kick-off with the day's agenda, else the phase announcement
    (once past: what it said, without times or buttons)."""
    lang = workshop.language
    if phase == "preparation":
        text = t("schedule.agenda" if live else "schedule.agenda.started", lang,
                 name=escape(workshop.name), channel=workshop.channel_id)
        return text, message(agenda_blocks(workshop, run, lang, intro=text,
                                           with_controls=live))
    if phase == "kickoff":
        return kickoff_message(workshop, run, lang, with_controls=live)
    return phase_message(workshop, run, phase, lang, with_controls=live, past=not live)


def retire_controls(services: Services, client: WebClient, team_id: str, workshop_id: int,
                    where: dict) -> None:
    """An older announcement keeps what it said but loses its buttons."""
    phase = where.get("phase")
    if not phase or not where.get("channel") or not where.get("ts"):
        return
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        text, blocks = _controls_message(workshop, run_of(uow, workshop_id), phase,
                                         live=False)
    try:
        client.chat_update(channel=where["channel"], ts=where["ts"], text=text, blocks=blocks)
    except SlackApiError as error:
        log.info("old controls not retired: %s", error.response.get("error"))


def refresh_controls(services: Services, client: WebClient, team_id: str, workshop_id: int,
                     run: Run) -> None:
    """Redraw the latest announcement after a change that fired nothing (+10 min, pause,
    resume, a schedule edit): new end time, Pause ↔ Resume."""
    with services.uow(team_id) as uow:
        where = message_of(uow, workshop_id)
        if not where or where.get("phase") != run.phase:
            return
        workshop = get_workshop(uow, workshop_id)
        text, blocks = _controls_message(workshop, run, run.phase, live=True)
    try:
        client.chat_update(channel=where["channel"], ts=where["ts"], text=text, blocks=blocks)
    except SlackApiError as error:
        log.info("controls not refreshed: %s", error.response.get("error"))


def announce_phase(event: PhaseEvent) -> None:
    post_controls(event.services, event.client, event.team_id, event.workshop_id, event.run,
                  event.transition.phase)


def announce_kickoff(event: PhaseEvent) -> None:
    post_controls(event.services, event.client, event.team_id, event.workshop_id, event.run,
                  event.transition.phase, kickoff=True, groups=False)


# --- reminders and nudges ---------------------------------------------------------------------


def reminder(event: PhaseEvent) -> None:
    w = _load(event)
    deadline = event.transition.deadline or event.run.timetable.ends_at(event.transition.phase)
    now = event.services.clock()
    if deadline <= now:
        return  # late, and the phase has ended meanwhile: nothing left to remind
    minutes = max(1, math.ceil((deadline - now).total_seconds() / 60))
    text = t("schedule.reminder", w.language, phase=phase_label(event.transition.phase,
                                                                 w.language),
             minutes=minutes, end=slack_time(deadline, w.timezone))
    _everywhere(event.client, w, text)


def nudge(event: PhaseEvent) -> None:
    """A private DM to each participant (in a group) who created no post-it during the
    phase; nobody is named anywhere else."""
    phase = event.transition.phase
    since = event.run.timetable.starts_at(phase)
    with event.services.uow(event.team_id) as uow:
        workshop = get_workshop(uow, event.workshop_id)
        quiet = [(p.user_id, language_of(p.locale, workshop.language))
                 for p in silent_participants(uow, event.workshop_id, since)]
        name = workshop.name
    for user_id, lang in quiet:
        _post(event.client, user_id, t("schedule.nudge", lang, phase=phase_label(phase, lang),
                                       name=escape(name)))


# --- votes ------------------------------------------------------------------------------------


def open_votes(event: PhaseEvent) -> None:
    w = _load(event)
    text = t("schedule.votes_open", w.language, budget=w.vote_budget)
    blocks = message([section(text), ActionsBlock(elements=[ButtonElement(
        text=t("board.vote", w.language), action_id=Action.VOTE_OPEN.value, value=str(w.id),
        style="primary")])])
    _everywhere(event.client, w, text, blocks)


def results_text(services: Services, team_id: str, workshop_id: int, lang: str,
                 kinds=("pain", "opportunity")) -> str:
    with services.uow(team_id) as uow:
        results = vote_results(uow, workshop_id)
    parts = []
    for kind in kinds:
        ranked = results.get(kind) or []
        lines = [t(f"schedule.results.{kind}", lang)]
        lines += [t("schedule.results.line", lang, rank=n, text=escape(plain(r.text, 200)),
                    votes=r.votes, group=r.group_number or "–")
                  for n, r in enumerate(ranked, start=1)] or [t("schedule.results.none", lang)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def post_vote_results(event: PhaseEvent) -> None:
    w = _load(event)
    title = t("schedule.results.title", w.language)
    body = results_text(event.services, event.team_id, w.id, w.language)
    _post(event.client, w.channel_id, title, message([section(title), section(body)]))


# --- the facilitator's to-dos -----------------------------------------------------------------


def suggest_groups(event: PhaseEvent) -> None:
    w = _load(event)
    if w.groups_confirmed:
        return
    for user_id, lang in w.facilitators:
        _post(event.client, user_id, t("schedule.suggest_groups", lang, name=escape(w.name),
                                       channel=w.channel_id, count=w.participants))


def ask_owners(event: PhaseEvent) -> None:
    w = _load(event)
    for user_id, lang in w.facilitators:
        top = results_text(event.services, event.team_id, w.id, lang, kinds=("opportunity",))
        _post(event.client, user_id, t("schedule.ask_owners", lang, name=escape(w.name),
                                       top=top))


def remind_owners(event: PhaseEvent) -> None:
    w = _load(event)
    _post(event.client, w.channel_id, t("schedule.remind_owners", w.language,
                                        name=escape(w.name)))


def remind_review_map(event: PhaseEvent) -> None:
    w = _load(event)
    _post(event.client, w.channel_id, t("schedule.remind_review_map", w.language,
                                        name=escape(w.name)))
    for user_id, lang in w.facilitators:
        _post(event.client, user_id, t("schedule.remind_review_map", lang,
                                       name=escape(w.name)))


def close_workshop(event: PhaseEvent) -> None:
    """Silent: the controls leave the last announcement."""
    with event.services.uow(event.team_id) as uow:
        where = message_of(uow, event.workshop_id)
    if where:
        retire_controls(event.services, event.client, event.team_id, event.workshop_id, where)


BUILTIN: dict[str, Effect] = {
    "announce_phase": announce_phase,
    "announce_kickoff": announce_kickoff,
    "reminder": reminder,
    "nudge": nudge,
    "open_votes": open_votes,
    "post_vote_results": post_vote_results,
    "suggest_groups": suggest_groups,
    "ask_owners": ask_owners,
    "remind_owners": remind_owners,
    "remind_review_map": remind_review_map,
    "close_workshop": close_workshop,
}


def install(services: Services) -> None:
    """Register the built-in handlers (a handler registered before is kept)."""
    for hook, effect in BUILTIN.items():
        services.phase_effects.setdefault(hook, effect)


# --- telling the facilitator what a restart skipped ---------------------------------------------


def tell_skipped(services: Services, client: WebClient, team_id: str, workshop_id: int,
                 skipped: list[Transition]) -> None:
    """One DM per facilitator listing the transitions that came too late to be run."""
    if not skipped:
        return
    with services.uow(team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        people = [(p.user_id, language_of(p.locale, workshop.language))
                  for p in facilitators(uow, workshop_id)]
        name, tz = workshop.name, workshop.timezone
    for user_id, lang in people:
        items = "\n".join(t("schedule.skipped.item", lang,
                            what=t(f"schedule.moment.{s.moment}", lang),
                            phase=phase_label(s.phase, lang),
                            at=slack_time(s.at, tz, with_date=True)) for s in skipped)
        _post(client, user_id, t("schedule.skipped", lang, name=escape(name), items=items))
