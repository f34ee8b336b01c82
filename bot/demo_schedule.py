"""The demo's schedule chapter: the facilitator starts the day and drives it with the
buttons, time passes (a reminder, private nudges), and a participant's click on a
facilitator button is refused.

`play_schedule(slack, story)` is called by `bot/demo.py` after the board chapter. It finds
the workshop from the agenda the bot sent its facilitator at creation, so it needs nothing
from `bot/demo.py`. Time is driven explicitly: `services.clock` moves forward (never back)
and `services.schedule.tick()` lets the workshop catch up, as the scheduler would. It ends
in the day-1 wrap-up (posting and map publishing allowed, voting closed), with the clock
about two hours ahead of the real time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.i18n import language_of
from bot.offline import OfflineSlack
from bot.schedule_blocks import read_control
from bot.transcript import unslack
from storage.models import Role
from workflows.schedule import run_of
from workflows.workshops import get_workshop

NEXT = "schedule.next"


class DemoClock:
    """The real time plus an offset that only grows: the demo's way to let time pass."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def jump_to(self, moment: datetime) -> None:
        self.offset = max(self.offset, moment - datetime.now(timezone.utc))


def play_schedule(slack: OfflineSlack, story) -> None:
    sb, d, services = slack.sandbox, slack.driver, slack.services
    clock = services.clock if isinstance(services.clock, DemoClock) else DemoClock()
    services.clock = clock
    agenda = _agenda(slack)
    workshop_id, _phase = read_control(button(agenda, NEXT)["value"])
    with services.uow(slack.team_id) as uow:
        workshop = get_workshop(uow, workshop_id)
        facilitator, channel = workshop.created_by, workshop.channel_id
        groups = {g.channel_id: [m.user_id for m in g.members]
                  for g in uow.groups.groups(workshop_id) if g.channel_id}
        participants = [p.user_id for p in workshop.people if p.role == Role.PARTICIPANT.value]

    def announcement() -> dict:
        message = next(m for m in reversed(sb.messages(channel)) if button(m, NEXT))
        return {**message, "channel": channel}

    def run():
        with services.uow(slack.team_id) as uow:
            return run_of(uow, workshop_id)

    story.chapter("7. Schedule: the day runs itself, the facilitator keeps the hand",
                  "The bot announces each phase in the workshop channel with what to do and "
                  "until when (in each reader's time zone). The buttons are for facilitators; "
                  "reminders and nudges come by themselves as time passes.")
    story.step(facilitator, "clicks **Démarrer maintenant** (Start now) in the agenda the bot "
               "sent when the workshop was created: day 1 starts now, its agenda kept")
    d.click(facilitator, NEXT, message=agenda)
    story.outcome()

    outsider = next((u for u in participants
                     if language_of(sb.users.get(u, {}).get("locale"), "fr") == "en"),
                    participants[0])
    story.step(outsider, "(a participant) clicks **Next** on the announcement")
    d.click(outsider, NEXT, message=announcement())
    story.note("Refused, privately and in their own language; nothing changes for anyone else.")
    story.outcome()

    story.step(facilitator, "clicks **Suivant** (Next): group formation (the groups are "
               "already confirmed, so no reminder to form them)")
    d.click(facilitator, NEXT, message=announcement())
    story.outcome()
    story.step(facilitator, "clicks **Suivant** again: the journey stages, announced in the "
               "workshop channel and every group channel")
    d.click(facilitator, NEXT, message=announcement())
    story.outcome(brief=True)

    writers = [members[0] for members in groups.values()][:2]
    for user in writers:
        group_channel = next(c for c, members in groups.items() if user in members)
        d.command(user, "add step awareness: sees a friend's post", channel_id=group_channel)
    story.step(f"{len(writers)} participants", "add a step each during the phase")
    story.outcome(brief=True)

    story.step(facilitator, "clicks **+10 min**: the announcement shows the new end time")
    d.click(facilitator, "schedule.extend", message=announcement())
    story.outcome()

    end = run().timetable.ends_at("stages")
    story.note("Time passes… 10 minutes before the end of the phase:")
    clock.jump_to(end - timedelta(minutes=10))
    services.schedule.tick()
    story.outcome()
    story.note("…and at the end of the phase: everyone in a group who posted nothing during "
               "it gets a private nudge (no public mention).")
    clock.jump_to(end)
    services.schedule.tick()
    quiet = [u for members in groups.values() for u in members if u not in writers]
    story.outcome(brief=True)
    example = next((m["text"] for m in reversed(sb.dms(quiet[0]))), "") if quiet else ""
    story.note(f"{len(quiet)} private nudges, none to the {len(writers)} who posted. "
               f"{story.names.get(quiet[0], '') if quiet else ''} got: "
               f"“{unslack(example, story.names)}”")

    for label in ("stage details", "share-out and dot voting (the vote opens)",
                  "day-1 wrap-up (the vote results are posted)"):
        story.step(facilitator, f"clicks **Suivant**: {label}")
        d.click(facilitator, NEXT, message=announcement())
        story.outcome(brief=label.startswith("stage"))


def _agenda(slack: OfflineSlack) -> dict:
    """The agenda DM (with its Start now button) the bot sent the facilitator."""
    for channel_id, channel in slack.sandbox.channels.items():
        if not channel.get("is_im"):
            continue
        for message in slack.sandbox.messages(channel_id):
            if button(message, NEXT):
                return {**message, "channel": channel_id}
    raise LookupError("no agenda with a Start now button: was the workshop created?")


def button(message: dict, action_id: str) -> dict | None:
    """The element of `message` with this action_id, if any."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return element
    return None
