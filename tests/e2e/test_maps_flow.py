"""Issue 7 through the HTTP endpoint: maps posted to group and workshop channels with
files upload v2, the leadership summary, exports; refusals."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from tests.e2e.conftest import (
    DEPARTMENTS,
    FACILITATOR,
    add_people,
    create_workshop,
    join,
    visible_text,
)


@pytest.fixture
def workshop(slack):
    """8 participants in two groups, a few post-its and a leader."""
    create_workshop(slack)
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
        for line in (f"step purchase: pays {n} 😀", f"pain purchase: fees are high {n}",
                     f"emotion purchase -{n % 3}: worried"):
            slack.driver.command(user, f"add {line}", channel_id=channel)
    slack.settle()
    return channels


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


def test_end_of_day_1_posts_every_map_and_the_leadership_summary(slack, workshop):
    """The schedule's wrap-up: time passes the end of day 1 (no button pressed)."""
    from storage.models import WorkshopSchedule
    from workflows.phases import Run

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
    dm = "\n".join(visible_text(m) for m in slack.sandbox.dms("ULEAD"))
    assert "Leadership summary" in dm
