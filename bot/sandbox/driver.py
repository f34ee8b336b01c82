"""Plays Slack's side against the app's HTTP endpoint.

:class:`SlackDriver` builds the requests Slack would send to the app -- slash commands,
interactivity payloads (``block_actions``, ``view_submission``, ``view_closed``, shortcuts)
and Events API envelopes -- signs them with the signing secret exactly as Slack does
(``X-Slack-Signature: v0=...``) and POSTs them with ``urllib``.  It works together with a
:class:`~bot.sandbox.server.SlackSandbox`:

* user names, channel names, trigger_ids and response_urls come from the sandbox;
* modals are read from the sandbox (``submit_view`` builds the ``state.values`` from the
  stored view's input blocks) and the app's answer is applied back to it as Slack would
  (``response_action`` update / push / clear / errors, empty body closes the modal);
* immediate replies to slash commands become ephemeral (or in-channel) messages.

Example::

    d = SlackDriver(events_url=f"{app_url}/slack/events", signing_secret=secret, sandbox=sb)
    d.command("U1", "new")                      # -> the app opens a modal via views.open
    reply = d.submit_view("U1", {"name": "Onboarding", "day1": date(2024, 5, 1)})
    assert reply.status == 200 and reply.errors is None
"""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.server import SandboxError, SlackError, SlackSandbox

__all__ = ["Reply", "SlackDriver", "build_view_state"]

# Which state field each element type reports, and the element field holding its initial value.
_STATE_FIELDS: dict[str, tuple[str, str]] = {
    "plain_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "overflow": ("selected_option", "initial_option"),
    "multi_static_select": ("selected_options", "initial_options"),
    "multi_external_select": ("selected_options", "initial_options"),
    "checkboxes": ("selected_options", "initial_options"),
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
    "rich_text_input": ("rich_text_value", "initial_value"),
    "file_input": ("files", "initial_files"),
}
_EXTERNAL = frozenset({"external_select", "multi_external_select"})


@dataclass(frozen=True)
class PreparedCommand:
    """A slash command as Slack sends it: who, where, and the form-encoded body."""

    user_id: str
    channel_id: str
    body: bytes


@dataclass
class Reply:
    """The app's HTTP answer to one request sent by the driver.

    Attributes:
        status: HTTP status code (0 if the connection failed).
        body: response body as text.
        headers: response headers (use :meth:`header` for a case-insensitive lookup).
        elapsed_ms: wall time of the HTTP exchange (Slack gives up after 3000 ms).
        errors: for a ``view_submission`` answered with ``response_action: errors``, the
            ``{block_id: message}`` dict Slack would show under the inputs; else None.
        slack_error: set when Slack would have refused the app's synchronous answer (e.g. a
            slash-command reply with invalid blocks): the Slack error code and its messages.
    """

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    errors: dict[str, str] | None = None
    slack_error: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON (None for an empty body)."""
        return json.loads(self.body) if self.body.strip() else None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


# ---------------------------------------------------------------------------------------------
# Block helpers (pure functions, usable on any stored view or message)
# ---------------------------------------------------------------------------------------------


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """Interactive elements of a block (input element, accessory, actions elements)."""
    found = []
    if block.get("type") == "actions":
        found += [e for e in block.get("elements") or [] if isinstance(e, dict)]
    for key in ("element", "accessory"):
        el = block.get(key)
        if isinstance(el, dict) and el.get("type") != "image":
            found.append(el)
    return found


def _all_options(el: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(el.get("options") or [])
    for group in el.get("option_groups") or []:
        options += group.get("options") or []
    return options


def _option(el: dict[str, Any], wanted: Any) -> dict[str, Any]:
    """The option of ``el`` whose value is ``wanted`` (a value or an option dict)."""
    value = wanted.get("value") if isinstance(wanted, dict) else wanted
    for option in _all_options(el):
        if option.get("value") == value:
            return copy.deepcopy(option)
    if el.get("type") in _EXTERNAL:  # options are loaded from the app: cannot be checked
        if isinstance(wanted, dict):
            return copy.deepcopy(wanted)
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    known = [o.get("value") for o in _all_options(el)]
    raise ValueError(
        f"no option with value {value!r} in {el.get('type')} {el.get('action_id')!r}; "
        f"options: {known}"
    )


def _state_value(el: dict[str, Any], value: Any) -> Any:
    """Convert a Python value to what Slack reports for this element type."""
    etype = el.get("type")
    if value is None:
        return [] if etype and etype.startswith("multi_") or etype == "checkboxes" else None
    if etype in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        return str(value)
    if etype in ("static_select", "external_select", "radio_buttons", "overflow"):
        return _option(el, value)
    if etype in ("multi_static_select", "multi_external_select", "checkboxes"):
        values = [value] if isinstance(value, (str, dict)) else list(value)
        return [_option(el, v) for v in values]
    if etype in ("multi_users_select", "multi_conversations_select", "multi_channels_select"):
        return [value] if isinstance(value, str) else list(value)
    if etype == "datepicker":
        if isinstance(value, datetime):
            value = value.date()
        return value.isoformat() if isinstance(value, date) else str(value)
    if etype == "timepicker":
        return value.strftime("%H:%M") if isinstance(value, (dt_time, datetime)) else str(value)
    if etype == "datetimepicker":
        return int(value.timestamp()) if isinstance(value, datetime) else int(value)
    if etype == "rich_text_input" and isinstance(value, str):
        return {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": value}]}
            ],
        }
    return value


def build_view_state(
    view: dict[str, Any], values: dict[str, Any], *, include_empty: bool = False
) -> dict[str, Any]:
    """Build ``view.state`` as Slack reports it when the user submits ``view``.

    Args:
        view: a view as stored by the sandbox (blocks carry block_id/action_id).
        values: ``{block_id: python value}``.  For an ``actions`` block with several
            elements, give ``{block_id: {action_id: value}}``.  Values are converted per
            element type: text inputs -> ``value`` (str); static selects / radio buttons ->
            ``selected_option`` (looked up by option value; ``ValueError`` if absent);
            multi selects / checkboxes -> ``selected_options``; users / conversations /
            channels selects -> ``selected_user(s)`` / ``selected_conversation(s)`` /
            ``selected_channel(s)``; datepicker -> ``selected_date`` (``date`` or
            "YYYY-MM-DD"); timepicker -> ``selected_time`` (``time`` or "HH:MM");
            datetimepicker -> ``selected_date_time`` (``datetime`` or epoch int).
        include_empty: report untouched inputs with null/empty values (as Slack does)
            instead of leaving them out.  Inputs with an ``initial_*`` value always keep it.

    Returns:
        ``{"values": {block_id: {action_id: {"type": ..., <field>: ...}}}}``.

    Raises:
        KeyError: a key of ``values`` is not the block_id of an interactive block.
    """
    blocks = [b for b in view.get("blocks") or [] if isinstance(b, dict)]
    interactive = {b.get("block_id"): b for b in blocks if _elements(b)}
    unknown = set(values) - set(interactive)
    if unknown:
        raise KeyError(
            f"no input block with block_id {sorted(unknown)} in view {view.get('id')}; "
            f"block_ids: {sorted(str(k) for k in interactive)}"
        )
    state: dict[str, dict[str, Any]] = {}
    for block_id, block in interactive.items():
        elements = _elements(block)
        for el in elements:
            etype = el.get("type", "")
            field_name, initial_field = _STATE_FIELDS.get(etype, ("value", "initial_value"))
            action_id = el.get("action_id")
            entry: dict[str, Any] = {"type": etype}
            if block_id in values:
                given = values[block_id]
                if len(elements) > 1:
                    if not isinstance(given, dict) or action_id not in given:
                        continue
                    given = given[action_id]
                entry[field_name] = _state_value(el, given)
            elif el.get(initial_field) is not None:
                initial = copy.deepcopy(el[initial_field])
                if etype in ("datetimepicker",):
                    initial = int(initial)
                entry[field_name] = initial
            elif include_empty and block.get("type") == "input":
                entry[field_name] = _state_value(el, None)
            else:
                continue
            state.setdefault(str(block_id), {})[str(action_id)] = entry
    return {"values": state}


def _find_element(
    blocks: Iterable[Any], action_id: str, value: Any = None, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None] | None:
    """Locate ``(block, element, matched option)`` for an action_id (and value) in blocks."""
    for block in blocks or []:
        if not isinstance(block, dict) or (block_id and block.get("block_id") != block_id):
            continue
        for el in _elements(block):
            if el.get("action_id") != action_id:
                continue
            if value is None or el.get("value") == value:
                return block, el, None
            for option in _all_options(el):
                if option.get("value") == value:
                    return block, el, copy.deepcopy(option)
    return None


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------


class SlackDriver:
    """Sends Slack's requests to the app and applies the app's answers to the sandbox.

    Args:
        events_url: the app's endpoint (Bolt serves commands, interactivity and events on
            one URL, e.g. ``http://127.0.0.1:3000/slack/events``).
        signing_secret: the app's signing secret (requests are signed with it).
        sandbox: the :class:`SlackSandbox` the app talks to.
        team_id: workspace id sent in payloads (defaults to the sandbox's).
        api_app_id: defaults to the sandbox's ``app_id``.
        commands_url, interactivity_url: override the URL per request kind.
        verification_token: the legacy ``token`` field Slack still sends.
        timeout: HTTP timeout in seconds.
        include_empty_inputs: see :func:`build_view_state`.

    Every method returns a :class:`Reply`.  ``retry_num`` / ``retry_reason`` keyword
    arguments add ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason`` headers, as Slack does when
    it redelivers a request the app did not acknowledge in time.
    """

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        sandbox: SlackSandbox,
        team_id: str | None = None,
        *,
        api_app_id: str | None = None,
        commands_url: str | None = None,
        interactivity_url: str | None = None,
        verification_token: str = "sandbox-verification-token",
        timeout: float = 10.0,
        include_empty_inputs: bool = False,
    ) -> None:
        self.events_url = events_url
        self.commands_url = commands_url or events_url
        self.interactivity_url = interactivity_url or events_url
        self.signing_secret = signing_secret
        self.sandbox = sandbox
        self.team_id = team_id or sandbox.team_id
        self.api_app_id = api_app_id or sandbox.app_id
        self.verification_token = verification_token
        self.timeout = timeout
        self.include_empty_inputs = include_empty_inputs
        self._verifier = SignatureVerifier(signing_secret)
        # Never route 127.0.0.1 through an HTTP proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._event_seq = 0
        #: trigger_id sent with the last command / interaction.
        self.last_trigger_id: str | None = None

    # ------------------------------------------------------------------ HTTP

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's signature headers for ``body`` (``timestamp`` defaults to now)."""
        ts = str(int(time.time()) if timestamp is None else int(timestamp))
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}

    def post_raw(self, body: bytes, headers: dict[str, str], *, url: str | None = None) -> Reply:
        """POST ``body`` with exactly ``headers`` (no signing) -- for forged-request tests."""
        request = urllib.request.Request(
            url or self.events_url, data=body, headers=dict(headers), method="POST"
        )
        started = time.perf_counter()
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, raw, resp_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, resp_headers = exc.code, exc.read(), exc.headers
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out...
            reason = getattr(exc, "reason", exc)
            status, raw, resp_headers = 0, f"connection failed: {reason}".encode(), None
        elapsed = (time.perf_counter() - started) * 1000
        return Reply(
            status=status,
            body=raw.decode("utf-8", "replace"),
            headers=dict(resp_headers.items()) if resp_headers else {},
            elapsed_ms=elapsed,
        )

    def redeliver(self, retry_num: int = 1, retry_reason: str = "http_timeout") -> Reply:
        """Send the last request again, byte for byte, as Slack redelivers one it thinks
        was not acknowledged in time (with ``X-Slack-Retry-Num``)."""
        url, body, content_type = self._last
        return self._post(url, body, content_type, retry_num, retry_reason)

    def _post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        retry_num: int | None,
        retry_reason: str | None,
    ) -> Reply:
        self._last = (url, body, content_type)
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        headers.update(self.sign(body))
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return self.post_raw(body, headers, url=url)

    def _interact(
        self, payload: dict[str, Any], retry_num: int | None, retry_reason: str | None
    ) -> Reply:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self._post(
            self.interactivity_url,
            body,
            "application/x-www-form-urlencoded",
            retry_num,
            retry_reason,
        )

    # ------------------------------------------------------------------ payload pieces

    def _user(self, user_id: str) -> dict[str, Any]:
        with self.sandbox._lock:
            user = self.sandbox.users.get(user_id)
            if user is None:
                raise KeyError(f"unknown user {user_id}: add it first with sandbox.add_user()")
            return copy.deepcopy(user)

    def _user_ref(self, user_id: str) -> dict[str, Any]:
        user = self._user(user_id)
        return {
            "id": user_id,
            "username": user["name"],
            "name": user["name"],
            "team_id": self.team_id,
        }

    def _team(self) -> dict[str, Any]:
        team: dict[str, Any] = {"id": self.team_id, "domain": self.sandbox.team_domain}
        if self.sandbox.enterprise_id:
            team["enterprise_id"] = self.sandbox.enterprise_id
            team["enterprise_name"] = self.sandbox.team_name
        return team

    def _enterprise(self) -> dict[str, Any] | None:
        eid = self.sandbox.enterprise_id
        return {"id": eid, "name": self.sandbox.team_name} if eid else None

    def _channel_name(self, channel_id: str) -> str:
        with self.sandbox._lock:
            ch = self.sandbox.channels.get(channel_id)
            if ch is None:
                return channel_id
            if ch["is_im"]:
                return "directmessage"
            if ch["is_private"] and not ch["is_mpim"]:
                return "privategroup"
            return ch.get("name") or channel_id

    def _base(self, kind: str, user_id: str) -> dict[str, Any]:
        return {
            "type": kind,
            "team": self._team(),
            "user": self._user_ref(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "is_enterprise_install": False,
            "enterprise": self._enterprise(),
        }

    def _trigger(self, user_id: str) -> str:
        self.last_trigger_id = self.sandbox.new_trigger_id(user_id)
        return self.last_trigger_id

    @staticmethod
    def _public_message(message: dict[str, Any]) -> dict[str, Any]:
        return {
            k: copy.deepcopy(v)
            for k, v in message.items()
            if k != "channel" and v is not None and not (k == "files" and not v)
        }

    # ------------------------------------------------------------------ slash commands

    def command(
        self,
        user_id: str,
        text: str = "",
        command: str = "/journey",
        channel_id: str | None = None,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply:
        """Send a slash command as Slack does (form-encoded).

        ``channel_id`` defaults to the bot's DM with the user.  A non-empty 200 answer is
        shown like Slack shows it: ephemeral to the user, or posted in the channel for
        ``response_type: in_channel``.
        """
        prepared = self.prepare_command(user_id, text, command, channel_id)
        reply = self.send_command(prepared, retry_num=retry_num, retry_reason=retry_reason)
        self.show_reply(prepared, reply)
        return reply

    def prepare_command(
        self,
        user_id: str,
        text: str = "",
        command: str = "/journey",
        channel_id: str | None = None,
    ) -> PreparedCommand:
        """What Slack builds for a slash command before sending it (its own work: the form,
        a trigger id, a response URL). ``send_command`` then only signs and POSTs it, which
        is what a load generator times."""
        self._user(user_id)
        if channel_id is None:
            channel_id = self.sandbox.open_dm(user_id)
        form = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.sandbox.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": self._user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.sandbox.new_response_url(channel_id, user_id),
            "trigger_id": self._trigger(user_id),
        }
        if self.sandbox.enterprise_id:
            form["enterprise_id"] = self.sandbox.enterprise_id
            form["enterprise_name"] = self.sandbox.team_name
        return PreparedCommand(user_id, channel_id, urllib.parse.urlencode(form).encode())

    def send_command(
        self,
        prepared: PreparedCommand,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply:
        """Sign and POST a prepared command; the reply is not shown (see ``show_reply``)."""
        return self._post(
            self.commands_url,
            prepared.body,
            "application/x-www-form-urlencoded",
            retry_num,
            retry_reason,
        )

    def show_reply(self, prepared: PreparedCommand, reply: Reply) -> None:
        """Show a command's HTTP answer as Slack does; sets ``reply.slack_error`` if Slack
        would refuse it."""
        if reply.status == 200 and reply.body.strip():
            try:
                data = reply.json()
            except ValueError:
                data = None
            message = data if isinstance(data, dict) else {"text": reply.body}
            try:
                self.sandbox.apply_response(prepared.channel_id, prepared.user_id, message)
            except SlackError as exc:
                reply.slack_error = exc.error
                messages = (exc.extra.get("response_metadata") or {}).get("messages") or []
                if messages:
                    reply.slack_error += ": " + "; ".join(messages)

    # ------------------------------------------------------------------ modals

    def _view_for(self, user_id: str, view_id: str | None) -> dict[str, Any]:
        if view_id is not None:
            with self.sandbox._lock:
                if view_id not in self.sandbox.views:
                    raise LookupError(f"no view {view_id}")
                return copy.deepcopy(self.sandbox.views[view_id])
        view = self.sandbox.top_view(user_id)
        if view is None:
            raise LookupError(f"{user_id} has no open modal")
        return view

    def submit_view(
        self,
        user_id: str,
        values: dict[str, Any] | None = None,
        view_id: str | None = None,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply:
        """Submit the user's top modal (or ``view_id``) with ``values`` keyed by block_id.

        See :func:`build_view_state` for how Python values map to Slack's state.  The
        answer is applied to the sandbox as Slack would: empty 200 -> the view closes;
        ``response_action`` ``update`` (replace it), ``push``, ``clear`` (close all) or
        ``errors`` (the view stays; :attr:`Reply.errors` gets the dict).  Raises
        :class:`~bot.sandbox.server.SandboxError` if the app answers with a view Slack would
        reject (e.g. a 25+ character title).
        """
        view = self._view_for(user_id, view_id)
        state = build_view_state(view, values or {}, include_empty=self.include_empty_inputs)
        self.sandbox.set_view_state(view["id"], state)
        view["state"] = state
        payload = self._base("view_submission", user_id)
        payload.update({"trigger_id": self._trigger(user_id), "view": view, "response_urls": []})
        reply = self._interact(payload, retry_num, retry_reason)
        if reply.status != 200:
            return reply  # Slack shows an error in the modal and keeps it open
        owner = self.sandbox.view_owner(view["id"]) or user_id
        data = reply.json() if reply.body.strip() else None
        action = data.get("response_action") if isinstance(data, dict) else None
        if action is None:
            if self.sandbox.top_view(owner) is not None:
                self.sandbox.pop_view(owner, view["id"])
        elif action == "errors":
            reply.errors = dict(data.get("errors") or {})
        elif action == "update":
            self.sandbox.replace_view(view["id"], data.get("view"))
        elif action == "push":
            self.sandbox.push_view(owner, data.get("view"))
        elif action == "clear":
            self.sandbox.close_views(owner)
        else:
            raise SandboxError("invalid_response_action", [f"unknown response_action {action!r}"])
        return reply

    def close_view(
        self,
        user_id: str,
        view_id: str | None = None,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply | None:
        """The user dismisses their top modal (or ``view_id``).

        The view is removed from the stack; a ``view_closed`` payload is sent only if the
        view has ``notify_on_close`` (otherwise Slack tells the app nothing and this returns
        None).
        """
        view = self._view_for(user_id, view_id)
        owner = self.sandbox.view_owner(view["id"]) or user_id
        self.sandbox.pop_view(owner, view["id"])
        if not view.get("notify_on_close"):
            return None
        payload = self._base("view_closed", user_id)
        payload.update({"view": view, "is_cleared": False})
        return self._interact(payload, retry_num, retry_reason)

    # ------------------------------------------------------------------ block actions

    def _locate(
        self,
        user_id: str,
        action_id: str,
        value: Any,
        block_id: str | None,
        message: dict[str, Any] | None,
        view_id: str | None,
    ) -> tuple[str, dict[str, Any], tuple[dict, dict, dict | None], bool]:
        """Find the container ("view"/"message", its dict, the element match, is_ephemeral)."""
        sb = self.sandbox

        def in_view(view: dict[str, Any] | None) -> Any:
            return view and _find_element(view.get("blocks"), action_id, value, block_id)

        def in_message(msg: dict[str, Any]) -> Any:
            return _find_element(msg.get("blocks"), action_id, value, block_id)

        if view_id is not None:
            view = self._view_for(user_id, view_id)
            found = in_view(view)
            if not found:
                raise LookupError(f"no element {action_id!r} (value={value!r}) in view {view_id}")
            return "view", view, found, False
        if message is not None:
            channel, ts = message.get("channel"), message.get("ts")
            if not channel or not ts:
                raise ValueError("message must carry 'channel' and 'ts' (as sb.messages() gives)")
            current = next((m for m in sb.messages(channel) if m["ts"] == ts), None)
            is_ephemeral = False
            if current is None:
                current = next((e for e in sb.ephemerals(channel) if e["ts"] == ts), None)
                is_ephemeral = current is not None
            current = current or {**message}
            found = in_message(current)
            if not found:
                raise LookupError(f"no element {action_id!r} (value={value!r}) in message {ts}")
            return "message", current, found, is_ephemeral
        for view in (sb.top_view(user_id), sb.home(user_id)):
            found = in_view(view)
            if found:
                return "view", view, found, False  # type: ignore[return-value]
        for eph in reversed(sb.ephemerals(user_id=user_id)):
            found = in_message(eph)
            if found:
                return "message", eph, found, True
        for msg in reversed(sb.all_messages()):
            found = in_message(msg)
            if found:
                return "message", msg, found, False
        raise LookupError(
            f"no element with action_id {action_id!r} (value={value!r}) in {user_id}'s modal, "
            "home tab or any message"
        )

    def click(
        self,
        user_id: str,
        action_id: str,
        value: Any = None,
        *,
        message: dict[str, Any] | None = None,
        view_id: str | None = None,
        block_id: str | None = None,
        selected_option: Any = None,
        selected_user: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        **action_fields: Any,
    ) -> Reply:
        """Interact with a block element: a ``block_actions`` payload.

        The element is found by ``action_id`` (and ``value``: a button's value or an option
        value; and ``block_id`` if given) in ``message`` (a dict from ``sb.messages()`` /
        ``sb.ephemerals()``, needs ``channel`` and ``ts``), in view ``view_id``, or -- when
        neither is given -- in the user's top modal, home tab, ephemerals, then messages
        (newest first).  For selects, ``selected_option`` (a value or option dict) or
        ``value`` picks the option; ``selected_user`` for users selects.  Other action fields
        (``selected_options=[values]``, ``selected_date``, ``selected_users``, ...) can be
        passed as keywords.
        """
        kind, container, (block, el, matched), is_ephemeral = self._locate(
            user_id, action_id, value, block_id, message, view_id
        )
        etype = el.get("type", "")
        action: dict[str, Any] = {
            "type": etype,
            "action_id": action_id,
            "block_id": block.get("block_id"),
            "action_ts": f"{time.time():.6f}",
        }
        if etype == "button":
            action["text"] = copy.deepcopy(el.get("text"))
            for key in ("value", "style", "url"):
                if key in el:
                    action[key] = el[key]
        elif _STATE_FIELDS.get(etype, ("",))[0] == "selected_option":
            wanted = selected_option if selected_option is not None else matched or value
            if wanted is None:
                raise ValueError(f"pass selected_option (an option value) to click {etype}")
            action["selected_option"] = _option(el, wanted)
        elif etype == "users_select":
            action["selected_user"] = selected_user or value
        if "placeholder" in el:
            action["placeholder"] = copy.deepcopy(el["placeholder"])
        if "selected_options" in action_fields:
            action_fields["selected_options"] = [
                _option(el, v) for v in action_fields["selected_options"]
            ]
        action.update(action_fields)

        payload = self._base("block_actions", user_id)
        payload["trigger_id"] = self._trigger(user_id)
        payload["actions"] = [action]
        if kind == "view":
            payload["container"] = {"type": "view", "view_id": container["id"]}
            payload["view"] = container
        else:
            channel_id = container["channel"]
            payload["container"] = _clean_dict(
                {
                    "type": "message",
                    "message_ts": container["ts"],
                    "channel_id": channel_id,
                    "is_ephemeral": is_ephemeral,
                    "thread_ts": container.get("thread_ts"),
                }
            )
            payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
            if not is_ephemeral:
                payload["message"] = self._public_message(container)
            payload["state"] = {"values": {}}
            payload["response_url"] = self.sandbox.new_response_url(
                channel_id, user_id, container["ts"], is_ephemeral=is_ephemeral
            )
        return self._interact(payload, retry_num, retry_reason)

    # ------------------------------------------------------------------ shortcuts

    def message_shortcut(
        self,
        user_id: str,
        callback_id: str,
        message: dict[str, Any],
        channel_id: str | None = None,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply:
        """A message shortcut (``message_action``) on ``message`` (from ``sb.messages()``)."""
        channel_id = channel_id or message.get("channel")
        if not channel_id:
            raise ValueError("channel_id is required when the message has no 'channel'")
        payload = self._base("message_action", user_id)
        payload.update(
            {
                "action_ts": f"{time.time():.6f}",
                "callback_id": callback_id,
                "trigger_id": self._trigger(user_id),
                "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
                "message_ts": message.get("ts"),
                "message": self._public_message(message),
                "response_url": self.sandbox.new_response_url(
                    channel_id, user_id, message.get("ts")
                ),
            }
        )
        return self._interact(payload, retry_num, retry_reason)

    def global_shortcut(
        self,
        user_id: str,
        callback_id: str,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply:
        """A global shortcut (``shortcut``) from the user."""
        payload = self._base("shortcut", user_id)
        payload.update(
            {
                "action_ts": f"{time.time():.6f}",
                "callback_id": callback_id,
                "trigger_id": self._trigger(user_id),
            }
        )
        return self._interact(payload, retry_num, retry_reason)

    # ------------------------------------------------------------------ events

    def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply:
        """Deliver an Events API ``event_callback`` wrapping ``event`` (JSON body).

        ``event_ts`` is added if missing; ``event_id`` defaults to a fresh ``Ev...`` id (pass
        the same one with ``retry_num`` to simulate a redelivery).
        """
        self._event_seq += 1
        now = time.time()
        event = {**event}
        event.setdefault("event_ts", f"{now:.6f}")
        envelope = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "enterprise_id": self.sandbox.enterprise_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{int(now)}{self._event_seq:06d}",
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": self.sandbox.enterprise_id,
                    "team_id": self.team_id,
                    "user_id": self.sandbox.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-sandbox-{self._event_seq}",
        }
        body = json.dumps(envelope).encode()
        return self._post(self.events_url, body, "application/json", retry_num, retry_reason)

    def app_home_opened(self, user_id: str, tab: str = "home", **kwargs: Any) -> Reply:
        """Convenience: the user opens the app's Home (or Messages) tab."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.sandbox.open_dm(user_id),
            "tab": tab,
        }
        home = self.sandbox.home(user_id)
        if tab == "home" and home is not None:
            event["view"] = home
        return self.event(event, **kwargs)

    def user_message(
        self,
        user_id: str,
        text: str,
        channel_id: str | None = None,
        thread_ts: str | None = None,
        **kwargs: Any,
    ) -> Reply:
        """Convenience: the user writes ``text`` (recorded in the sandbox) -> ``message`` event.

        ``channel_id`` defaults to the user's DM with the bot.
        """
        msg = self.sandbox.post_user_message(
            channel_id or user_id, user_id, text, thread_ts=thread_ts
        )
        channel = self.sandbox.channels[msg["channel"]]
        channel_type = (
            "im"
            if channel["is_im"]
            else "mpim"
            if channel["is_mpim"]
            else "group"
            if channel["is_private"]
            else "channel"
        )
        event = {
            "type": "message",
            "channel": msg["channel"],
            "user": user_id,
            "text": text,
            "ts": msg["ts"],
            "event_ts": msg["ts"],
            "channel_type": channel_type,
            "team": self.team_id,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **kwargs)


def _clean_dict(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
