"""The demo's last chapter: the end of day 2. The final maps are published with the
comparison views (what customers changed, one customer type across channel focuses, the
emotion curves of every group), the final summary goes to the leadership channel, the
facilitator and a group give the opportunities owners, and the export follows.

`play_final_maps(slack, story)` is called last by `bot/demo.py` (after the customers'
validation and the consolidation, when the demo plays them): it moves the schedule on with
the facilitator's **Next** button from wherever it stands to the end of the final maps.
"""

from __future__ import annotations

from bot.demo_schedule import NEXT, button
from bot.offline import OfflineSlack
from bot.schedule_blocks import phase_label
from storage.models import Role
from workflows.schedule import run_of

BEFORE_FINAL = ("day1_wrapup", "validation", "consolidation")


def play_final_maps(slack: OfflineSlack, story) -> None:
    sb, d, services = slack.sandbox, slack.driver, slack.services
    workshop_id, facilitator, channel, groups = _workshop(slack)

    def phase() -> str:
        with services.uow(slack.team_id) as uow:
            return run_of(uow, workshop_id).phase

    def announcement() -> dict | None:
        for message in reversed(sb.messages(channel)):
            if button(message, NEXT):
                return {**message, "channel": channel}
        return None

    story.chapter("10. End of day 2: final maps, comparisons, owners",
                  "When the final-maps phase ends, every group's validated map is posted with "
                  "what customers changed, each customer type seen across its channel focuses "
                  "and the emotion curves of all groups; the final summary goes to the "
                  "leadership channel, and the follow-up asks for an owner per opportunity.")
    while phase() in BEFORE_FINAL and announcement() is not None:
        current = phase()
        story.step(facilitator, "clicks **Suivant** (Next) at the end of "
                   f"“{phase_label(current, 'fr')}”")
        d.click(facilitator, NEXT, message=announcement())
        story.outcome(brief=True)
        if phase() == current:
            break  # refused: nothing more to do with the button
    if phase() == "final_maps" and announcement() is not None:
        story.step(facilitator, "clicks **Suivant** at the end of the final maps: the "
                   "validated maps and the comparison views are drawn and posted, the final "
                   "summary goes to the leadership channel, the follow-up starts")
        d.click(facilitator, NEXT, message=announcement())
        story.outcome()
    else:  # the schedule is elsewhere: publish by hand
        story.step(facilitator, "runs `/journey publish validated` and `/journey summary`")
        d.command(facilitator, "publish validated", channel_id=channel)
        d.command(facilitator, "summary", channel_id=channel)
        story.outcome()

    asked = next((m for m in reversed(sb.dms(facilitator)) if button(m, "owners.open")), None)
    story.step(facilitator, "clicks **Désigner les responsables** (assign owners) and gives "
               "the three most voted opportunities an owner: two colleagues and a team "
               "outside Slack")
    if asked is not None:
        d.click(facilitator, "owners.open", message=asked)
    else:
        d.command(facilitator, "owners", channel_id=channel)
    slack.settle()
    view = sb.top_view(facilitator)
    ids = [b["block_id"].removeprefix("user_") for b in (view or {}).get("blocks", [])
           if str(b.get("block_id", "")).startswith("user_")]
    members = [u for people in groups.values() for u in people]
    picks = {}
    for n, post_it in enumerate(ids[:3]):
        if n < 2 and n < len(members):
            picks[f"user_{post_it}"] = members[n * 5 % len(members)]
        else:
            picks[f"owner_{post_it}"] = "Équipe produit"
    if view is not None:
        d.submit_view(facilitator, picks)
    story.outcome()

    if groups:
        group_channel, people = next(iter(groups.items()))
        story.step(people[0], "(a group member) runs `/journey owners` in the group channel: "
                   "only their group's opportunities, and names themself for one of them")
        d.command(people[0], "owners", channel_id=group_channel)
        slack.settle()
        mine = sb.top_view(people[0])
        free = [b["block_id"] for b in (mine or {}).get("blocks", [])
                if str(b.get("block_id", "")).startswith("user_")
                and not b.get("element", {}).get("initial_user")]
        if mine is not None and free:
            d.submit_view(people[0], {free[0]: people[0]})
        elif mine is not None:
            sb.close_views(people[0])
        story.outcome()

    story.step(facilitator, "runs `/journey summary`: the leadership channel gets the final "
               "summary, with owners and what customers validated")
    d.command(facilitator, "summary", channel_id=channel)
    story.outcome()
    story.step(facilitator, "runs `/journey export`: CSV and JSON (with validation status, "
               "origin and owner) and the PDF of every hypothetical and validated map")
    d.command(facilitator, "export", channel_id=channel)
    story.outcome()


def _workshop(slack: OfflineSlack) -> tuple[int, str, str, dict[str, list[str]]]:
    """The demo's workshop: id, facilitator, workshop channel, group channel → members."""
    with slack.services.uow(slack.team_id) as uow:
        for workshop_id in uow.schedule.running() or []:
            workshop = uow.workshops.get(workshop_id)
            if workshop is not None:
                break
        else:
            raise LookupError("no running workshop")
        groups = {g.channel_id: [m.user_id for m in g.members
                                 if m.role == Role.PARTICIPANT.value]
                  for g in uow.groups.groups(workshop.id) if g.channel_id}
        return workshop.id, workshop.created_by, workshop.channel_id, groups

