"""Issue 7 through the HTTP endpoint: maps posted to group and workshop channels with
files upload v2, the leadership summary, exports; refusals."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest

from tests.e2e.conftest import (
    DEPARTMENTS,
    FACILITATOR,
    add_people,
    create_workshop,
    join,
    visible_text,
)


def add_post_it(slack, user: str, channel: str, kind: str, text: str, *,
                stage: str = "Purchase", score: int | None = None) -> None:
    """Through the add modal (`/journey add` with no text), as a participant would."""
    slack.driver.command(user, "add", channel_id=channel)
    slack.settle()
    view = slack.sandbox.top_view(user)
    stage_id = next(o["value"] for b in view["blocks"] if b.get("block_id") == "stage"
                    for o in b["element"]["options"] if o["text"]["text"] == stage)
    values = {"kind": kind, "stage": stage_id, "text": text}
    if score is not None:
        values["score"] = str(score)
    reply = slack.driver.submit_view(user, values)
    assert reply.status == 200 and not reply.errors, reply.body


def prepare(slack, *, opportunities: bool = False, **form) -> dict[str, str]:
    """8 participants in two groups, a few post-its on each board and a leader.
    Returns participant → their group channel."""
    create_workshop(slack, **form)
    for user_id, department in add_people(slack, 8, DEPARTMENTS[:4]):
        join(slack, user_id, department)
    slack.sandbox.add_user("ULEAD", "boss", real_name="Hélène Boss")
    slack.driver.command(FACILITATOR, "people", channel_id=slack.channel)
    slack.settle()
    slack.driver.submit_view(FACILITATOR, {"users": ["ULEAD"], "role": "leadership"})
    slack.driver.command(FACILITATOR, "groups", channel_id=slack.channel)
    slack.settle()
    slack.driver.submit_view(FACILITATOR, {})
    slack.settle()
    channels = {m: c["id"] for c in slack.sandbox.channels.values()
                if c.get("is_private") and not c.get("is_im") for m in c["members"]
                if m.startswith("UP")}
    for n, (user, channel) in enumerate(channels.items()):
        add_post_it(slack, user, channel, "step", f"pays {n} 😀")
        add_post_it(slack, user, channel, "pain", f"fees are high {n}")
        add_post_it(slack, user, channel, "emotion", "worried", score=-(n % 3))
    if opportunities:
        for n, channel in enumerate(dict.fromkeys(channels.values())):
            user = next(u for u, c in channels.items() if c == channel)
            add_post_it(slack, user, channel, "opportunity", f"one-click payment {n}")
    slack.settle()
    return channels


@pytest.fixture
def workshop(slack):
    return prepare(slack)


def uploads(slack) -> list:
    return [c for c in slack.sandbox.calls if c.method == "files.completeUploadExternal"]


def test_publishing_posts_every_map_to_its_group_and_the_workshop_channel(slack, workshop):
    slack.driver.command(FACILITATOR, "publish", channel_id=slack.channel)
    slack.settle(60)
    group_channels = set(workshop.values())
    posted = uploads(slack)
    assert len(posted) == len(group_channels)
    for call in posted:
        assert call.ok
        shared = set(str(call.args.get("channels", "")).split(","))
        assert slack.channel in shared and len(shared & group_channels) == 1
    images = [f for f in slack.sandbox.files.values() if f.get("name", "").endswith(".png")]
    assert len(images) == len(group_channels)
    for image in images:
        assert image["content"].startswith(b"\x89PNG") and len(image["content"]) > 10_000
        assert "stages" in image["alt_txt"]  # alt text describes the map
    progress = slack.sandbox.dms(FACILITATOR)
    assert any("2/2" in m["text"] for m in progress)


def test_a_failed_upload_is_retried_then_reported_with_a_retry_button(slack, workshop):
    slack.sandbox.fail_next("files.completeUploadExternal", "internal_error", times=3)
    slack.driver.command(FACILITATOR, "publish", channel_id=slack.channel)
    slack.settle(60)
    report = slack.sandbox.dms(FACILITATOR)[-1]
    assert "internal_error" in visible_text(report) and "Retry" in json.dumps(report["blocks"])
    succeeded = [c for c in uploads(slack) if c.ok]
    assert len(succeeded) == 1  # the other group's map went through
    slack.driver.click(FACILITATOR, "maps.retry", message={**report})
    slack.settle(60)
    assert len([c for c in uploads(slack) if c.ok]) == 2  # only the missing map was posted


def test_summary_goes_to_leadership_with_chart(slack, workshop):
    slack.driver.command(FACILITATOR, "summary", channel_id=slack.channel)
    slack.settle(60)
    dm = slack.sandbox.dms("ULEAD")
    text = "\n".join(visible_text(m) for m in dm)
    assert "Leadership summary" in text and "Participation" in text
    assert "fees are high" in text and "Raise satisfaction" in text
    assert any(f["name"] == "participation.png" for f in slack.sandbox.files.values())


def test_export_gives_csv_json_and_pdfs_to_facilitators_only(slack, workshop):
    user = next(iter(workshop))
    slack.driver.command(user, "export", channel_id=slack.channel)
    slack.settle(60)
    assert "Only a facilitator" in visible_text(slack.sandbox.ephemerals(user_id=user)[-1])
    slack.driver.command(FACILITATOR, "export", channel_id=slack.channel)
    slack.settle(60)
    files = {f["name"]: f["content"] for f in slack.sandbox.files.values()}
    rows = list(csv.DictReader(io.StringIO(files["post-its.csv"].decode())))
    assert len(rows) == 24 and {r["lane"] for r in rows} == {"step", "pain", "emotion"}
    assert json.loads(files["post-its.json"])["post_its"][0]["workshop"] == "Spring journey"
    assert all(files[f"journey-map-group-{n}.pdf"].startswith(b"%PDF") for n in (1, 2))


def test_map_command_posts_the_group_map_in_the_group_channel(slack, workshop):
    user, channel = next(iter(workshop.items()))
    slack.driver.command(user, "map", channel_id=channel)
    slack.settle(60)
    assert any(channel in str(c.args.get("channel_id", "")) for c in uploads(slack))


def test_end_of_day_1_posts_every_map_and_the_leadership_summary(slack):
    """The schedule's wrap-up: time passes the end of day 1 (no button pressed). The maps go
    to their group channels and the workshop channel, the digest to the leadership channel
    chosen at set-up."""
    from storage.models import WorkshopSchedule
    from workflows.phases import Run

    leaders = slack.sandbox.add_channel("direction", members=[FACILITATOR])
    workshop = prepare(slack, leadership_channel=leaders)
    slack.services.schedule.tick()  # creates the run from the workshop's two days
    with slack.services.db.sessions() as session:
        run = Run.from_dict(session.query(WorkshopSchedule).one().run)
    end_of_day1 = run.timetable.ends_at("day1_wrapup") + timedelta(minutes=1)
    slack.services.clock = lambda: end_of_day1
    slack.services.schedule.tick()
    slack.settle(120)
    group_channels = set(workshop.values())
    posted = [c for c in uploads(slack) if c.ok and c.args.get("channels")]  # the maps
    shared = [set(str(c.args.get("channels", "")).split(",")) for c in posted]
    assert {ch for s in shared for ch in s & group_channels} == group_channels
    assert all(slack.channel in s for s in shared if s & group_channels)
    (digest,) = summary_messages(slack, leaders)
    assert "fees are high" in visible_text(digest)
    assert any(c.args.get("channel_id") == leaders for c in uploads(slack))  # the chart


# --- the leadership channel ------------------------------------------------------------------


def summary_messages(slack, channel: str) -> list[dict]:
    return [m for m in slack.sandbox.messages(channel)
            if "Leadership summary" in (m.get("text") or "")]


def test_summary_goes_to_the_leadership_channel_chosen_at_set_up(slack):
    leaders = slack.sandbox.add_channel("direction", members=[FACILITATOR])  # bot not in it
    prepare(slack, leadership_channel=leaders, opportunities=True)
    slack.sandbox.strict_membership = True  # the bot must join before it posts
    slack.driver.command(FACILITATOR, "summary", channel_id=slack.channel)
    slack.settle(60)
    joined = [c for c in slack.sandbox.calls if c.method == "conversations.join"
              and c.args.get("channel") == leaders]
    assert joined and joined[-1].ok
    (posted,) = summary_messages(slack, leaders)
    text = visible_text(posted)
    assert "fees are high" in text and "Raise satisfaction" in text
    assert "Customer validation" in text and "Lowest emotional moments" in text
    chart = next(c for c in slack.sandbox.calls if c.method == "files.completeUploadExternal"
                 and c.args.get("channel_id") == leaders)
    assert chart.ok
    assert not any("Leadership summary" in (m.get("text") or "")
                   for m in slack.sandbox.dms("ULEAD"))  # the channel, not DMs
    assert f"<#{leaders}>" in slack.sandbox.dms(FACILITATOR)[-1]["text"]


def test_a_private_leadership_channel_without_the_bot_falls_back_to_dms_and_says_why(slack):
    secret = slack.sandbox.add_channel("board-room", members=[FACILITATOR], is_private=True)
    prepare(slack, leadership_channel=secret)
    slack.sandbox.strict_membership = True
    slack.driver.command(FACILITATOR, "summary", channel_id=slack.channel)
    slack.settle(60)
    assert not summary_messages(slack, secret)
    told = "\n".join(m["text"] for m in slack.sandbox.dms(FACILITATOR))
    assert "channel_not_found" in told and "/invite" in told
    assert any("Leadership summary" in (m.get("text") or "")
               for m in slack.sandbox.dms("ULEAD"))


def test_facilitators_change_the_leadership_channel_later(slack, workshop):
    leaders = slack.sandbox.add_channel("exec", members=[FACILITATOR])
    user = next(iter(workshop))
    slack.driver.command(user, "leadership", channel_id=slack.channel)
    slack.settle()
    assert slack.sandbox.top_view(user) is None
    assert "facilitator" in visible_text(slack.sandbox.ephemerals(user_id=user)[-1])
    slack.driver.command(FACILITATOR, "leadership", channel_id=slack.channel)
    slack.settle()
    reply = slack.driver.submit_view(FACILITATOR, {"leadership_channel": leaders})
    assert reply.status == 200 and not reply.errors
    slack.settle()
    assert f"<#{leaders}>" in slack.sandbox.dms(FACILITATOR)[-1]["text"]
    slack.driver.command(FACILITATOR, "summary", channel_id=slack.channel)
    slack.settle(60)
    assert summary_messages(slack, leaders)


# --- owners ----------------------------------------------------------------------------------


def test_owners_assigned_in_the_modal_appear_in_the_summary(slack):
    channels = prepare(slack, opportunities=True)
    slack.sandbox.add_user("UOWN", "owner", real_name="Olga Owner")
    slack.driver.command("ULEAD", "owners", channel_id=slack.channel)
    slack.settle()
    assert slack.sandbox.top_view("ULEAD") is None  # leadership only reads
    member, channel = next(iter(channels.items()))
    slack.driver.command(member, "owners", channel_id=channel)
    slack.settle()
    mine = slack.sandbox.top_view(member)
    assert len([b for b in mine["blocks"] if b.get("block_id", "").startswith("user_")]) == 1
    slack.sandbox.close_views(member)
    slack.driver.command(FACILITATOR, "owners", channel_id=slack.channel)
    slack.settle()
    view = slack.sandbox.top_view(FACILITATOR)
    ids = [b["block_id"].removeprefix("user_") for b in view["blocks"]
           if b.get("block_id", "").startswith("user_")]
    assert len(ids) == 2
    too_long = slack.driver.submit_view(FACILITATOR, {f"owner_{ids[1]}": "x" * 121})
    assert f"owner_{ids[1]}" in too_long.errors
    reply = slack.driver.submit_view(FACILITATOR, {f"user_{ids[0]}": "UOWN",
                                                   f"owner_{ids[1]}": "Finance team"})
    assert reply.status == 200 and not reply.errors
    slack.settle()
    assert "made you the owner" in slack.sandbox.dms("UOWN")[-1]["text"]
    slack.driver.command(FACILITATOR, "summary", channel_id=slack.channel)
    slack.settle(60)
    text = "\n".join(visible_text(m) for m in slack.sandbox.dms("ULEAD"))
    assert "owner: <@UOWN>" in text and "owner: Finance team" in text
    assert "2 of 2 opportunities have an owner" in text
    # The follow-up's owner reminder: the workshop channel, and a DM to each Slack owner.
    event = SimpleNamespace(services=slack.services, client=slack.app.client,
                            team_id=slack.team_id, workshop_id=1)
    slack.services.phase_effects["remind_owners"](event)
    reminder = slack.sandbox.dms("UOWN")[-1]["text"]
    assert "you own these opportunities" in reminder and "one-click payment" in reminder


# --- end of day 2 ----------------------------------------------------------------------------


def test_end_of_day_2_posts_validated_maps_comparisons_and_the_summary(slack):
    """Time passes the end of the final maps: every group's validated map, what customers
    changed per group, the customer type side by side across channel focuses, the emotion
    overlay; the final summary in the leadership channel; owners asked for."""
    from storage.models import WorkshopSchedule
    from workflows.phases import Run

    leaders = slack.sandbox.add_channel("direction", members=[FACILITATOR])
    channels = prepare(slack, customer_types="Students", leadership_channel=leaders,
                       opportunities=True)
    group_channels = set(channels.values())
    slack.services.schedule.tick()
    with slack.services.db.sessions() as session:
        run = Run.from_dict(session.query(WorkshopSchedule).one().run)
    slack.services.clock = lambda: run.timetable.ends_at("final_maps") + timedelta(minutes=1)
    slack.services.schedule.tick()
    slack.settle(240)
    files = {f["name"]: f for f in slack.sandbox.files.values()}
    for n in (1, 2):
        validated = files[f"journey-map-group-{n}-validated.png"]
        assert validated["content"].startswith(b"\x89PNG") and validated["alt_txt"]
        assert slack.channel in validated["groups"] + validated["channels"]
        assert set(validated["groups"]) & group_channels
        comparison = files[f"comparison-group-{n}.png"]
        assert comparison["content"].startswith(b"\x89PNG")
        assert "customers changed" in comparison["alt_txt"]
    side = files["side-by-side-groups-1-2.png"]
    assert "Students" in side["alt_txt"] and set(side["groups"]) == group_channels
    overlay = files["emotion-overlay.png"]
    assert "emotion curves of 2 groups" in overlay["alt_txt"].lower()
    assert all(c.ok for c in uploads(slack))
    progress = "\n".join(m["text"] for m in slack.sandbox.dms(FACILITATOR))
    assert "Comparison views: 4/4" in progress
    assert len(summary_messages(slack, leaders)) == 2  # day-1 digest, final summary
    asked = [m for m in slack.sandbox.dms(FACILITATOR) if "owners.open" in str(m.get("blocks"))]
    assert asked and "Give each opportunity an owner" in asked[-1]["text"]


def test_a_failed_upload_of_the_validated_publication_is_retried_alone(slack):
    channels = prepare(slack, customer_types="Students")
    slack.driver.command(FACILITATOR, "publish validated", channel_id=slack.channel)
    slack.settle(120)
    first = len([c for c in uploads(slack) if c.ok])
    assert first == 2 + 4  # two maps, two comparisons, side by side, overlay
    slack.sandbox.fail_next("files.completeUploadExternal", "internal_error", times=3)
    slack.driver.command(FACILITATOR, "publish validated", channel_id=slack.channel)
    slack.settle(120)
    report = slack.sandbox.dms(FACILITATOR)[-1]
    assert "Retry" in json.dumps(report["blocks"])
    slack.driver.click(FACILITATOR, "maps.retry", message={**report})
    slack.settle(120)
    assert len([c for c in uploads(slack) if c.ok]) == 2 * first
    assert len(set(channels.values())) == 2
