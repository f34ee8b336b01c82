"""End-to-end: the app behind its real HTTP endpoint, driven by signed requests, talking to
the sandbox Web API over HTTP. Nothing leaves 127.0.0.1."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.offline import OfflineSlack

FACILITATOR = "UFAC"
DEPARTMENTS = ["marketing", "cx", "sales", "finance", "legal", "after_sales"]


@pytest.fixture
def slack(tmp_path):
    with OfflineSlack(f"sqlite:///{tmp_path / 'e2e.db'}") as offline:
        offline.sandbox.add_user(FACILITATOR, "camille", real_name="Camille Durand",
                                 locale="en-US", tz="Europe/Paris")
        offline.channel = offline.sandbox.add_channel("workshop", members=[FACILITATOR])
        yield offline


def add_people(slack: OfflineSlack, count: int, departments: list[str], *, prefix="UP",
               locale="en-US") -> list[tuple[str, str]]:
    people = [(f"{prefix}{n:03d}", departments[n % len(departments)]) for n in range(count)]
    for user_id, _ in people:
        slack.sandbox.add_user(user_id, user_id.lower(), real_name=f"Person {user_id}",
                               locale=locale)
    return people


def workshop_form(slack: OfflineSlack, **overrides) -> dict:
    day1 = date.today() + timedelta(days=10)
    form = {"name": "Spring journey", "channel": slack.channel, "timezone": "Europe/Paris",
            "day1_date": day1.isoformat(), "day2_date": (day1 + timedelta(days=1)).isoformat(),
            "objectives": "Raise satisfaction | CSAT",
            "customer_types": "Students\nFamilies",
            "channel_focuses": ["online", "offline", "cross_channel", "omnichannel"]}
    form.update(overrides)
    return form


def create_workshop(slack: OfflineSlack, **overrides) -> dict:
    """/journey new → modal → submit; returns the kick-off message."""
    slack.driver.command(FACILITATOR, "new", channel_id=slack.channel)
    slack.settle()
    reply = slack.driver.submit_view(FACILITATOR, workshop_form(slack, **overrides))
    assert reply.status == 200 and not reply.errors, reply.body
    slack.settle()
    return kickoff(slack)


def kickoff(slack: OfflineSlack) -> dict:
    message = next(m for m in slack.sandbox.messages(slack.channel) if m.get("blocks"))
    return {**message, "channel": slack.channel}


def join(slack: OfflineSlack, user_id: str, department: str) -> None:
    slack.driver.click(user_id, "workshop.join", message=kickoff(slack))
    slack.settle()
    reply = slack.driver.submit_view(user_id, {"department": department})
    assert reply.status == 200 and not reply.errors, reply.body
    slack.settle()


def confirmed_groups(slack: OfflineSlack, *, people: int = 8) -> dict[str, str]:
    """A workshop whose `people` participants (4 departments) joined and were put in
    confirmed groups by the facilitator; returns {participant: their group channel}.
    (The workshop must exist: `create_workshop` first.)"""
    for user_id, department in add_people(slack, people, DEPARTMENTS[:4]):
        join(slack, user_id, department)
    slack.driver.command(FACILITATOR, "groups", channel_id=slack.channel)
    slack.settle()
    slack.driver.submit_view(FACILITATOR, {})
    slack.settle()
    channels = [c for c in slack.sandbox.channels.values()
                if c.get("is_private") and not c.get("is_im")]
    return {m: c["id"] for c in channels for m in c["members"] if m.startswith("UP")}


def visible_text(message: dict) -> str:
    parts = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        for element in block.get("elements") or []:
            if isinstance(element, dict) and isinstance(element.get("text"), (str, dict)):
                text = element["text"]
                parts.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(parts)
