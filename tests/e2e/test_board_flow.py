"""Issue 4 through the HTTP endpoint: three ways in, arrange, delete, votes, anonymous mode,
a 120-post-it board within Slack's limits, retries and double submits."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.models import PostIt
from tests.e2e.conftest import (
    FACILITATOR,
    confirmed_groups,
    create_workshop,
    visible_text,
)


@pytest.fixture
def groups(slack):
    """A workshop with 8 participants in two confirmed groups; returns {user: channel}."""
    create_workshop(slack)
    return confirmed_groups(slack)


def board_message(slack, channel) -> dict:
    return next(m for m in slack.sandbox.messages(channel)
                if "Journey board" in visible_text(m))


def board(slack, channel) -> str:
    return visible_text(board_message(slack, channel))


def post_its(slack) -> list[PostIt]:
    with slack.services.db.sessions() as session:
        return list(session.scalars(select(PostIt).where(PostIt.deleted_at.is_(None))))


def quick(slack, user, channel, text, **kwargs):
    reply = slack.driver.command(user, f"add {text}", channel_id=channel, **kwargs)
    slack.settle()
    return reply


def stage_value(view, name) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == "stage")
    return next(o["value"] for o in block["element"]["options"] if o["text"]["text"] == name)


def test_quick_add_is_confirmed_in_the_ack_and_shows_on_the_board(slack, groups):
    user, channel = next(iter(groups.items()))
    reply = quick(slack, user, channel, "pain purchase: payment <!here> fails & <@U1>")
    assert reply.status == 200
    assert "Added to Purchase" in reply.body and "&lt;!here&gt;" in reply.body
    text = board(slack, channel)
    assert "payment &lt;!here&gt; fails &amp; &lt;@U1&gt;" in text
    assert "<!here>" not in text
    french = quick(slack, user, channel, "Point de douleur ACHAT: trop de frais")
    assert "Added to Purchase" in french.body
    assert len(post_its(slack)) == 2


def test_unparseable_quick_add_opens_a_prefilled_modal(slack, groups):
    user, channel = next(iter(groups.items()))
    quick(slack, user, channel, "opportunity the app could remember my size")
    view = slack.sandbox.top_view(user)
    assert view["title"]["text"] == "Add a post-it"
    kind = next(b for b in view["blocks"] if b.get("block_id") == "kind")
    assert kind["element"]["initial_option"]["value"] == "opportunity"
    text = next(b for b in view["blocks"] if b.get("block_id") == "text")
    assert text["element"]["initial_value"] == "the app could remember my size"
    assert post_its(slack) == []


def test_modal_add_with_inline_errors_then_success(slack, groups):
    user, channel = next(iter(groups.items()))
    slack.driver.command(user, "add", channel_id=channel)
    slack.settle()
    view = slack.sandbox.top_view(user)
    purchase = stage_value(view, "Purchase")
    reply = slack.driver.submit_view(user, {"kind": "emotion", "stage": purchase,
                                            "text": "x" * 501})
    assert reply.errors == {"text": "501 characters: a post-it holds 500 at most.",
                            "score": "An emotion needs a feeling from −2 to +2."}
    reply = slack.driver.submit_view(user, {"kind": "touchpoint", "stage": purchase,
                                            "text": "Checkout page"})
    assert reply.errors == {"channel": "A touchpoint needs its channel."}
    assert post_its(slack) == []
    reply = slack.driver.submit_view(user, {"kind": "emotion", "stage": purchase,
                                            "text": "Stressed by the fees", "score": "-2"})
    assert not reply.errors
    slack.settle()
    assert "Stressed by the fees (-2)" in board(slack, channel)


def test_message_shortcut_turns_a_message_into_a_post_it(slack, groups):
    user, channel = next(iter(groups.items()))
    message = slack.sandbox.post_user_message(channel, user,
                                              "Customers call support to track orders")
    slack.driver.message_shortcut(user, "board.add_message", message, channel_id=channel)
    slack.settle()
    view = slack.sandbox.top_view(user)
    text = next(b for b in view["blocks"] if b.get("block_id") == "text")
    assert text["element"]["initial_value"] == "Customers call support to track orders"
    slack.driver.submit_view(user, {"kind": "pain", "stage": stage_value(view, "Retention")})
    slack.settle()
    assert "Customers call support to track orders" in board(slack, channel)


def test_retried_delivery_and_double_submit_create_nothing_twice(slack, groups):
    user, channel = next(iter(groups.items()))
    first = slack.driver.command(user, "add step awareness: sees an ad", channel_id=channel)
    # Slack redelivers the very same request (same trigger_id) with X-Slack-Retry-Num.
    retried = slack.driver.redeliver(retry_num=1)
    slack.settle()
    assert "Added" in first.body and "Already added" in retried.body
    slack.driver.command(user, "add", channel_id=channel)
    slack.settle()
    view = slack.sandbox.top_view(user)
    values = {"kind": "step", "stage": stage_value(view, "Purchase"), "text": "Pays online"}
    slack.driver.submit_view(user, values, view_id=view["id"])
    slack.sandbox.push_view(user, view)  # a double click: Slack submits the same view again
    slack.driver.submit_view(user, values, view_id=view["id"])
    slack.settle()
    assert sorted(p.text for p in post_its(slack)) == ["Pays online", "sees an ad"]


def test_arrange_moves_edits_and_deletes_only_for_author_or_facilitator(slack, groups):
    (author, channel), (other, _) = list(groups.items())[:2]
    other = next(u for u, c in groups.items() if c == channel and u != author)
    quick(slack, author, channel, "step awareness: sees an ad")
    quick(slack, author, channel, "step awareness: reads reviews")
    target = next(p for p in post_its(slack) if p.text == "reads reviews")

    slack.driver.click(other, "board.arrange", message={**board_message(slack, channel),
                                                        "channel": channel})
    slack.settle()
    reply = slack.driver.submit_view(other, {"post_it": str(target.id), "delete": ["delete"]})
    assert reply.errors == {"post_it": "Only its author or a facilitator can change this post-it."}
    slack.sandbox.close_views(other)

    slack.driver.click(author, "board.arrange", message={**board_message(slack, channel),
                                                         "channel": channel})
    slack.settle()
    view = slack.sandbox.top_view(author)
    reply = slack.driver.submit_view(author, {"post_it": str(target.id),
                                              "stage": stage_value(view, "Consideration"),
                                              "text": "Reads reviews on two sites"})
    assert not reply.errors
    slack.settle()
    text = board(slack, channel)
    consideration = text.split("*2. Consideration*")[1].split("*3.")[0]
    assert "Reads reviews on two sites" in consideration

    slack.driver.click(FACILITATOR, "board.arrange",
                       message={**board_message(slack, channel), "channel": channel})
    slack.settle()
    reply = slack.driver.submit_view(FACILITATOR, {"post_it": str(target.id),
                                                   "delete": ["delete"]})
    assert not reply.errors
    slack.settle()
    assert "Reads reviews" not in board(slack, channel)
    assert [p.text for p in post_its(slack)] == ["sees an ad"]


def test_concurrent_edit_is_refused_with_a_clear_message(slack, groups):
    user, channel = next(iter(groups.items()))
    quick(slack, user, channel, "step awareness: v1")
    target = post_its(slack)[0]
    message = {**board_message(slack, channel), "channel": channel}
    slack.driver.click(user, "board.arrange", message=message)
    slack.settle()
    stale = slack.sandbox.top_view(user)["id"]
    slack.driver.click(FACILITATOR, "board.arrange", message=message)
    slack.settle()
    slack.driver.submit_view(FACILITATOR, {"post_it": str(target.id), "text": "v2"})
    reply = slack.driver.submit_view(user, {"post_it": str(target.id), "text": "v3"},
                                     view_id=stale)
    assert "Someone changed this post-it" in reply.errors["post_it"]
    assert post_its(slack)[0].text == "v2"


def test_dot_voting_enforces_the_budget_and_allows_withdrawal(slack, groups):
    users = list(groups.items())
    for n, (user, channel) in enumerate(users[:4]):
        quick(slack, user, channel, f"pain purchase: problem {n}")
    voter, voter_channel = users[5]
    slack.driver.command(voter, "vote", channel_id=voter_channel)
    slack.settle()

    def vote_buttons():
        view = slack.sandbox.top_view(voter)
        return view, [b["accessory"] for b in view["blocks"]
                      if b.get("accessory", {}).get("action_id") in ("vote.cast", "vote.withdraw")]

    for _ in range(3):
        _, buttons = vote_buttons()
        cast = [b for b in buttons if b["action_id"] == "vote.cast"][0]
        slack.driver.click(voter, "vote.cast", value=cast["value"])
        slack.settle()
    view, buttons = vote_buttons()
    assert "used *3* of your *3* votes" in json.dumps(view)
    cast = [b for b in buttons if b["action_id"] == "vote.cast"][0]
    slack.driver.click(voter, "vote.cast", value=cast["value"])
    slack.settle()
    view, _ = vote_buttons()
    assert "You've used all 3 of your votes" in json.dumps(view)
    withdraw = [b for b in buttons if b["action_id"] == "vote.withdraw"][0]
    slack.driver.click(voter, "vote.withdraw", value=withdraw["value"])
    slack.settle()
    view, _ = vote_buttons()
    assert "used *2* of your *3* votes" in json.dumps(view)
    assert "1★" in "".join(board(slack, c) for c in set(groups.values()))


def test_anonymous_mode_hides_authors_and_waits_for_review(slack, groups):
    slack.driver.command(FACILITATOR, "settings", channel_id=slack.channel)
    slack.settle()
    reply = slack.driver.submit_view(FACILITATOR, {"budget": "5", "options": ["anonymous"]})
    assert not reply.errors
    slack.settle()
    user, channel = next(iter(groups.items()))
    quick(slack, user, channel, "pain purchase: rude staff")
    quick(slack, user, channel, "pain purchase: something inappropriate")
    assert "awaiting the facilitator's review" in board(slack, channel)
    assert "rude staff" not in board(slack, channel)

    slack.driver.command(FACILITATOR, "review", channel_id=slack.channel)
    slack.settle()
    view = slack.sandbox.top_view(FACILITATOR)
    bad = next(b["accessory"] for b in view["blocks"]
               if "inappropriate" in json.dumps(b) and b.get("accessory"))
    slack.driver.click(FACILITATOR, "review.hide", value=bad["value"])
    slack.settle()
    slack.driver.click(FACILITATOR, "review.reveal_all")
    slack.settle()
    text = board(slack, channel)
    assert "rude staff" in text and "inappropriate" not in text
    slack.driver.command(user, "board", channel_id=channel)
    slack.settle()
    full = json.dumps(slack.sandbox.top_view(user))
    assert "rude staff" in full and user not in full  # no author shown


def test_a_board_with_120_post_its_stays_within_slacks_limits(slack, groups):
    user, channel = next(iter(groups.items()))
    kinds = ["step", "action", "pain", "opportunity", "kpi"]
    stages = ["awareness", "consideration", "purchase", "retention", "advocacy"]
    for n in range(120):
        reply = slack.driver.command(
            user, f"add {kinds[n % 5]} {stages[(n // 5) % 5]}: post-it number {n} " + "x" * 300,
            channel_id=channel)
        assert "Added" in reply.body
    slack.settle()
    failures = [c for c in slack.sandbox.calls if not c.ok]
    assert failures == []
    text = board(slack, channel)
    assert "120 post-its" in text and "more" in text
    slack.driver.command(user, "board", channel_id=channel)
    slack.settle()
    assert [c for c in slack.sandbox.calls if not c.ok] == []
    view = slack.sandbox.top_view(user)
    assert len(view["blocks"]) <= 100


def test_observers_and_strangers_cannot_post(slack, groups):
    slack.sandbox.add_user("ULEAD", "boss")
    slack.driver.command(FACILITATOR, "people", channel_id=slack.channel)
    slack.settle()
    slack.driver.submit_view(FACILITATOR, {"users": ["ULEAD"], "role": "leadership"})
    slack.settle()
    channel = next(iter(groups.values()))
    reply = quick(slack, "ULEAD", channel, "pain purchase: I am the boss")
    assert reply.body == ""
    assert "only participants and facilitators" in visible_text(
        slack.sandbox.ephemerals(user_id="ULEAD")[-1])
    slack.sandbox.add_user("USTRANGER", "who")
    quick(slack, "USTRANGER", channel, "pain purchase: hello")
    assert post_its(slack) == []


def test_count_query(slack, groups):
    with slack.services.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PostIt)) == 0
