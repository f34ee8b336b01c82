"""SlackDriver against a minimal Bolt app served over HTTP, talking to the SlackSandbox."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, timezone
from datetime import time as dt_time
from http import HTTPStatus
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from bot.sandbox import SandboxError, SlackDriver, SlackSandbox, build_view_state

SECRET = "test-signing-secret"


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def options(*values: str) -> list[dict]:
    return [{"text": plain(v.title()), "value": v} for v in values]


def input_block(block_id: str, element: dict, optional: bool = False) -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(block_id),
        "optional": optional,
        "element": {"action_id": f"{block_id}_action", **element},
    }


FORM_BLOCKS = [
    input_block("name", {"type": "plain_text_input"}),
    input_block("size", {"type": "number_input", "is_decimal_allowed": False}),
    input_block("dept", {"type": "static_select", "options": options("sales", "legal")}),
    input_block("focus", {"type": "checkboxes", "options": options("online", "offline")}),
    input_block("people", {"type": "multi_users_select"}),
    input_block("channel", {"type": "conversations_select"}),
    input_block("day", {"type": "datepicker"}),
    input_block("at", {"type": "timepicker"}),
    input_block("when", {"type": "datetimepicker"}, optional=True),
    input_block(
        "lang",
        {
            "type": "radio_buttons",
            "options": options("en", "fr"),
            "initial_option": options("en", "fr")[1],
        },
    ),
    input_block("notes", {"type": "plain_text_input", "multiline": True}, optional=True),
    {
        "type": "actions",
        "block_id": "tools",
        "elements": [
            {"type": "button", "action_id": "more", "text": plain("More"), "value": "more"}
        ],
    },
]


def form_view(**extra) -> dict:
    return {
        "type": "modal",
        "callback_id": "new",
        "title": plain("New journey"),
        "submit": plain("Create"),
        "blocks": FORM_BLOCKS,
        **extra,
    }


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def build_app(client: WebClient, seen: list) -> App:
    app = App(
        token="xoxb-sandbox", signing_secret=SECRET, client=client, process_before_response=True
    )

    @app.middleware
    def remember_headers(req, resp, next):  # noqa: A002
        seen.append(("headers", dict(req.headers)))
        return next()

    @app.command("/journey")
    def journey(ack, body, client, respond):
        text = body.get("text", "")
        if text == "hello":
            ack("Hello!")
        elif text == "loud":
            ack({"response_type": "in_channel", "text": "Everyone, hello!"})
        elif text == "later":
            ack()
            respond("Later, via response_url")
        else:
            ack()
            client.views_open(
                trigger_id=body["trigger_id"], view=form_view(notify_on_close=text == "notify")
            )
        seen.append(("command", body))

    @app.view("new")
    def submitted(ack, body, view):
        values = view["state"]["values"]
        seen.append(("submission", values))
        name = values["name"]["name_action"]["value"]
        if name == "bad":
            ack(response_action="errors", errors={"name": "Pick another name"})
        elif name == "update":
            ack(
                response_action="update",
                view={"type": "modal", "callback_id": "done", "title": plain("Done"), "blocks": []},
            )
        elif name == "push":
            ack(
                response_action="push",
                view={
                    "type": "modal",
                    "callback_id": "step2",
                    "title": plain("Step 2"),
                    "blocks": [],
                },
            )
        elif name == "clear":
            ack(response_action="clear")
        elif name == "broken":
            ack(
                response_action="update",
                view={"type": "modal", "title": plain("x" * 30), "blocks": []},
            )
        else:
            ack()

    @app.view_closed("new")
    def closed(ack, body):
        ack()
        seen.append(("closed", body))

    @app.action("more")
    def more(ack, body, client):
        ack()
        seen.append(("action", body))
        client.views_push(
            trigger_id=body["trigger_id"],
            view={"type": "modal", "title": plain("More"), "blocks": []},
        )

    @app.action("approve")
    def approve(ack, body, respond):
        ack()
        seen.append(("action", body))
        respond(replace_original=True, text="Approved by " + body["user"]["name"])

    @app.action("pick")
    def pick(ack, body):
        ack()
        seen.append(("action", body))

    @app.shortcut("start")
    def start(ack, body, client):
        ack()
        seen.append(("shortcut", body))
        client.views_open(
            trigger_id=body["trigger_id"],
            view={"type": "modal", "title": plain("Shortcut"), "blocks": []},
        )

    @app.event("app_home_opened")
    def home(event, client):
        seen.append(("event", event))
        client.views_publish(
            user_id=event["user"],
            view={"type": "home", "blocks": [{"type": "section", "text": plain("Welcome home")}]},
        )

    @app.event("message")
    def message(event):
        seen.append(("event", event))

    return app


@pytest.fixture
def env(sb):
    seen: list = []
    client = WebClient(token="xoxb-sandbox", base_url=sb.api_url)
    app = build_app(client, seen)

    def wsgi(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode("utf-8")
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        response = app.dispatch(
            BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=headers)
        )
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        start_response(status, [(k, v) for k, vs in response.headers.items() for v in vs])
        return [response.body.encode("utf-8")]

    server = make_server(
        "127.0.0.1", 0, wsgi, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    driver = SlackDriver(events_url=url, signing_secret=SECRET, sandbox=sb, team_id=sb.team_id)
    channel = sb.add_channel("journeys", members=["U1", "U2"])
    yield driver, sb, seen, channel
    server.shutdown()
    server.server_close()


def last(seen: list, kind: str):
    return [item for k, item in seen if k == kind][-1]


FULL_VALUES = {
    "name": "Onboarding",
    "size": 12,
    "dept": "legal",
    "focus": ["online", "offline"],
    "people": ["U1", "U2"],
    "channel": "C123",
    "day": date(2024, 5, 17),
    "at": dt_time(9, 30),
    "when": datetime(2024, 5, 17, 9, 30, tzinfo=timezone.utc),
}


# ---------------------------------------------------------------------------- commands & modals


def test_command_payload_and_modal_submission(env):
    d, sb, seen, channel = env
    reply = d.command("U1", "new", channel_id=channel)
    assert reply.status == 200 and reply.body == "" and reply.elapsed_ms > 0
    command = last(seen, "command")
    assert command["user_name"] == "ada" and command["channel_name"] == "journeys"
    assert command["team_domain"] == "sandbox" and command["command"] == "/journey"
    assert command["response_url"].startswith(sb.base_url)
    view = sb.top_view("U1")
    assert view["callback_id"] == "new"

    reply = d.submit_view("U1", FULL_VALUES)
    assert reply.status == 200 and reply.errors is None
    values = last(seen, "submission")
    assert values["name"]["name_action"] == {"type": "plain_text_input", "value": "Onboarding"}
    assert values["size"]["size_action"]["value"] == "12"
    assert values["dept"]["dept_action"]["selected_option"] == {
        "text": plain("Legal"),
        "value": "legal",
    }
    assert [o["value"] for o in values["focus"]["focus_action"]["selected_options"]] == [
        "online",
        "offline",
    ]
    assert values["people"]["people_action"]["selected_users"] == ["U1", "U2"]
    assert values["channel"]["channel_action"]["selected_conversation"] == "C123"
    assert values["day"]["day_action"]["selected_date"] == "2024-05-17"
    assert values["at"]["at_action"]["selected_time"] == "09:30"
    assert values["when"]["when_action"]["selected_date_time"] == 1715938200
    # not given: keeps its initial option; optional and untouched: absent
    assert values["lang"]["lang_action"]["selected_option"]["value"] == "fr"
    assert "notes" not in values
    assert sb.top_view("U1") is None  # empty ack closes the modal


def test_submission_with_unknown_option_or_block_raises(env):
    d, sb, _, channel = env
    d.command("U1", "new", channel_id=channel)
    with pytest.raises(ValueError, match="no option with value 'hr'"):
        d.submit_view("U1", {**FULL_VALUES, "dept": "hr"})
    with pytest.raises(KeyError, match="nope"):
        d.submit_view("U1", {"nope": "x"})
    assert sb.top_view("U1") is not None


def test_response_action_errors_keep_the_view(env):
    d, sb, _, channel = env
    d.command("U1", "new", channel_id=channel)
    view_id = sb.top_view("U1")["id"]
    reply = d.submit_view("U1", {**FULL_VALUES, "name": "bad"})
    assert reply.status == 200
    assert reply.errors == {"name": "Pick another name"}
    assert sb.top_view("U1")["id"] == view_id
    assert sb.views[view_id]["state"]["values"]["name"]["name_action"]["value"] == "bad"
    d.submit_view("U1", FULL_VALUES)
    assert sb.top_view("U1") is None


def test_response_action_update_push_clear(env):
    d, sb, _, channel = env
    d.command("U1", "new", channel_id=channel)
    root = sb.top_view("U1")["id"]
    d.submit_view("U1", {**FULL_VALUES, "name": "update"})
    top = sb.top_view("U1")
    assert top["id"] == root and top["callback_id"] == "done"

    d.command("U1", "new", channel_id=channel)
    d.submit_view("U1", {**FULL_VALUES, "name": "push"})
    assert [v["callback_id"] for v in sb.view_stack("U1")] == ["new", "step2"]

    d.command("U1", "new", channel_id=channel)
    d.submit_view("U1", {**FULL_VALUES, "name": "clear"})
    assert sb.view_stack("U1") == []

    d.command("U1", "new", channel_id=channel)
    with pytest.raises(SandboxError, match="title"):
        d.submit_view("U1", {**FULL_VALUES, "name": "broken"})


def test_close_view_notifies_only_when_asked(env):
    d, sb, seen, channel = env
    d.command("U1", "new", channel_id=channel)
    assert d.close_view("U1") is None
    assert sb.top_view("U1") is None
    d.command("U1", "notify", channel_id=channel)
    reply = d.close_view("U1")
    assert reply.status == 200
    assert last(seen, "closed")["view"]["callback_id"] == "new"
    assert sb.top_view("U1") is None


def test_click_in_modal_pushes_a_view(env):
    d, sb, seen, channel = env
    d.command("U1", "new", channel_id=channel)
    d.click("U1", "more")
    body = last(seen, "action")
    assert body["container"] == {"type": "view", "view_id": sb.view_stack("U1")[0]["id"]}
    assert body["actions"][0]["value"] == "more"
    assert [v["title"]["text"] for v in sb.view_stack("U1")] == ["New journey", "More"]


# ---------------------------------------------------------------------------- messages


def test_click_button_in_message_and_respond(env, client):
    d, sb, seen, channel = env
    posted = client.chat_postMessage(
        channel=channel,
        text="Approve?",
        blocks=[
            {"type": "section", "text": plain("Approve?")},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "approve",
                        "text": plain("Yes"),
                        "value": "yes",
                    },
                    {"type": "button", "action_id": "approve", "text": plain("No"), "value": "no"},
                ],
            },
        ],
    )
    message = sb.messages(channel)[0]
    reply = d.click("U2", "approve", "no", message=message)
    assert reply.status == 200
    body = last(seen, "action")
    assert body["container"]["message_ts"] == posted["ts"]
    assert body["container"]["channel_id"] == channel
    assert body["channel"] == {"id": channel, "name": "journeys"}
    assert body["message"]["ts"] == posted["ts"]
    assert body["actions"][0]["value"] == "no"
    assert sb.messages(channel)[0]["text"] == "Approved by grace"  # respond(replace_original)


def test_click_select_found_without_container(env, client):
    d, sb, seen, _ = env
    client.chat_postMessage(
        channel="U1",
        text="pick",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "pick",
                        "placeholder": plain("Pick"),
                        "options": options("a", "b"),
                    }
                ],
            }
        ],
    )
    d.click("U1", "pick", selected_option="b")
    action = last(seen, "action")["actions"][0]
    assert action["selected_option"]["value"] == "b"
    with pytest.raises(LookupError):
        d.click("U1", "nothing-like-this")


def test_command_replies_become_messages(env):
    d, sb, _, channel = env
    assert d.command("U1", "hello", channel_id=channel).body == "Hello!"
    assert [e["text"] for e in sb.ephemerals(channel, "U1")] == ["Hello!"]
    d.command("U1", "loud", channel_id=channel)
    assert sb.messages(channel)[-1]["text"] == "Everyone, hello!"
    d.command("U1", "later")  # default channel: the DM with the bot
    assert [e["text"] for e in sb.ephemerals(user_id="U1")][-1] == "Later, via response_url"
    assert sb.calls_to("response_url")[-1].status == 200


def test_message_shortcut_and_global_shortcut(env, client):
    d, sb, seen, channel = env
    d.global_shortcut("U1", "start")
    assert last(seen, "shortcut")["type"] == "shortcut"
    assert sb.top_view("U1")["title"]["text"] == "Shortcut"
    client.chat_postMessage(channel=channel, text="original")
    message = sb.messages(channel)[-1]
    d.message_shortcut("U2", "start", message, channel)
    body = last(seen, "shortcut")
    assert body["type"] == "message_action" and body["message"]["text"] == "original"
    assert body["channel"]["id"] == channel
    assert sb.top_view("U2")["title"]["text"] == "Shortcut"


# ---------------------------------------------------------------------------- events


def test_events_and_retry_headers(env):
    d, sb, seen, _ = env
    reply = d.event(
        {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "D1"},
        retry_num=1,
        retry_reason="http_timeout",
    )
    assert reply.status == 200
    assert sb.home("U1")["blocks"][0]["text"]["text"] == "Welcome home"
    headers = last(seen, "headers")
    assert headers["x-slack-retry-num"] == ["1"]
    assert headers["x-slack-retry-reason"] == ["http_timeout"]
    d.user_message("U2", "hi bot")
    event = last(seen, "event")
    assert event["text"] == "hi bot" and event["channel_type"] == "im"
    assert sb.dms("U2")[-1]["user"] == "U2"
    d.command("U1", "hello", retry_num=2)
    assert last(seen, "headers")["x-slack-retry-num"] == ["2"]


# ---------------------------------------------------------------------------- signatures


def test_forged_and_expired_signatures_are_rejected(env):
    d, _, seen, _ = env
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0SANDBOX",
            "event": {"type": "app_home_opened", "user": "U1"},
        }
    ).encode()
    headers = {"Content-Type": "application/json", **d.sign(body)}
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    assert d.post_raw(body, headers).status == 401
    old = {"Content-Type": "application/json", **d.sign(body, int(time.time()) - 6 * 60)}
    assert d.post_raw(body, old).status == 401
    unsigned = {"Content-Type": "application/json"}
    assert d.post_raw(body, unsigned).status == 401
    assert not [item for kind, item in seen if kind == "event"]
    fresh = {"Content-Type": "application/json", **d.sign(body)}
    assert d.post_raw(body, fresh).status == 200
    assert len([item for kind, item in seen if kind == "event"]) == 1


def test_build_view_state_include_empty():
    view = {"id": "V1", "blocks": FORM_BLOCKS}
    state = build_view_state(view, {}, include_empty=True)["values"]
    assert state["name"]["name_action"] == {"type": "plain_text_input", "value": None}
    assert state["focus"]["focus_action"]["selected_options"] == []
    assert state["lang"]["lang_action"]["selected_option"]["value"] == "fr"
    assert "tools" not in state
    assert build_view_state(view, {})["values"].keys() == {"lang"}


def test_driver_needs_known_users(env):
    d, *_ = env
    with pytest.raises(KeyError, match="add_user"):
        d.global_shortcut("U404", "start")


def test_sandbox_standalone_client_helper():
    with SlackSandbox() as sandbox:
        assert sandbox.client().auth_test()["user_id"] == "UBOT0001"
