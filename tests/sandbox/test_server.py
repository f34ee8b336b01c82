"""SlackSandbox through slack_sdk's WebClient over real HTTP."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import SlackSandbox, validate_blocks, validate_view


def section(text: str = "hi", **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def modal(title: str = "Title", blocks=None, **extra) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": blocks if blocks is not None else [section()],
        **extra,
    }


def slack_error(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


# ---------------------------------------------------------------------------- auth & basics


def test_auth_test_reports_the_bot(client, sb):
    data = client.auth_test().data
    assert data["ok"] is True
    assert (data["team_id"], data["user_id"], data["bot_id"]) == (
        "T0SANDBOX",
        "UBOT0001",
        sb.bot_id,
    )
    assert data["url"] == "https://sandbox.slack.com/"
    assert "enterprise_id" not in data


def test_auth_test_enterprise_id():
    with SlackSandbox(team_id="T9", enterprise_id="E9") as other:
        data = other.client().auth_test().data
    assert (data["team_id"], data["enterprise_id"]) == ("T9", "E9")


def test_missing_and_invalid_tokens(sb):
    request = urllib.request.Request(sb.api_url + "auth.test", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": False, "error": "not_authed"}
    bad = WebClient(token="xoxb-invalid-123", base_url=sb.api_url)
    assert slack_error(bad.auth_test).response["error"] == "invalid_auth"


def test_unknown_method(client):
    error = slack_error(lambda: client.api_call("chat.teleport"))
    assert error.response["error"] == "unknown_method"


def test_token_never_recorded(client, sb):
    client.api_call("auth.test", params={"token": "xoxb-secret"})
    assert all("token" not in call.args for call in sb.calls)


# ---------------------------------------------------------------------------- chat


def test_post_message_to_user_opens_a_dm_and_keeps_ts_order(client, sb):
    first = client.chat_postMessage(channel="U1", text="one")
    second = client.chat_postMessage(channel="U1", text="two", thread_ts=first["ts"])
    assert first["channel"].startswith("D") and first["channel"] == second["channel"]
    assert client.conversations_open(users="U1")["channel"]["id"] == first["channel"]
    assert float(second["ts"]) > float(first["ts"])
    dms = sb.dms("U1")
    assert [m["text"] for m in dms] == ["one", "two"]
    assert dms[1]["thread_ts"] == first["ts"] and dms[0]["thread_ts"] is None
    assert dms[0]["user"] == "UBOT0001" and dms[0]["files"] == []
    assert first["message"]["text"] == "one"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(client, sb):
    assert (
        slack_error(lambda: client.chat_postMessage(channel="C404", text="x")).response["error"]
        == "channel_not_found"
    )
    cid = sb.add_channel("general")
    assert slack_error(lambda: client.chat_postMessage(channel=cid)).response["error"] == "no_text"
    too_long = slack_error(lambda: client.chat_postMessage(channel=cid, text="x" * 40_001))
    assert too_long.response["error"] == "msg_too_long"
    assert sb.messages(cid) == []


def test_form_encoded_blocks_are_decoded(client, sb):
    cid = sb.add_channel("general")
    blocks = [section("from a form", block_id="b1")]
    client.api_call(
        "chat.postMessage", data={"channel": cid, "text": "t", "blocks": json.dumps(blocks)}
    )
    assert sb.calls_to("chat.postMessage")[-1].args["blocks"] == blocks
    assert sb.messages(cid)[0]["blocks"] == blocks


def test_update_message(client, sb):
    cid = sb.add_channel("general", members=["U1"])
    posted = client.chat_postMessage(channel=cid, text="v1", blocks=[section("v1")])
    updated = client.chat_update(channel=cid, ts=posted["ts"], text="v2")
    assert updated["message"]["text"] == "v2"
    [message] = sb.messages(cid)
    assert message["text"] == "v2" and message["blocks"][0]["text"]["text"] == "v1"
    assert "edited" in message
    client.chat_update(channel=cid, ts=posted["ts"], text="v3", blocks=[])
    assert sb.messages(cid)[0]["blocks"] == []

    def error(**kwargs):
        return slack_error(lambda: client.chat_update(text="x", **kwargs)).response["error"]

    assert error(channel=cid, ts="1.000001") == "message_not_found"
    assert error(channel="C404", ts=posted["ts"]) == "channel_not_found"
    human = sb.post_user_message(cid, "U1", "mine")
    assert error(channel=cid, ts=human["ts"]) == "cant_update_message"


def test_ephemeral_delete_and_permalink(client, sb):
    cid = sb.add_channel("general", members=["U1"])
    response = client.chat_postEphemeral(channel=cid, user="U1", text="psst")
    assert response["message_ts"]
    [eph] = sb.ephemerals(user_id="U1")
    assert (eph["channel"], eph["text"]) == (cid, "psst")
    error = slack_error(lambda: client.chat_postEphemeral(channel=cid, user="U2", text="x"))
    assert error.response["error"] == "user_not_in_channel"
    dm = client.conversations_open(users="U2")["channel"]["id"]
    client.chat_postEphemeral(channel=dm, user="U2", text="in dm")
    assert [e["text"] for e in sb.ephemerals(channel_id=dm)] == ["in dm"]

    posted = client.chat_postMessage(channel=cid, text="bye")
    link = client.chat_getPermalink(channel=cid, message_ts=posted["ts"])["permalink"]
    assert link.endswith("/archives/" + cid + "/p" + posted["ts"].replace(".", ""))
    client.chat_delete(channel=cid, ts=posted["ts"])
    assert sb.messages(cid) == []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_message_block_limits(client, sb):
    cid = sb.add_channel("general", members=["U1"])
    cases = [
        ([section()] * 51, "no more than 50 items [json-pointer:/blocks]"),
        ([section("x" * 3001)], "less than 3001 characters [json-pointer:/blocks/0/text/text]"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "less than 151 characters",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "no more than 10 items",
        ),
        ([{"text": {"type": "mrkdwn", "text": "no type"}}], "missing required field: type"),
        ([section(block_id="a"), section(block_id="a")], "duplicate block_id"),
    ]
    for blocks, expected in cases:
        for send in (
            lambda b=blocks: client.chat_postMessage(channel=cid, text="t", blocks=b),
            lambda b=blocks: client.chat_postEphemeral(channel=cid, user="U1", text="t", blocks=b),
        ):
            response = slack_error(send).response
            assert response["error"] == "invalid_blocks"
            assert any(expected in m for m in response["response_metadata"]["messages"]), (
                expected,
                response,
            )
    posted = client.chat_postMessage(channel=cid, text="ok", blocks=[section()])
    error = slack_error(
        lambda: client.chat_update(channel=cid, ts=posted["ts"], blocks=[section()] * 51)
    )
    assert error.response["error"] == "invalid_blocks"


def test_message_blocks_get_block_ids(client, sb):
    cid = sb.add_channel("general")
    client.chat_postMessage(
        channel=cid,
        text="t",
        blocks=[
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}],
            }
        ],
    )
    block = sb.messages(cid)[0]["blocks"][0]
    assert block["block_id"] and block["elements"][0]["action_id"]


# ---------------------------------------------------------------------------- validation


def test_validate_blocks_select_and_option_limits():
    def select(n, text="o", etype="static_select"):
        options = [
            {"text": {"type": "plain_text", "text": text}, "value": f"v{i}"} for i in range(n)
        ]
        return [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": etype,
                        "action_id": "s",
                        "options": options,
                        "placeholder": {"type": "plain_text", "text": "pick"},
                    }
                ],
            }
        ]

    assert validate_blocks(select(100), surface="message") == []
    assert any(
        "no more than 100 items" in e for e in validate_blocks(select(101), surface="message")
    )
    assert any(
        "less than 76 characters" in e
        for e in validate_blocks(select(2, text="x" * 76), surface="message")
    )
    assert validate_blocks(select(10, etype="checkboxes"), surface="modal") == []
    assert validate_blocks(select(11, etype="radio_buttons"), surface="modal") != []
    long_id = [section(block_id="b" * 256)]
    assert any("block_id" in e for e in validate_blocks(long_id, surface="message"))
    long_action = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "a" * 256,
                    "text": {"type": "plain_text", "text": "B"},
                }
            ],
        }
    ]
    assert any("action_id" in e for e in validate_blocks(long_action, surface="message"))
    assert validate_blocks([section()] * 100, surface="modal") == []
    assert validate_blocks([section()] * 101, surface="home") != []


@settings(max_examples=40, deadline=None)
@given(length=st.integers(min_value=1, max_value=3100))
def test_section_text_limit_is_exactly_3000(length):
    errors = validate_blocks([section("x" * length)], surface="message")
    assert bool(errors) == (length > 3000)


def test_validate_view_rules():
    assert validate_view(modal()) == []
    assert validate_view({"type": "home", "blocks": []}) == []
    assert any("title" in e for e in validate_view(modal("t" * 25)))
    assert any(
        "submit" in e for e in validate_view(modal(submit={"type": "plain_text", "text": "s" * 25}))
    )
    assert any("private_metadata" in e for e in validate_view(modal(private_metadata="m" * 3001)))
    assert any("callback_id" in e for e in validate_view(modal(callback_id="c" * 256)))
    assert any("type" in e for e in validate_view({"blocks": []}))
    input_block = {
        "type": "input",
        "block_id": "i",
        "label": {"type": "plain_text", "text": "L"},
        "element": {"type": "plain_text_input", "action_id": "a"},
    }
    assert any("submit" in e for e in validate_view(modal(blocks=[input_block])))


# ---------------------------------------------------------------------------- views


def test_views_open_push_update_and_trigger_rules(client, sb):
    trigger = sb.new_trigger_id("U1")
    root = client.views_open(trigger_id=trigger, view=modal("Root", external_id="ext-1"))["view"]
    assert root["id"].startswith("V") and root["root_view_id"] == root["id"]
    assert root["state"] == {"values": {}} and root["hash"]
    assert sb.top_view("U1")["id"] == root["id"]
    assert (
        slack_error(lambda: client.views_open(trigger_id=trigger, view=modal())).response["error"]
        == "expired_trigger_id"
    )
    assert (
        slack_error(lambda: client.views_open(trigger_id="1.2.3", view=modal())).response["error"]
        == "invalid_trigger_id"
    )

    for i in range(2):
        pushed = client.views_push(trigger_id=sb.new_trigger_id("U1"), view=modal(f"P{i}"))
        assert pushed["view"]["root_view_id"] == root["id"]
    assert [v["title"]["text"] for v in sb.view_stack("U1")] == ["Root", "P0", "P1"]
    error = slack_error(
        lambda: client.views_push(trigger_id=sb.new_trigger_id("U1"), view=modal("P3"))
    )
    assert error.response["error"] == "push_limit_reached"

    updated = client.views_update(external_id="ext-1", view=modal("Root v2"), hash=root["hash"])[
        "view"
    ]
    assert updated["id"] == root["id"] and updated["hash"] != root["hash"]
    assert sb.views[root["id"]]["title"]["text"] == "Root v2"
    error = slack_error(
        lambda: client.views_update(view_id=root["id"], view=modal(), hash=root["hash"])
    )
    assert error.response["error"] == "hash_conflict"
    assert (
        slack_error(lambda: client.views_update(view_id="V404", view=modal())).response["error"]
        == "not_found"
    )
    sb.close_views("U1")
    assert sb.top_view("U1") is None and sb.view_stack("U1") == []


def test_trigger_expires_after_ttl(client):
    with SlackSandbox(trigger_ttl=0.05) as quick:
        quick.add_user("U1", "ada")
        trigger = quick.new_trigger_id("U1")
        time.sleep(0.1)
        error = slack_error(lambda: quick.client().views_open(trigger_id=trigger, view=modal()))
    assert error.response["error"] == "expired_trigger_id"


def test_view_limits_answer_invalid_arguments(client, sb):
    cases = [
        (modal("t" * 25), "[json-pointer:/view/title/text]"),
        (modal(blocks=[section()] * 101), "no more than 100 items [json-pointer:/view/blocks]"),
        (modal(private_metadata="x" * 3001), "/view/private_metadata"),
        ({"title": {"type": "plain_text", "text": "T"}, "blocks": []}, "type"),
    ]
    for view, expected in cases:
        response = slack_error(
            lambda v=view: client.views_open(trigger_id=sb.new_trigger_id("U1"), view=v)
        ).response
        assert response["error"] == "invalid_arguments"
        assert any(expected in m for m in response["response_metadata"]["messages"]), response
    assert sb.top_view("U1") is None


def test_views_publish_home_tab(client, sb):
    home = {"type": "home", "blocks": [section("welcome")]}
    first = client.views_publish(user_id="U1", view=home)["view"]
    second = client.views_publish(
        user_id="U1", view={**home, "blocks": [section("again")]}, hash=first["hash"]
    )["view"]
    assert first["id"] == second["id"]
    assert sb.home("U1")["blocks"][0]["text"]["text"] == "again"
    assert sb.home("U2") is None
    assert (
        slack_error(lambda: client.views_publish(user_id="U404", view=home)).response["error"]
        == "user_not_found"
    )


# ---------------------------------------------------------------------------- conversations


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("Has-Caps", "invalid_name_specials"),
        ("with space", "invalid_name_specials"),
        ("émoji", "invalid_name_specials"),
        ("x" * 81, "invalid_name_maxlength"),
        ("---", "invalid_name_punctuation"),
    ],
)
def test_conversations_create_name_rules(client, name, error):
    assert slack_error(lambda: client.conversations_create(name=name)).response["error"] == error


def test_conversations_create_and_name_taken(client, sb):
    created = client.conversations_create(name="journey-2024_q1", is_private=True)["channel"]
    assert created["is_private"] is True and created["name"] == "journey-2024_q1"
    assert created["creator"] == "UBOT0001" and created["is_member"] is True
    assert sb.channel_by_name("#journey-2024_q1")["members"] == ["UBOT0001"]
    assert client.conversations_create(name="x" * 80)["ok"]
    error = slack_error(lambda: client.conversations_create(name="journey-2024_q1"))
    assert error.response["error"] == "name_taken"


def test_invite_in_batches_and_members_pagination(client, sb):
    for i in range(250):
        sb.add_user(f"UX{i:04d}", f"user{i}")
    cid = client.conversations_create(name="big")["channel"]["id"]
    users = [f"UX{i:04d}" for i in range(250)]
    for start in range(0, len(users), 100):
        client.conversations_invite(channel=cid, users=",".join(users[start : start + 100]))
    assert len(sb.calls_to("conversations.invite")) == 3
    members = []
    for page in client.conversations_members(channel=cid, limit=100):
        members += page["members"]
    assert members == ["UBOT0001", *users]
    info = client.conversations_info(channel=cid, include_num_members=True)["channel"]
    assert info["num_members"] == 251

    error = slack_error(lambda: client.conversations_invite(channel=cid, users="UX0001,UX0002"))
    assert error.response["error"] == "already_in_channel"
    client.conversations_invite(channel=cid, users="UX0001,U1")  # partly new: fine
    assert "U1" in sb.channels[cid]["members"]
    error = slack_error(lambda: client.conversations_invite(channel=cid, users="U2,U404"))
    assert error.response["error"] == "user_not_found"
    assert "U2" not in sb.channels[cid]["members"]
    assert (
        slack_error(lambda: client.conversations_members(channel=cid, cursor="bogus")).response[
            "error"
        ]
        == "invalid_cursor"
    )


def test_join_list_and_open(client, sb):
    public = sb.add_channel("town-square", members=["U1"])
    private = sb.add_channel("secret", is_private=True)
    assert client.conversations_join(channel=public)["channel"]["is_member"] is True
    assert "UBOT0001" in sb.channels[public]["members"]
    error = slack_error(lambda: client.conversations_join(channel=private))
    assert error.response["error"] == "method_not_supported_for_channel_type"
    names = {c["name"] for c in client.conversations_list()["channels"]}
    assert names == {"town-square"}
    both = {
        c["name"]
        for c in client.conversations_list(types="public_channel,private_channel")["channels"]
    }
    assert both == {"town-square", "secret"}
    opened = client.conversations_open(users="U2", return_im=True)["channel"]
    assert opened["is_im"] and opened["user"] == "U2"


def test_strict_membership():
    with SlackSandbox(strict_membership=True) as strict:
        cid = strict.add_channel("closed", is_private=True)
        error = slack_error(lambda: strict.client().chat_postMessage(channel=cid, text="x"))
    assert error.response["error"] == "channel_not_found"


# ---------------------------------------------------------------------------- users


def test_users_info_and_lookup(client):
    user = client.users_info(user="U1")["user"]
    assert (user["id"], user["name"], user["real_name"]) == ("U1", "ada", "Ada Lovelace")
    assert user["tz"] == "Europe/Paris" and user["tz_offset"] in (3600, 7200)
    assert user["profile"]["email"] == "ada@example.com" and user["is_bot"] is False
    assert "locale" not in user
    assert client.users_info(user="U1", include_locale=True)["user"]["locale"] == "fr-FR"
    assert client.users_info(user="UBOT0001")["user"]["is_bot"] is True
    assert client.users_lookupByEmail(email="ADA@example.com")["user"]["id"] == "U1"
    assert (
        slack_error(lambda: client.users_lookupByEmail(email="nobody@example.com")).response[
            "error"
        ]
        == "users_not_found"
    )
    assert slack_error(lambda: client.users_info(user="U404")).response["error"] == (
        "user_not_found"
    )


# ---------------------------------------------------------------------------- files


def test_files_upload_v2_round_trip(client, sb):
    cid = sb.add_channel("reports")
    content = bytes(range(256)) * 40
    response = client.files_upload_v2(
        channel=cid,
        content=content,
        filename="map.png",
        title="Journey map",
        alt_txt="A journey map",
        initial_comment="Here it is",
    )
    file_id = response["file"]["id"]
    assert sb.files[file_id]["content"] == content
    assert sb.files[file_id]["title"] == "Journey map"
    assert sb.files[file_id]["alt_txt"] == "A journey map"
    assert sb.files[file_id]["mimetype"] == "image/png"
    [message] = sb.messages(cid)
    assert message["text"] == "Here it is" and message["files"][0]["id"] == file_id
    upload = sb.calls_to("upload")[0]
    assert upload.status == 200 and upload.response["text"] == f"OK - {len(content)}"
    assert [c.method for c in sb.calls][-3:] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_files_upload_v2_into_a_thread_and_dm(client, sb):
    parent = client.chat_postMessage(channel="U1", text="parent")
    client.files_upload_v2(
        channel=parent["channel"], content="a,b\n1,2\n", filename="x.csv", thread_ts=parent["ts"]
    )
    reply = sb.dms("U1")[-1]
    assert reply["thread_ts"] == parent["ts"] and reply["files"][0]["name"] == "x.csv"


# ---------------------------------------------------------------------------- reactions, team


def test_reactions_and_team_info(client, sb):
    posted = client.chat_postMessage(channel="U1", text="hi")
    client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="tada")
    assert sb.dms("U1")[0]["reactions"] == [{"name": "tada", "users": ["UBOT0001"], "count": 1}]
    assert (
        slack_error(
            lambda: client.reactions_add(
                channel=posted["channel"], timestamp=posted["ts"], name="tada"
            )
        ).response["error"]
        == "already_reacted"
    )
    assert client.team_info()["team"]["domain"] == "sandbox"


# ---------------------------------------------------------------------------- rate limits, faults


def test_rate_limit_answers_429_with_retry_after(client, sb):
    sb.set_rate_limits(True, scale=60)  # Tier 2: 20 per second instead of per minute
    for i in range(20):
        client.conversations_create(name=f"c{i}")
    error = slack_error(lambda: client.conversations_create(name="one-too-many"))
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "1"
    assert sb.calls[-1].status == 429
    assert client.users_info(user="U1")["ok"]  # other methods have their own window
    time.sleep(1.05)
    assert client.conversations_create(name="after-the-window")["ok"]


def test_post_message_rate_limit_is_per_channel(client, sb):
    sb.set_rate_limits(True, overrides={"chat.postMessage": (3, 0.3)})
    a, b = sb.add_channel("a"), sb.add_channel("b")
    for _ in range(3):
        client.chat_postMessage(channel=a, text="x")
    assert (
        slack_error(lambda: client.chat_postMessage(channel=a, text="x")).response.status_code
        == 429
    )
    assert client.chat_postMessage(channel=b, text="x")["ok"]
    time.sleep(0.35)
    assert client.chat_postMessage(channel=a, text="x")["ok"]
    sb.set_rate_limits(False)
    for _ in range(10):
        client.chat_postMessage(channel=a, text="x")


def test_rate_limits_off_by_default(client, sb):
    for i in range(25):
        client.conversations_create(name=f"c{i}")


def test_fail_next(client, sb):
    sb.fail_next("conversations.create", "name_taken")
    assert slack_error(lambda: client.conversations_create(name="fresh")).response["error"] == (
        "name_taken"
    )
    assert client.conversations_create(name="fresh")["ok"]

    sb.fail_next("chat.postMessage", "missing_scope", times=2)
    for _ in range(2):
        response = slack_error(lambda: client.chat_postMessage(channel="U1", text="x")).response
        assert response["error"] == "missing_scope" and response["needed"] == "chat:write"
    sb.fail_next("users.info", "ratelimited", retry_after=7)
    error = slack_error(lambda: client.users_info(user="U1"))
    assert error.response.status_code == 429 and error.response.headers["Retry-After"] == "7"
    assert client.users_info(user="U1")["ok"]


def test_webclient_retry_handler_recovers_from_429(sb):
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    client = WebClient(
        token="xoxb-sandbox",
        base_url=sb.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    sb.fail_next("auth.test", "ratelimited", retry_after=0)
    assert client.auth_test()["ok"]
    assert [c.status for c in sb.calls_to("auth.test")] == [429, 200]


# ---------------------------------------------------------------------------- recording


def test_calls_are_recorded_and_reset(client, sb):
    client.chat_postMessage(channel="U1", text="hello", blocks=[section("hello")])
    [call] = sb.calls_to("chat.postMessage")
    assert call.args["blocks"][0]["text"]["text"] == "hello"
    assert call.response["ok"] is True and call.status == 200 and call.ok
    assert call.at.tzinfo is not None
    sb.reset_calls()
    assert sb.calls == []


def test_wait_for_calls(client, sb):
    import threading

    threading.Timer(0.05, lambda: client.auth_test()).start()
    assert len(sb.wait_for_calls("auth.test", timeout=5)) == 1
    with pytest.raises(TimeoutError):
        sb.wait_for_calls("chat.delete", timeout=0.05)


def test_jsonl_log(tmp_path):
    log = tmp_path / "logs" / "slack.jsonl"
    with SlackSandbox(log_path=log) as logged:
        client = logged.client(token="xoxb-very-secret")
        client.auth_test()
        client.chat_postMessage(channel="UBOT0001", text="note", blocks=[section("note")])
        slack_error(lambda: client.chat_postMessage(channel="C404", text="x"))
        lines = log.read_text().splitlines()  # flushed per line, readable while running
    assert "xoxb-very-secret" not in log.read_text()
    entries = [json.loads(line) for line in lines]
    assert [e["method"] for e in entries] == ["auth.test", "chat.postMessage", "chat.postMessage"]
    assert entries[1]["args"]["blocks"][0]["text"]["text"] == "note"
    assert entries[2]["response"] == {"ok": False, "error": "channel_not_found"}
    assert {"at", "method", "args", "status", "response"} <= set(entries[0])
