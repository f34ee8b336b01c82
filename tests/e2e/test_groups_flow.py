"""Issue 3 through the HTTP endpoint: preview → confirm → private channels; refusals;
late joiners; channel-creation failures and retry."""

from __future__ import annotations

from collections import Counter

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
def roster(slack):
    create_workshop(slack)
    people = add_people(slack, 24, DEPARTMENTS)
    for user_id, department in people:
        join(slack, user_id, department)
    return dict(people)


def open_preview(slack) -> dict:
    slack.driver.command(FACILITATOR, "groups", channel_id=slack.channel)
    slack.settle()
    return slack.sandbox.top_view(FACILITATOR)


def group_channels(slack) -> list[dict]:
    return [c for c in slack.sandbox.channels.values()
            if c.get("is_private") and not c.get("is_im")]


def test_24_people_preview_confirm_and_private_channels(slack, roster):
    preview = open_preview(slack)
    summary = visible_text({"blocks": preview["blocks"]})
    assert "24 participants" in summary and "4 groups" in summary
    assert "*24* (best possible: 24)" in summary and "optimal" in summary
    assert preview["submit"]["text"] == "Confirm groups"

    reply = slack.driver.submit_view(FACILITATOR, {})
    assert reply.status == 200 and not reply.errors
    slack.settle()

    channels = group_channels(slack)
    assert 4 <= len(channels) <= 6
    placed = Counter()
    for channel in channels:
        members = set(channel["members"]) - {FACILITATOR, slack.sandbox.bot_user_id}
        assert 4 <= len(members) <= 6
        departments = [roster[m] for m in members]
        assert len(set(departments)) == len(departments)  # 6 departments, groups of 6
        placed.update(members)
        welcome, board = slack.sandbox.messages(channel["id"])
        assert "Journey board" in visible_text(board)
        text = visible_text(welcome)
        assert "Welcome to *group" in text
        assert all(f"<@{m}>" in text for m in members)
        assert FACILITATOR in channel["members"]
    assert set(placed) == set(roster) and set(placed.values()) == {1}
    announcement = visible_text(slack.sandbox.messages(slack.channel)[-1])
    assert "groups of Spring journey are formed" in announcement
    assert all(f"<#{c['id']}>" in announcement for c in channels)

    # Confirming again (a double click, a retry) creates nothing more.
    before = len(slack.sandbox.calls_to("conversations.create"))
    open_preview(slack)
    assert "confirmed" in visible_text({"blocks": slack.sandbox.top_view(FACILITATOR)["blocks"]})
    slack.driver.click(FACILITATOR, "groups.retry", value="1",
                       message={"channel": slack.channel, "ts": "1", "blocks": [
                           {"type": "actions", "elements": [
                               {"type": "button", "action_id": "groups.retry", "value": "1",
                                "text": {"type": "plain_text", "text": "Retry"}}]}]})
    slack.settle()
    assert len(slack.sandbox.calls_to("conversations.create")) == before
    assert len(group_channels(slack)) == len(channels)


def test_a_participant_cannot_form_groups(slack, roster):
    user = next(iter(roster))
    slack.driver.command(user, "groups", channel_id=slack.channel)
    slack.settle()
    assert "Only a facilitator" in visible_text(slack.sandbox.ephemerals(user_id=user)[-1])
    assert slack.sandbox.view_stack(user) == []
    assert group_channels(slack) == []


def test_reshuffle_gives_another_optimal_plan(slack, roster):
    first = visible_text({"blocks": open_preview(slack)["blocks"]})
    slack.driver.click(FACILITATOR, "groups.reshuffle")
    slack.settle()
    second = visible_text({"blocks": slack.sandbox.top_view(FACILITATOR)["blocks"]})
    assert "(best possible: 24)" in second and "optimal" in second
    assert first != second


def test_edit_moves_a_person_and_rescores(slack, roster):
    open_preview(slack)
    slack.driver.click(FACILITATOR, "groups.edit")
    slack.settle()
    assert len(slack.sandbox.view_stack(FACILITATOR)) == 2
    user = next(iter(roster))
    reply = slack.driver.submit_view(FACILITATOR, {"person": user, "group": "2"})
    assert not reply.errors
    slack.settle()
    stack = slack.sandbox.view_stack(FACILITATOR)
    assert len(stack) == 1
    text = visible_text({"blocks": stack[0]["blocks"]})
    assert "best possible" in text
    # Both a group and a swap partner: refused inline.
    slack.driver.click(FACILITATOR, "groups.edit")
    slack.settle()
    reply = slack.driver.submit_view(FACILITATOR, {"person": user, "group": "1",
                                                   "other": list(roster)[1]})
    assert "group" in reply.errors


def test_late_joiner_is_placed_announced_and_the_facilitator_told(slack, roster):
    open_preview(slack)
    slack.driver.submit_view(FACILITATOR, {})
    slack.settle()
    add_people(slack, 1, ["x"], prefix="ULATE")
    join(slack, "ULATE000", "product")
    channel = next(c for c in group_channels(slack) if "ULATE000" in c["members"])
    assert any("ULATE000" in visible_text(m) for m in slack.sandbox.messages(channel["id"]))
    assert any("Late joiner" in m["text"] for m in slack.sandbox.dms(FACILITATOR))
    assert "you're in *group" in slack.sandbox.dms("ULATE000")[-1]["text"]


def test_too_few_people_get_options_not_a_crash(slack):
    create_workshop(slack)
    for user_id, department in add_people(slack, 7, DEPARTMENTS):
        join(slack, user_id, department)
    text = visible_text({"blocks": open_preview(slack)["blocks"]})
    assert "7 people can't be split into groups of 4 to 6" in text
    assert "Wait for 1 more" in text
    view = slack.sandbox.top_view(FACILITATOR)
    buttons = [e for b in view["blocks"] for e in b.get("elements", [])
               if e.get("type") == "button"]
    stretch = next(b for b in buttons if "larger" in b["text"]["text"])
    slack.driver.click(FACILITATOR, stretch["action_id"], value=stretch["value"])
    slack.settle()
    text = visible_text({"blocks": slack.sandbox.top_view(FACILITATOR)["blocks"]})
    assert "7 participants" in text and "1 groups" in text


def test_a_taken_channel_name_gets_another_name(slack, roster):
    open_preview(slack)
    slack.sandbox.fail_next("conversations.create", "name_taken")
    slack.driver.submit_view(FACILITATOR, {})
    slack.settle()
    channels = group_channels(slack)
    assert len(channels) == 4
    assert len({c["name"] for c in channels}) == 4


def test_missing_scope_then_retry(slack, roster):
    open_preview(slack)
    original = slack.sandbox.calls_to("conversations.create")
    assert original == []
    # First group succeeds, second fails with missing_scope.
    slack.sandbox.fail_next("conversations.invite", "missing_scope", times=1)
    slack.driver.submit_view(FACILITATOR, {})
    slack.settle()
    report = slack.sandbox.dms(FACILITATOR)[-1]
    assert "missing_scope" in visible_text(report) and "Retry" in str(report["blocks"])
    assert len(group_channels(slack)) == 1
    slack.driver.click(FACILITATOR, "groups.retry", message={**report})
    slack.settle()
    channels = group_channels(slack)
    assert len(channels) == 4
    assert len(slack.sandbox.calls_to("conversations.create")) == 4
    for channel in channels:
        assert len(slack.sandbox.messages(channel["id"])) == 2  # one welcome, one board
        assert len(set(channel["members"]) - {FACILITATOR, slack.sandbox.bot_user_id}) == 6
