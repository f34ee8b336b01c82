"""A fake Slack Web API served over real HTTP on 127.0.0.1.

:class:`SlackSandbox` is an offline stand-in for ``https://slack.com/api/``.  Point a
``slack_sdk.WebClient`` at :attr:`SlackSandbox.api_url` and the app talks to it exactly as
it would talk to Slack: same HTTP requests, same response shapes, same error codes for the
limits Slack enforces (block counts, text lengths, modal stack depth, trigger expiry, rate
limits...).  The sandbox keeps the resulting workspace state (users, channels, messages,
ephemeral messages, modal stacks, home tabs, uploaded files) so tests and ``journeybot demo``
can inspect what the app did, and it records every call in :attr:`SlackSandbox.calls`.

Typical use::

    with SlackSandbox() as sb:
        sb.add_user("U1", "ada", real_name="Ada Lovelace")
        client = WebClient(token="xoxb-sandbox", base_url=sb.api_url)
        client.chat_postMessage(channel="U1", text="hello")
        assert sb.dms("U1")[0]["text"] == "hello"

Besides ``/api/<method>`` the server answers two other kinds of URL that Slack hands out:

* ``/upload/<file_id>`` -- the ``upload_url`` returned by ``files.getUploadURLExternal``
  (step 2 of ``WebClient.files_upload_v2``);
* ``/response/<id>`` -- ``response_url`` values created by :meth:`SlackSandbox.new_response_url`
  (used by :class:`bot.sandbox.driver.SlackDriver` in slash-command and interactivity
  payloads), so ``respond(...)`` in a Bolt listener works offline too.

Everything here is standard library only; all state is guarded by one re-entrant lock, and
every public inspection method returns deep copies (except the documented live dicts
:attr:`~SlackSandbox.views`, :attr:`~SlackSandbox.files`, :attr:`~SlackSandbox.users` and
:attr:`~SlackSandbox.channels`, which must be treated as read-only).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import email.parser
import email.policy
import json
import logging
import math
import mimetypes
import re
import secrets
import threading
import time
import traceback
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "Call",
    "DEFAULT_RATE_LIMITS",
    "SandboxError",
    "SlackSandbox",
    "validate_blocks",
    "validate_view",
]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Limits (as documented by Slack)
# ---------------------------------------------------------------------------------------------

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON = 24
MAX_PRIVATE_METADATA = 3000
MAX_ID_LENGTH = 255  # block_id, action_id, callback_id, external_id
MAX_SELECT_OPTIONS = 100
MAX_RADIO_CHECKBOX_OPTIONS = 10
MAX_OVERFLOW_OPTIONS = 5
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_VIEW_STACK = 3
MAX_CHANNEL_NAME = 80
MAX_INVITE_USERS = 1000
TRIGGER_TTL_SECONDS = 3.0

#: Arguments that Slack expects as JSON; slack_sdk sends them either inside a JSON body or as
#: JSON-encoded strings inside form fields.  They are always decoded back to Python objects.
JSON_ARGS = frozenset(
    {"blocks", "attachments", "view", "files", "metadata", "unfurls", "user_auth_blocks"}
)

# ---------------------------------------------------------------------------------------------
# Block Kit validation
# ---------------------------------------------------------------------------------------------

_BLOCK_TYPES = frozenset(
    {
        "actions",
        "call",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
_SELECTS_WITHOUT_OPTIONS = frozenset(
    {
        "external_select",
        "multi_external_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "multi_conversations_select",
        "channels_select",
        "multi_channels_select",
    }
)
_INPUT_ELEMENTS = frozenset(
    {
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "static_select",
        "multi_static_select",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "rich_text_input",
        "file_input",
    }
    | _SELECTS_WITHOUT_OPTIONS
)
_ACTION_ELEMENTS = frozenset(
    {
        "button",
        "overflow",
        "static_select",
        "multi_static_select",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "workflow_button",
        "rich_text_input",
    }
    | _SELECTS_WITHOUT_OPTIONS
)
_ACCESSORY_ELEMENTS = frozenset(
    {
        "button",
        "overflow",
        "static_select",
        "multi_static_select",
        "datepicker",
        "timepicker",
        "checkboxes",
        "radio_buttons",
        "image",
        "workflow_button",
    }
    | _SELECTS_WITHOUT_OPTIONS
)
_SURFACE_BLOCK_LIMITS = {
    "message": MAX_MESSAGE_BLOCKS,
    "modal": MAX_VIEW_BLOCKS,
    "home": MAX_VIEW_BLOCKS,
    "view": MAX_VIEW_BLOCKS,
}


def _too_long(max_len: int, ptr: str) -> str:
    return f"[ERROR] must be less than {max_len + 1} characters [json-pointer:{ptr}]"


def _too_many(max_items: int, ptr: str) -> str:
    return f"[ERROR] must provide an array with no more than {max_items} items [json-pointer:{ptr}]"


def _missing(field: str, ptr: str) -> str:
    return f"[ERROR] missing required field: {field} [json-pointer:{ptr}]"


def _check_str(
    parent: dict, key: str, ptr: str, errors: list[str], max_len: int, *, required: bool = False
) -> None:
    value = parent.get(key)
    if value is None:
        if required:
            errors.append(_missing(key, ptr))
        return
    if not isinstance(value, str):
        errors.append(f"[ERROR] must be a string [json-pointer:{ptr}/{key}]")
    elif len(value) > max_len:
        errors.append(_too_long(max_len, f"{ptr}/{key}"))


def _check_text(
    parent: dict,
    key: str,
    ptr: str,
    errors: list[str],
    max_len: int,
    *,
    plain_only: bool = False,
    required: bool = False,
) -> None:
    """Validate a composition text object ``parent[key]`` (``plain_text`` / ``mrkdwn``)."""
    obj = parent.get(key)
    p = f"{ptr}/{key}"
    if obj is None:
        if required:
            errors.append(_missing(key, ptr))
        return
    if not isinstance(obj, dict):
        errors.append(f"[ERROR] must be an object [json-pointer:{p}]")
        return
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        errors.append(
            f"[ERROR] must be one of the following: {', '.join(allowed)} [json-pointer:{p}/type]"
        )
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(_missing("text", p))
    elif not text:
        errors.append(f"[ERROR] must be more than 0 characters [json-pointer:{p}/text]")
    elif len(text) > max_len:
        errors.append(_too_long(max_len, f"{p}/text"))


def _check_option(option: Any, ptr: str, errors: list[str]) -> str | None:
    """Validate one option object; return its value (or None)."""
    if not isinstance(option, dict):
        errors.append(f"[ERROR] must be an object [json-pointer:{ptr}]")
        return None
    _check_text(option, "text", ptr, errors, MAX_OPTION_TEXT, required=True)
    _check_str(option, "value", ptr, errors, MAX_OPTION_VALUE)
    _check_text(option, "description", ptr, errors, MAX_OPTION_TEXT)
    _check_str(option, "url", ptr, errors, 3000)
    value = option.get("value")
    return value if isinstance(value, str) else None


def _check_option_list(
    options: Any, ptr: str, errors: list[str], max_items: int, min_items: int = 1
) -> list[str]:
    if not isinstance(options, list):
        errors.append(f"[ERROR] must be an array [json-pointer:{ptr}]")
        return []
    if len(options) > max_items:
        errors.append(_too_many(max_items, ptr))
    if len(options) < min_items:
        errors.append(
            f"[ERROR] must provide an array with at least {min_items} items [json-pointer:{ptr}]"
        )
    values = []
    for i, option in enumerate(options):
        value = _check_option(option, f"{ptr}/{i}", errors)
        if value is not None:
            values.append(value)
    return values


def _check_initial_options(el: dict, ptr: str, errors: list[str], values: list[str]) -> None:
    """Slack rejects an ``initial_option(s)`` that is not one of the element's options."""
    known = set(values)
    initial = el.get("initial_option")
    if isinstance(initial, dict) and initial.get("value") not in known:
        errors.append(
            f"[ERROR] initial_option must match one of the options [json-pointer:{ptr}/initial_option]"
        )
    initials = el.get("initial_options")
    if isinstance(initials, list):
        for i, opt in enumerate(initials):
            if not isinstance(opt, dict) or opt.get("value") not in known:
                errors.append(
                    "[ERROR] initial_options must match the options "
                    f"[json-pointer:{ptr}/initial_options/{i}]"
                )


def _check_element(el: Any, ptr: str, errors: list[str], allowed: frozenset[str]) -> None:
    """Validate an interactive (or image) element found at ``ptr``."""
    if not isinstance(el, dict):
        errors.append(f"[ERROR] must be an object [json-pointer:{ptr}]")
        return
    etype = el.get("type")
    if not etype:
        errors.append(_missing("type", ptr))
        return
    if etype not in allowed:
        errors.append(f"[ERROR] unsupported type: {etype} [json-pointer:{ptr}/type]")
        return
    _check_str(el, "action_id", ptr, errors, MAX_ID_LENGTH)
    _check_text(el, "placeholder", ptr, errors, 150, plain_only=True)
    if etype == "button":
        _check_text(el, "text", ptr, errors, 75, plain_only=True, required=True)
        _check_str(el, "value", ptr, errors, 2000)
        _check_str(el, "url", ptr, errors, 3000)
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(
                f"[ERROR] must be one of the following: primary, danger [json-pointer:{ptr}/style]"
            )
    elif etype in ("static_select", "multi_static_select"):
        values: list[str] = []
        if "options" in el:
            values += _check_option_list(
                el["options"], f"{ptr}/options", errors, MAX_SELECT_OPTIONS
            )
        groups = el.get("option_groups")
        if groups is not None:
            gptr = f"{ptr}/option_groups"
            if not isinstance(groups, list):
                errors.append(f"[ERROR] must be an array [json-pointer:{gptr}]")
                groups = []
            elif len(groups) > MAX_SELECT_OPTIONS:
                errors.append(_too_many(MAX_SELECT_OPTIONS, gptr))
            for i, group in enumerate(groups):
                if not isinstance(group, dict):
                    errors.append(f"[ERROR] must be an object [json-pointer:{gptr}/{i}]")
                    continue
                _check_text(
                    group, "label", f"{gptr}/{i}", errors, 75, plain_only=True, required=True
                )
                values += _check_option_list(
                    group.get("options"), f"{gptr}/{i}/options", errors, MAX_SELECT_OPTIONS
                )
        if "options" not in el and groups is None:
            errors.append(_missing("options", ptr))
        _check_initial_options(el, ptr, errors, values)
    elif etype in ("radio_buttons", "checkboxes"):
        if "options" not in el:
            errors.append(_missing("options", ptr))
        else:
            values = _check_option_list(
                el["options"], f"{ptr}/options", errors, MAX_RADIO_CHECKBOX_OPTIONS
            )
            _check_initial_options(el, ptr, errors, values)
    elif etype == "overflow":
        if "options" not in el:
            errors.append(_missing("options", ptr))
        else:
            _check_option_list(el["options"], f"{ptr}/options", errors, MAX_OVERFLOW_OPTIONS)
    elif etype == "plain_text_input":
        _check_str(el, "initial_value", ptr, errors, 3000)
        for key in ("min_length", "max_length"):
            value = el.get(key)
            if value is not None and (not isinstance(value, int) or not 0 <= value <= 3000):
                errors.append(f"[ERROR] must be between 0 and 3000 [json-pointer:{ptr}/{key}]")
    elif etype == "image":
        if "image_url" not in el and "slack_file" not in el:
            errors.append(_missing("image_url", ptr))
        _check_str(el, "image_url", ptr, errors, 3000)
        _check_str(el, "alt_text", ptr, errors, 2000, required=True)
    elif etype == "datepicker":
        initial = el.get("initial_date")
        if initial is not None and not (
            isinstance(initial, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", initial)
        ):
            errors.append(f"[ERROR] must match YYYY-MM-DD [json-pointer:{ptr}/initial_date]")
    elif etype == "timepicker":
        initial = el.get("initial_time")
        if initial is not None and not (
            isinstance(initial, str) and re.fullmatch(r"\d{2}:\d{2}", initial)
        ):
            errors.append(f"[ERROR] must match HH:mm [json-pointer:{ptr}/initial_time]")


def _check_block(block: dict, btype: str, ptr: str, errors: list[str]) -> None:
    if btype == "section":
        if "text" not in block and "fields" not in block:
            errors.append(f"[ERROR] must provide either text or fields [json-pointer:{ptr}]")
        _check_text(block, "text", ptr, errors, MAX_SECTION_TEXT)
        fields = block.get("fields")
        if fields is not None:
            fptr = f"{ptr}/fields"
            if not isinstance(fields, list):
                errors.append(f"[ERROR] must be an array [json-pointer:{fptr}]")
            else:
                if len(fields) > MAX_SECTION_FIELDS:
                    errors.append(_too_many(MAX_SECTION_FIELDS, fptr))
                for i, item in enumerate(fields):
                    _check_text(
                        {str(i): item}, str(i), fptr, errors, MAX_SECTION_FIELD_TEXT, required=True
                    )
        if "accessory" in block:
            _check_element(block["accessory"], f"{ptr}/accessory", errors, _ACCESSORY_ELEMENTS)
    elif btype == "header":
        _check_text(block, "text", ptr, errors, MAX_HEADER_TEXT, plain_only=True, required=True)
    elif btype in ("actions", "context"):
        limit = 25 if btype == "actions" else 10
        elements = block.get("elements")
        eptr = f"{ptr}/elements"
        if not isinstance(elements, list):
            errors.append(_missing("elements", ptr))
            return
        if len(elements) > limit:
            errors.append(_too_many(limit, eptr))
        if not elements:
            errors.append(
                f"[ERROR] must provide an array with at least 1 items [json-pointer:{eptr}]"
            )
        for i, el in enumerate(elements):
            if btype == "actions":
                _check_element(el, f"{eptr}/{i}", errors, _ACTION_ELEMENTS)
            elif isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                _check_text({str(i): el}, str(i), eptr, errors, 3000)
            else:
                _check_element(el, f"{eptr}/{i}", errors, frozenset({"image"}))
    elif btype == "input":
        _check_text(block, "label", ptr, errors, 2000, plain_only=True, required=True)
        _check_text(block, "hint", ptr, errors, 2000, plain_only=True)
        if "element" not in block:
            errors.append(_missing("element", ptr))
        else:
            _check_element(block["element"], f"{ptr}/element", errors, _INPUT_ELEMENTS)
    elif btype == "image":
        _check_element({**block, "type": "image"}, ptr, errors, frozenset({"image"}))
        _check_text(block, "title", ptr, errors, 2000, plain_only=True)
    elif btype == "markdown":
        _check_str(block, "text", ptr, errors, 12_000, required=True)


def validate_blocks(
    blocks: Any, *, surface: str = "message", pointer: str = "/blocks"
) -> list[str]:
    """Check ``blocks`` against the Block Kit limits Slack enforces.

    Args:
        blocks: the blocks array as it would be sent to Slack (already JSON-decoded).
        surface: ``"message"`` (max 50 blocks), ``"modal"`` or ``"home"`` (max 100 blocks).
        pointer: JSON pointer of the array, used in the messages (``/view/blocks`` for views).

    Returns:
        A list of human readable problems in Slack's own format, e.g.
        ``"[ERROR] must provide an array with no more than 50 items [json-pointer:/blocks]"``.
        An empty list means Slack would accept the blocks (as far as the sandbox knows).
        Covered: block counts, missing ``type``, unknown block types, ``block_id`` /
        ``action_id`` length and ``block_id`` uniqueness, section text (3000) / fields (10 x
        2000), header text (150), option counts (100 for static selects, 10 for radio buttons
        and checkboxes, 5 for overflow menus), option text (75) / value (150), button text
        (75), placeholders (150), input labels and elements, initial options that are not
        among the options.
    """
    if surface not in _SURFACE_BLOCK_LIMITS:
        raise ValueError(f"unknown surface {surface!r}; expected message, modal or home")
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{pointer}]"]
    errors: list[str] = []
    limit = _SURFACE_BLOCK_LIMITS[surface]
    if len(blocks) > limit:
        errors.append(_too_many(limit, pointer))
    seen_block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        ptr = f"{pointer}/{i}"
        if not isinstance(block, dict):
            errors.append(f"[ERROR] must be an object [json-pointer:{ptr}]")
            continue
        btype = block.get("type")
        if not btype:
            errors.append(_missing("type", ptr))
            continue
        if btype not in _BLOCK_TYPES:
            errors.append(f"[ERROR] unsupported type: {btype} [json-pointer:{ptr}/type]")
            continue
        _check_str(block, "block_id", ptr, errors, MAX_ID_LENGTH)
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen_block_ids:
                errors.append(
                    f"[ERROR] duplicate block_id {block_id!r}: block_id must be unique "
                    f"[json-pointer:{ptr}/block_id]"
                )
            seen_block_ids.add(block_id)
        _check_block(block, btype, ptr, errors)
    return errors


def validate_view(view: Any, *, pointer: str = "/view") -> list[str]:
    """Check a view payload (modal or home tab) the way ``views.*`` methods do.

    Returns Slack-style problem messages (empty list = valid).  Covered: missing/unknown
    ``type``, modal ``title`` (required, <= 24 chars), ``submit`` / ``close`` (<= 24 chars),
    ``submit`` required when the modal has input blocks, ``private_metadata`` (<= 3000),
    ``callback_id`` / ``external_id`` (<= 255), plus :func:`validate_blocks` on ``blocks``
    with the 100-block view limit.
    """
    if not isinstance(view, dict):
        return [f"[ERROR] must be an object [json-pointer:{pointer}]"]
    errors: list[str] = []
    vtype = view.get("type")
    if not vtype:
        errors.append(_missing("type", pointer))
    elif vtype not in ("modal", "home"):
        errors.append(
            f"[ERROR] must be one of the following: modal, home [json-pointer:{pointer}/type]"
        )
    if vtype == "modal":
        _check_text(view, "title", pointer, errors, MAX_MODAL_TITLE, plain_only=True, required=True)
        _check_text(view, "submit", pointer, errors, MAX_MODAL_BUTTON, plain_only=True)
        _check_text(view, "close", pointer, errors, MAX_MODAL_BUTTON, plain_only=True)
    _check_str(view, "private_metadata", pointer, errors, MAX_PRIVATE_METADATA)
    _check_str(view, "callback_id", pointer, errors, MAX_ID_LENGTH)
    _check_str(view, "external_id", pointer, errors, MAX_ID_LENGTH)
    blocks = view.get("blocks")
    if blocks is None:
        errors.append(_missing("blocks", pointer))
    else:
        errors += validate_blocks(
            blocks, surface="home" if vtype == "home" else "modal", pointer=f"{pointer}/blocks"
        )
        if (
            vtype == "modal"
            and "submit" not in view
            and isinstance(blocks, list)
            and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        ):
            errors.append(
                "[ERROR] must provide submit when the view contains input blocks "
                f"[json-pointer:{pointer}/submit]"
            )
    return errors


# ---------------------------------------------------------------------------------------------
# Records, errors, rate limits
# ---------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request received by the sandbox.

    Attributes:
        method: Web API method (``"chat.postMessage"``), or ``"upload"`` for the raw bytes
            POSTed to an upload URL, or ``"response_url"`` for a POST to a response URL.
        args: decoded arguments (JSON-typed args such as ``blocks``/``view``/``files`` parsed
            back to Python objects; the token is never recorded).
        response: the JSON body sent back (a dict).  For ``upload`` the HTTP body is text
            (``"OK - <length>"``); it is recorded as ``{"ok": true, "text": "OK - <length>"}``
            so every recorded response can be read the same way.
        status: HTTP status (200, or 429 when rate limited, 404 for unknown URLs).
        at: when the call was received (timezone-aware UTC datetime).
    """

    method: str
    args: dict[str, Any]
    response: dict[str, Any]
    status: int
    at: datetime

    @property
    def ok(self) -> bool:
        """True when the call succeeded (HTTP 200 and ``ok: true`` for API methods)."""
        return self.status == 200 and bool(self.response.get("ok", True))


class SlackError(Exception):
    """Raised inside API handlers; becomes ``{"ok": false, "error": ..., **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class SandboxError(Exception):
    """Raised by Slack-side helpers (used by the driver) when Slack would reject something,
    e.g. a ``response_action: update`` carrying an invalid view.  ``messages`` holds the
    Slack-style problem list when there is one."""

    def __init__(self, error: str, messages: Iterable[str] = ()) -> None:
        self.error = error
        self.messages = list(messages)
        detail = "; ".join(self.messages)
        super().__init__(f"{error}: {detail}" if detail else error)


_TIER_1 = (1, 60.0)
_TIER_2 = (20, 60.0)
_TIER_3 = (50, 60.0)
_TIER_4 = (100, 60.0)
_SPECIAL_HIGH = (600, 60.0)

#: ``(max requests, window seconds)`` per method, from Slack's rate limit tiers.  The window
#: is a sliding window; ``chat.postMessage`` is keyed per channel ("1 per second per channel,
#: short bursts allowed" -- modelled as 5 per 5 seconds).  Methods not listed use Tier 3.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {
    "auth.test": _SPECIAL_HIGH,
    "team.info": _TIER_3,
    "chat.postMessage": (5, 5.0),
    "chat.update": _TIER_3,
    "chat.delete": _TIER_3,
    "chat.postEphemeral": _TIER_4,
    "chat.getPermalink": _SPECIAL_HIGH,
    "views.open": _TIER_4,
    "views.push": _TIER_4,
    "views.update": _TIER_4,
    "views.publish": _TIER_4,
    "conversations.create": _TIER_2,
    "conversations.invite": _TIER_3,
    "conversations.info": _TIER_3,
    "conversations.members": _TIER_4,
    "conversations.join": _TIER_3,
    "conversations.open": _TIER_3,
    "conversations.list": _TIER_2,
    "conversations.history": _TIER_3,
    "conversations.replies": _TIER_3,
    "conversations.setTopic": _TIER_2,
    "conversations.setPurpose": _TIER_2,
    "conversations.archive": _TIER_2,
    "users.info": _TIER_4,
    "users.list": _TIER_2,
    "users.lookupByEmail": _TIER_3,
    "files.getUploadURLExternal": _TIER_4,
    "files.completeUploadExternal": _TIER_4,
    "files.info": _TIER_4,
    "reactions.add": _TIER_3,
}
TIERS = {1: _TIER_1, 2: _TIER_2, 3: _TIER_3, 4: _TIER_4}

#: Scope reported in ``needed`` when a ``missing_scope`` failure is injected without one.
_SCOPES = {
    "chat.": "chat:write",
    "conversations.create": "channels:manage",
    "conversations.invite": "channels:manage",
    "conversations.setTopic": "channels:manage",
    "conversations.setPurpose": "channels:manage",
    "conversations.archive": "channels:manage",
    "conversations.join": "channels:join",
    "conversations.open": "im:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "conversations.": "channels:read",
    "users.lookupByEmail": "users:read.email",
    "users.": "users:read",
    "files.": "files:write",
    "reactions.": "reactions:write",
    "team.": "team:read",
}


def _scope_for(method: str) -> str:
    for prefix, scope in _SCOPES.items():
        if method == prefix or (prefix.endswith(".") and method.startswith(prefix)):
            return scope
    return "unknown"


class _SlidingWindow:
    """Sliding-window counter per key (not locked: the sandbox lock guards it)."""

    def __init__(self) -> None:
        self._hits: dict[Any, deque[float]] = {}

    def hit(self, key: Any, limit: int, window: float, now: float) -> float:
        """Register a request; return 0 if allowed, else seconds until a slot frees up."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return hits[0] + window - now
        hits.append(now)
        return 0.0

    def clear(self) -> None:
        self._hits.clear()


@dataclass
class _Fault:
    error: str
    extra: dict[str, Any]
    status: int
    retry_after: int


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_CHANNEL_NAME_RE = re.compile(r"[a-z0-9_\-]+")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _int_arg(args: dict, key: str, default: int) -> int:
    value = args.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": [f"[ERROR] {key} must be an integer"]},
        ) from None


def _split_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _paginate(
    items: list, args: dict, default_limit: int = 100, max_limit: int = 1000
) -> tuple[list, dict]:
    """Slack-style cursor pagination; returns (page, response_metadata)."""
    limit = _int_arg(args, "limit", 0) or default_limit
    limit = max(1, min(limit, max_limit))
    cursor = args.get("cursor") or ""
    start = 0
    if cursor:
        try:
            kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
            start = int(offset)
            if kind != "offset" or start < 0:
                raise ValueError(cursor)
        except (ValueError, UnicodeDecodeError):
            raise SlackError("invalid_cursor") from None
    end = start + limit
    return items[start:end], {"next_cursor": _encode_cursor(end) if end < len(items) else ""}


def _tz_info(tz: str) -> tuple[int, str]:
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(tz)
        now = datetime.now(zone)
        offset = now.utcoffset()
        return int(offset.total_seconds()) if offset else 0, now.tzname() or tz
    except Exception:  # missing tzdata or unknown zone: behave like UTC
        return 0, tz


def _json_default(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return f"<{len(obj)} bytes>"
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return str(obj)


def _clean(d: dict) -> dict:
    """Drop None values (Slack omits absent fields)."""
    return {k: v for k, v in d.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: SlackSandbox


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "SlackSandbox/1.0"

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        self.server.sandbox._handle_http(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("sandbox http: " + format, *args)


def _respond(
    req: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> None:
    req.send_response(status)
    req.send_header("Content-Type", content_type)
    req.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        req.send_header(key, value)
    req.end_headers()
    req.wfile.write(body)


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------


class SlackSandbox:
    """Fake Slack workspace + Web API server.

    Args:
        team_id, team_name: the workspace (``team_domain`` is derived from the name).
        bot_user_id: user id of the app's bot user (added to :attr:`users` automatically).
        enterprise_id: set to simulate an Enterprise Grid org (reported by ``auth.test``).
        rate_limits: enforce :data:`DEFAULT_RATE_LIMITS` (see :meth:`set_rate_limits`).
        port: TCP port on 127.0.0.1; 0 picks a free one.
        log_path: if given, every call is appended there as one JSON object per line.
        bot_id, app_id, bot_name: identity of the app.
        strict_membership: when True the bot must be a member of a channel to post, invite
            or read there (``not_in_channel``; ``channel_not_found`` for private channels),
            as with a bot lacking ``chat:write.public``.  Off by default: the sandbox then
            assumes the bot can reach every channel it is told about.
        trigger_ttl: seconds a trigger_id stays valid (Slack: 3).
    """

    def __init__(
        self,
        team_id: str = "T0SANDBOX",
        team_name: str = "Sandbox",
        bot_user_id: str = "UBOT0001",
        enterprise_id: str | None = None,
        rate_limits: bool = False,
        *,
        port: int = 0,
        log_path: Path | str | None = None,
        bot_id: str = "B0SANDBOX",
        app_id: str = "A0SANDBOX",
        bot_name: str = "journeybot",
        strict_membership: bool = False,
        trigger_ttl: float = TRIGGER_TTL_SECONDS,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = re.sub(r"[^a-z0-9-]", "", team_name.lower()) or "sandbox"
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.bot_name = bot_name
        self.enterprise_id = enterprise_id
        self.strict_membership = strict_membership
        self.trigger_ttl = trigger_ttl
        self.log_path = Path(log_path) if log_path is not None else None

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log_file: Any = None

        #: Every request received, oldest first.
        self.calls: list[Call] = []
        #: user_id -> full user object (live; read-only by convention).
        self.users: dict[str, dict[str, Any]] = {}
        #: channel_id -> channel record (live; read-only by convention).  Keys: id, name (not
        #: for DMs), is_private, is_im, is_mpim, members, creator, created, is_archived,
        #: topic, purpose, and user (DMs only: the human in the bot's DM).
        self.channels: dict[str, dict[str, Any]] = {}
        #: view_id -> view object as Slack returns it (live; read-only by convention).
        self.views: dict[str, dict[str, Any]] = {}
        #: file_id -> file record, including ``content`` (bytes, None until uploaded).
        self.files: dict[str, dict[str, Any]] = {}

        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._view_owner: dict[str, str] = {}
        self._triggers: dict[str, dict[str, Any]] = {}
        self._response_urls: dict[str, dict[str, Any]] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._seq = 0
        self._last_ts_us = 0

        self._rate_enabled = rate_limits
        self._rate_scale = 1.0
        self._rate_overrides: dict[str, tuple[int, float]] = {}
        self._window = _SlidingWindow()

        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "team.info": self._team_info,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.create": self._conversations_create,
            "conversations.invite": self._conversations_invite,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "conversations.list": self._conversations_list,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.setTopic": self._conversations_set_topic,
            "conversations.setPurpose": self._conversations_set_purpose,
            "conversations.archive": self._conversations_archive,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
            "files.upload": self._files_upload_legacy,
            "reactions.add": self._reactions_add,
        }

        self.add_user(bot_user_id, bot_name, real_name=bot_name, is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SlackSandbox:
        """Start serving in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            return self
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self.log_path.open("a", encoding="utf-8")
        self._httpd = _Server(("127.0.0.1", self._port), _Handler)
        self._httpd.sandbox = self
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"slack-sandbox-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server and close the log file (idempotent)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> SlackSandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """TCP port (after :meth:`start`)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._httpd is None:
            raise RuntimeError("SlackSandbox is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``: ``http://127.0.0.1:<port>/api/``."""
        return f"{self.base_url}/api/"

    def client(self, token: str = "xoxb-sandbox", **kwargs: Any) -> Any:
        """Convenience: a ``slack_sdk.WebClient`` pointed at this sandbox."""
        from slack_sdk import WebClient

        return WebClient(token=token, base_url=self.api_url, **kwargs)

    # ------------------------------------------------------------------ configuration

    def set_rate_limits(
        self,
        enabled: bool = True,
        scale: float = 1.0,
        overrides: dict[str, tuple[int, float]] | None = None,
    ) -> None:
        """Turn rate limiting on/off.

        ``scale`` multiplies every allowed rate by shrinking the windows (``scale=60`` turns
        Tier 2's 20/minute into 20/second), so tests can exhaust a limit and watch it recover
        quickly.  ``overrides`` maps a method to ``(max_requests, window_seconds)`` (before
        scaling).  Counters are reset.
        """
        if scale <= 0:
            raise ValueError("scale must be > 0")
        with self._lock:
            self._rate_enabled = enabled
            self._rate_scale = scale
            self._rate_overrides = dict(overrides or {})
            self._window.clear()

    def fail_next(
        self,
        method: str,
        error: str,
        times: int = 1,
        *,
        retry_after: int = 1,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``error``.

        ``extra`` fields are added to the error body (e.g. ``needed="channels:manage"``); for
        ``missing_scope`` a plausible ``needed``/``provided`` pair is filled in if absent.
        ``error="ratelimited"`` answers HTTP 429 with ``Retry-After: retry_after``.  Faults
        are checked after authentication and before rate limits and validation.
        """
        if error == "missing_scope":
            extra.setdefault("needed", _scope_for(method))
            extra.setdefault("provided", "chat:write,commands,users:read")
        if status is None:
            status = 429 if error == "ratelimited" else 200
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            for _ in range(times):
                queue.append(_Fault(error, dict(extra), status, retry_after))

    # ------------------------------------------------------------------ workspace setup

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        locale: str = "en-US",
        tz: str = "Europe/Paris",
        email: str | None = None,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a workspace member; returns a copy of the user object."""
        real_name = real_name if real_name is not None else name
        tz_offset, tz_label = _tz_info(tz)
        profile: dict[str, Any] = {
            "display_name": name,
            "display_name_normalized": name,
            "real_name": real_name,
            "real_name_normalized": real_name,
            "team": self.team_id,
            "image_72": f"https://avatars.invalid/{user_id}_72.png",
        }
        if email is not None:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = self.bot_id if user_id == self.bot_user_id else f"B{user_id}"
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "locale": locale,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "updated": int(time.time()),
            "profile": profile,
        }
        with self._lock:
            self.users[user_id] = user
            return copy.deepcopy(user)

    def add_channel(
        self,
        name: str,
        is_private: bool = False,
        members: Iterable[str] = (),
        channel_id: str | None = None,
    ) -> str:
        """Create a channel directly (no API call, no name checks); returns its id.

        The bot is *not* added unless listed in ``members``.
        """
        with self._lock:
            if channel_id is None:
                channel_id = self._new_id("C")
            elif channel_id in self.channels:
                raise ValueError(f"channel {channel_id} already exists")
            self.channels[channel_id] = self._make_channel(
                channel_id, name, is_private=is_private, creator=None, members=list(members)
            )
            self._messages[channel_id] = []
            return channel_id

    def channel_by_name(self, name: str) -> dict[str, Any] | None:
        """The channel record named ``name`` (leading ``#`` ignored), or None."""
        name = name.lstrip("#")
        with self._lock:
            for ch in self.channels.values():
                if ch.get("name") == name:
                    return copy.deepcopy(ch)
        return None

    def open_dm(self, user_id: str) -> str:
        """Id of the bot's DM channel with ``user_id`` (created if needed)."""
        with self._lock:
            if user_id not in self.users:
                raise KeyError(f"unknown user {user_id}")
            return self._dm_for(user_id)["id"]

    def post_user_message(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        thread_ts: str | None = None,
        blocks: list | None = None,
    ) -> dict[str, Any]:
        """Record a message written by a human (e.g. before sending a ``message`` event).

        ``channel_id`` may be a user id: the message then goes to the bot's DM with that user.
        Returns a copy of the stored message.
        """
        with self._lock:
            channel = self._resolve_channel(channel_id)
            msg = self._store_message(
                channel["id"],
                user=user_id,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                bot=False,
            )
            return copy.deepcopy(msg)

    def new_trigger_id(self, user_id: str) -> str:
        """Issue a single-use trigger_id for ``user_id`` (valid ``trigger_ttl`` seconds)."""
        with self._lock:
            self._seq += 1
            trigger = f"{int(time.time())}.{self._seq}.{secrets.token_hex(10)}"
            self._triggers[trigger] = {"user": user_id, "issued": time.monotonic(), "used": False}
            return trigger

    def new_response_url(
        self,
        channel_id: str,
        user_id: str,
        message_ts: str | None = None,
        *,
        is_ephemeral: bool = False,
    ) -> str:
        """Create a ``response_url`` served by this sandbox.

        POSTing a message JSON to it behaves like Slack: ephemeral to ``user_id`` by default,
        ``response_type: in_channel`` posts in the channel, ``replace_original`` /
        ``delete_original`` act on ``message_ts`` (an ephemeral one if ``is_ephemeral``).
        """
        with self._lock:
            self._seq += 1
            key = f"{self._seq}{secrets.token_hex(8)}"
            self._response_urls[key] = {
                "channel": channel_id,
                "user": user_id,
                "message_ts": message_ts,
                "is_ephemeral": is_ephemeral,
            }
        return f"{self.base_url}/response/{key}"

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def reset_calls(self) -> None:
        """Forget recorded calls (state is kept)."""
        with self._lock:
            self.calls.clear()

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls of ``method`` were recorded; returns them.

        Useful when the app answers before doing its work (``process_before_response=False``).
        Raises ``TimeoutError``.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(found)}/{count} calls to {method}")
                self._changed.wait(remaining)

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages currently in a channel, oldest first (thread replies included).

        Each dict has at least ``channel, ts, user, text, blocks, thread_ts, files`` (``blocks``
        and ``files`` are lists, ``thread_ts`` None for top-level messages) plus ``bot_id``,
        ``attachments``, ``metadata``, ``reactions``, ``edited`` when relevant.
        """
        with self._lock:
            return copy.deepcopy(self._messages.get(channel_id, []))

    def all_messages(self) -> list[dict[str, Any]]:
        """Messages in every channel, oldest first."""
        with self._lock:
            msgs = [m for ms in self._messages.values() for m in ms]
            return copy.deepcopy(sorted(msgs, key=lambda m: float(m["ts"])))

    def ephemerals(
        self, channel_id: str | None = None, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages (``channel, user`` = recipient, ``ts, text, blocks, thread_ts``)."""
        with self._lock:
            return copy.deepcopy(
                [
                    e
                    for e in self._ephemerals
                    if (channel_id is None or e["channel"] == channel_id)
                    and (user_id is None or e["user"] == user_id)
                ]
            )

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        """Messages in the bot's DM with ``user_id`` (empty if there is none)."""
        with self._lock:
            for ch in self.channels.values():
                if ch.get("is_im") and ch.get("user") == user_id:
                    return copy.deepcopy(self._messages.get(ch["id"], []))
        return []

    def view_stack(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modals, root first, top last."""
        with self._lock:
            return copy.deepcopy([self.views[v] for v in self._stacks.get(user_id, [])])

    def top_view(self, user_id: str) -> dict[str, Any] | None:
        """The modal the user currently sees, or None."""
        with self._lock:
            stack = self._stacks.get(user_id) or []
            return copy.deepcopy(self.views[stack[-1]]) if stack else None

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The user's published App Home view, or None."""
        with self._lock:
            view_id = self._homes.get(user_id)
            return copy.deepcopy(self.views[view_id]) if view_id else None

    def view_owner(self, view_id: str) -> str | None:
        """User id the view was opened/published for."""
        with self._lock:
            return self._view_owner.get(view_id)

    # ------------------------------------------------------------------ Slack-side view ops
    # These are what Slack itself does to a user's modals (used by SlackDriver).

    def close_views(self, user_id: str) -> None:
        """Close every modal of the user (``response_action: clear`` / user dismissed)."""
        with self._lock:
            self._stacks.pop(user_id, None)

    def pop_view(self, user_id: str, view_id: str | None = None) -> dict[str, Any] | None:
        """Close the top modal (or ``view_id`` and everything above it); returns it."""
        with self._lock:
            stack = self._stacks.get(user_id) or []
            if not stack:
                return None
            if view_id is not None and view_id not in stack:
                return None
            index = len(stack) - 1 if view_id is None else stack.index(view_id)
            closed = stack[index]
            del stack[index:]
            if not stack:
                self._stacks.pop(user_id, None)
            return copy.deepcopy(self.views[closed])

    def push_view(self, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """Push a modal onto the user's stack (``response_action: push``)."""
        with self._lock:
            self._check_view(view, raise_as=SandboxError)
            return copy.deepcopy(self._push(user_id, view))

    def replace_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """Replace a view's content in place (``response_action: update``)."""
        with self._lock:
            self._check_view(view, raise_as=SandboxError)
            if view_id not in self.views:
                raise SandboxError("not_found", [f"no view {view_id}"])
            return copy.deepcopy(self._replace(view_id, view))

    def set_view_state(self, view_id: str, state: dict[str, Any]) -> None:
        """Store the ``state`` a user entered in a view."""
        with self._lock:
            self.views[view_id]["state"] = copy.deepcopy(state)

    # ------------------------------------------------------------------ internals: ids

    def _new_id(self, prefix: str) -> str:
        while True:
            self._seq += 1
            candidate = f"{prefix}{self._seq:08X}"
            if (
                candidate not in self.channels
                and candidate not in self.users
                and candidate not in self.views
                and candidate not in self.files
            ):
                return candidate

    def _next_ts(self) -> str:
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 100)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    # ------------------------------------------------------------------ internals: HTTP

    def _handle_http(self, req: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        path = parts.path
        if path.startswith("/api/"):
            status, payload, headers = self._handle_api(path[5:], req.headers, body, parts.query)
            _respond(
                req,
                status,
                json.dumps(payload).encode(),
                "application/json; charset=utf-8",
                headers,
            )
        elif path.startswith("/upload/"):
            status, text = self._handle_upload(path[len("/upload/") :], body)
            _respond(req, status, text.encode(), "text/plain; charset=utf-8")
        elif path.startswith("/response/"):
            status, payload = self._handle_response_url(path[len("/response/") :], body)
            _respond(req, status, json.dumps(payload).encode(), "application/json; charset=utf-8")
        else:
            _respond(req, 404, b"not found", "text/plain")

    @staticmethod
    def _decode_args(headers: Any, body: bytes, query: str) -> dict[str, Any]:
        args: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        content_type = headers.get("Content-Type", "") or ""
        mime = content_type.split(";")[0].strip().lower()
        if mime == "application/json":
            try:
                data = json.loads(body.decode("utf-8") or "{}")
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(data, dict):
                raise SlackError("invalid_json")
            args.update(data)
        elif mime == "multipart/form-data":
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():  # type: ignore[attr-defined]
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    args[name] = payload
                else:
                    args[name] = payload.decode("utf-8", "replace")
        elif body:
            args.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        for key in JSON_ARGS:
            value = args.get(key)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                # if it does not parse it is left as a string: handlers answer invalid_*_format
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(value)
        return args

    def _handle_api(
        self, method: str, headers: Any, body: bytes, query: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            args = self._decode_args(headers, body, query)
            decode_error = None
        except SlackError as exc:
            args, decode_error = {}, exc
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        token = token or str(args.get("token") or "")
        args.pop("token", None)
        with self._changed:
            status, response, extra_headers = self._process(method, args, token, decode_error)
            self._record(method, args, response, status)
        return status, response, extra_headers

    def _process(
        self, method: str, args: dict[str, Any], token: str, decode_error: SlackError | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token.startswith("xoxb-invalid") or not token.startswith("xox"):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if decode_error is not None:
            return 200, {"ok": False, "error": decode_error.error}, {}
        faults = self._faults.get(method)
        if faults:
            fault = faults.popleft()
            response = {"ok": False, "error": fault.error, **fault.extra}
            headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
            return fault.status, response, headers
        if self._rate_enabled:
            limit, window = self._rate_overrides.get(method) or DEFAULT_RATE_LIMITS.get(
                method, _TIER_3
            )
            key: Any = method
            if method == "chat.postMessage":
                key = (method, str(args.get("channel", "")))
            wait = self._window.hit(key, limit, window / self._rate_scale, time.monotonic())
            if wait > 0:
                retry_after = str(max(1, math.ceil(wait)))
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after}
        try:
            return 200, {"ok": True, **handler(args)}, {}
        except SlackError as exc:
            return 200, {"ok": False, "error": exc.error, **exc.extra}, {}
        except Exception:  # a sandbox bug: make it visible instead of hanging the client
            logger.exception("sandbox handler for %s crashed", method)
            return (
                200,
                {
                    "ok": False,
                    "error": "internal_error",
                    "sandbox_traceback": traceback.format_exc(),
                },
                {},
            )

    def _record(self, method: str, args: dict[str, Any], response: Any, status: int) -> None:
        call = Call(
            method=method,
            args=copy.deepcopy(args),
            response=copy.deepcopy(response),
            status=status,
            at=datetime.now(timezone.utc),
        )
        self.calls.append(call)
        if self._log_file is not None:
            line = {
                "at": call.at.isoformat(),
                "method": method,
                "args": call.args,
                "status": status,
                "response": call.response,
            }
            self._log_file.write(json.dumps(line, default=_json_default) + "\n")
            self._log_file.flush()
        self._changed.notify_all()

    def _handle_upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        with self._changed:
            record = self.files.get(file_id)
            if record is None:
                status, text = 404, "file not found"
                recorded: dict[str, Any] = {"ok": False, "error": "file_not_found"}
            else:
                record["content"] = body
                record["size"] = len(body)
                status, text = 200, f"OK - {len(body)}"
                recorded = {"ok": True, "text": text}
            self._record("upload", {"file_id": file_id, "length": len(body)}, recorded, status)
            return status, text

    def _handle_response_url(self, key: str, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._changed:
            target = self._response_urls.get(key)
            try:
                payload = json.loads(body.decode("utf-8") or "{}")
            except ValueError:
                payload = None
            if target is None:
                status, response = 404, {"ok": False, "error": "no_active_hooks"}
            elif not isinstance(payload, dict):
                status, response = 400, {"ok": False, "error": "invalid_payload"}
            else:
                try:
                    self.apply_response(
                        target["channel"],
                        target["user"],
                        payload,
                        message_ts=target["message_ts"],
                        is_ephemeral=target["is_ephemeral"],
                    )
                    status, response = 200, {"ok": True}
                except SlackError as exc:
                    status, response = 400, {"ok": False, "error": exc.error, **exc.extra}
            self._record(
                "response_url", payload if isinstance(payload, dict) else {}, response, status
            )
            return status, response

    def apply_response(
        self,
        channel_id: str,
        user_id: str,
        payload: dict[str, Any],
        *,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> None:
        """Apply a message sent through a response_url (or a slash command's HTTP reply).

        Raises :class:`SlackError` (``invalid_blocks``...) if Slack would reject it.
        """
        with self._lock:
            channel = self._resolve_channel(channel_id)
            cid = channel["id"]
            if _truthy(payload.get("delete_original")):
                if message_ts and is_ephemeral:
                    self._ephemerals = [
                        e
                        for e in self._ephemerals
                        if not (e["channel"] == cid and e["ts"] == message_ts)
                    ]
                elif message_ts:
                    self._messages[cid] = [
                        m for m in self._messages.get(cid, []) if m["ts"] != message_ts
                    ]
                return
            self._check_message_content(payload)
            if _truthy(payload.get("replace_original")) and message_ts:
                pool = self._ephemerals if is_ephemeral else self._messages.get(cid, [])
                for msg in pool:
                    if msg["ts"] == message_ts and msg["channel"] == cid:
                        for key in ("text", "blocks", "attachments"):
                            if key in payload:
                                value = payload[key]
                                if key == "blocks" and isinstance(value, list):
                                    value = self._fill_ids(value)
                                msg[key] = copy.deepcopy(value)
                        return
                raise SlackError("message_not_found")
            if payload.get("response_type") == "in_channel":
                self._store_message(
                    cid,
                    user=self.bot_user_id,
                    text=payload.get("text", ""),
                    blocks=payload.get("blocks"),
                    attachments=payload.get("attachments"),
                    thread_ts=payload.get("thread_ts"),
                )
            else:
                self._store_ephemeral(cid, user_id, payload)

    # ------------------------------------------------------------------ internals: state

    def _make_channel(
        self,
        channel_id: str,
        name: str | None,
        *,
        is_private: bool,
        creator: str | None,
        members: list[str],
        is_im: bool = False,
        is_mpim: bool = False,
        user: str | None = None,
    ) -> dict[str, Any]:
        now = int(time.time())
        record: dict[str, Any] = {
            "id": channel_id,
            "name": name,
            "is_private": is_private,
            "is_im": is_im,
            "is_mpim": is_mpim,
            "members": list(dict.fromkeys(members)),
            "creator": creator,
            "created": now,
            "is_archived": False,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "user": user,
        }
        if name is None:  # DMs have no name (as in Slack's IM objects)
            del record["name"]
        if user is None:
            del record["user"]
        return record

    def _channel_object(self, ch: dict[str, Any], *, num_members: bool = False) -> dict[str, Any]:
        if ch["is_im"]:
            obj = {
                "id": ch["id"],
                "created": ch["created"],
                "is_im": True,
                "is_org_shared": False,
                "user": ch["user"],
                "is_user_deleted": False,
                "priority": 0,
                "is_open": True,
            }
            return obj
        obj = {
            "id": ch["id"],
            "name": ch["name"],
            "is_channel": not ch["is_private"] and not ch["is_mpim"],
            "is_group": ch["is_private"] and not ch["is_mpim"],
            "is_im": False,
            "is_mpim": ch["is_mpim"],
            "is_private": ch["is_private"],
            "created": ch["created"],
            "is_archived": ch["is_archived"],
            "is_general": False,
            "unlinked": 0,
            "name_normalized": ch["name"],
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "context_team_id": self.team_id,
            "creator": ch["creator"] or "",
            "is_member": self.bot_user_id in ch["members"],
            "topic": dict(ch["topic"]),
            "purpose": dict(ch["purpose"]),
        }
        if num_members:
            obj["num_members"] = len(ch["members"])
        return obj

    def _dm_for(self, user_id: str) -> dict[str, Any]:
        for ch in self.channels.values():
            if ch["is_im"] and ch["user"] == user_id:
                return ch
        cid = self._new_id("D")
        ch = self._make_channel(
            cid,
            None,
            is_private=True,
            creator=None,
            members=[user_id, self.bot_user_id],
            is_im=True,
            user=user_id,
        )
        self.channels[cid] = ch
        self._messages[cid] = []
        return ch

    def _resolve_channel(self, value: Any, *, allow_user: bool = True) -> dict[str, Any]:
        """Channel record for a channel id (or a user id -> bot DM)."""
        if not value:
            raise SlackError("channel_not_found")
        value = str(value)
        if value in self.channels:
            return self.channels[value]
        if allow_user and value in self.users:
            return self._dm_for(value)
        raise SlackError("channel_not_found")

    def _require_access(self, ch: dict[str, Any]) -> None:
        if self.strict_membership and not ch["is_im"] and self.bot_user_id not in ch["members"]:
            raise SlackError("channel_not_found" if ch["is_private"] else "not_in_channel")

    def _store_message(
        self,
        channel_id: str,
        *,
        user: str,
        text: Any = "",
        blocks: Any = None,
        attachments: Any = None,
        thread_ts: Any = None,
        files: list | None = None,
        bot: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        ts = self._next_ts()
        msg: dict[str, Any] = {
            "type": "message",
            "channel": channel_id,
            "ts": ts,
            "user": user,
            "text": text if isinstance(text, str) else ("" if text is None else str(text)),
            "blocks": self._fill_ids(blocks) if isinstance(blocks, list) else [],
            "thread_ts": str(thread_ts) if thread_ts else None,
            "files": files or [],
            "team": self.team_id,
        }
        if bot:
            msg["bot_id"] = self.bot_id
            msg["app_id"] = self.app_id
        if isinstance(attachments, list):
            msg["attachments"] = copy.deepcopy(attachments)
        msg.update(extra or {})
        self._messages.setdefault(channel_id, []).append(msg)
        if msg["thread_ts"]:
            for parent in self._messages[channel_id]:
                if parent["ts"] == msg["thread_ts"]:
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    parent["latest_reply"] = ts
                    break
        return msg

    def _store_ephemeral(self, channel_id: str, user_id: str, args: dict[str, Any]) -> str:
        ts = self._next_ts()
        self._ephemerals.append(
            {
                "type": "message",
                "channel": channel_id,
                "user": user_id,
                "ts": ts,
                "text": args.get("text") or "",
                "blocks": self._fill_ids(args.get("blocks") or []),
                "attachments": copy.deepcopy(args.get("attachments")) or [],
                "thread_ts": args.get("thread_ts"),
                "bot_id": self.bot_id,
            }
        )
        return ts

    @staticmethod
    def _public_message(msg: dict[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in msg.items() if k != "channel" and v is not None}
        if not out.get("files"):
            out.pop("files", None)
        return out

    def _find_message(self, channel_id: str, ts: Any) -> dict[str, Any]:
        for msg in self._messages.get(channel_id, []):
            if msg["ts"] == str(ts):
                return msg
        raise SlackError("message_not_found")

    def _check_message_content(self, args: dict[str, Any], *, require: bool = True) -> None:
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            raise SlackError("invalid_blocks_format")
        if blocks is not None:
            problems = validate_blocks(blocks, surface="message")
            if problems:
                raise SlackError("invalid_blocks", response_metadata={"messages": problems})
        if isinstance(args.get("attachments"), str):
            raise SlackError("invalid_attachments")
        text = args.get("text")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        if require and not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")

    # views -----------------------------------------------------------------

    def _check_view(self, view: Any, *, raise_as: type[Exception] = SlackError) -> None:
        if isinstance(view, str):
            problems = ["[ERROR] view must be a JSON object [json-pointer:/view]"]
        else:
            problems = validate_view(view)
        if problems:
            if raise_as is SandboxError:
                raise SandboxError("invalid_arguments", problems)
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})

    def _fill_ids(self, blocks: list[Any]) -> list[Any]:
        """Give blocks/elements without ids a random one, as Slack does."""
        blocks = copy.deepcopy(blocks)
        for block in blocks:
            if not isinstance(block, dict):
                continue
            block.setdefault("block_id", secrets.token_urlsafe(4).replace("-", "x"))
            elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
            for key in ("element", "accessory"):
                if isinstance(block.get(key), dict):
                    elements.append(block[key])
            for el in elements:
                if isinstance(el, dict) and el.get("type") != "image":
                    el.setdefault("action_id", secrets.token_urlsafe(4).replace("-", "x"))
        return blocks

    def _build_view(
        self,
        view: dict[str, Any],
        view_id: str,
        *,
        root_view_id: str | None,
        previous_view_id: str | None,
    ) -> dict[str, Any]:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": self._fill_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _check_external_id(self, view: dict[str, Any], own_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if external_id:
            for vid, existing in self.views.items():
                if vid != own_id and existing.get("external_id") == external_id:
                    raise SlackError("duplicate_external_id")

    def _push(self, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stack = self._stacks.setdefault(user_id, [])
        if len(stack) >= MAX_VIEW_STACK:
            raise SandboxError("push_limit_reached")
        view_id = self._new_id("V")
        built = self._build_view(
            view,
            view_id,
            root_view_id=stack[0] if stack else None,
            previous_view_id=stack[-1] if stack else None,
        )
        self.views[view_id] = built
        self._view_owner[view_id] = user_id
        stack.append(view_id)
        return built

    def _replace(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        old = self.views[view_id]
        built = self._build_view(
            view,
            view_id,
            root_view_id=old["root_view_id"],
            previous_view_id=old["previous_view_id"],
        )
        if not view.get("external_id"):
            built["external_id"] = old.get("external_id", "")
        self.views[view_id] = built
        return built

    def _use_trigger(self, args: dict[str, Any]) -> str:
        trigger_id = args.get("trigger_id")
        if not trigger_id:
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]},
            )
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger["used"] or time.monotonic() - trigger["issued"] > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        trigger["used"] = True
        return trigger["user"]

    def _find_view(self, args: dict[str, Any]) -> str:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if view_id:
            if view_id not in self.views:
                raise SlackError("not_found")
            return str(view_id)
        if external_id:
            for vid, view in self.views.items():
                if view.get("external_id") == external_id:
                    return vid
            raise SlackError("not_found")
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] either view_id or external_id is required"]},
        )

    # ------------------------------------------------------------------ API methods
    # Each takes the decoded args and returns the response body minus "ok": True, or raises
    # SlackError.  They run under the sandbox lock.

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return _clean(
            {
                "url": f"https://{self.team_domain}.slack.com/",
                "team": self.team_name,
                "user": self.bot_name,
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": self.bot_id,
                "enterprise_id": self.enterprise_id,
                "is_enterprise_install": False,
            }
        )

    def _team_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "team": _clean(
                {
                    "id": self.team_id,
                    "name": self.team_name,
                    "domain": self.team_domain,
                    "email_domain": "",
                    "icon": {"image_default": True},
                    "enterprise_id": self.enterprise_id,
                }
            )
        }

    # chat ----------------------------------------------------------------------

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"))
        self._require_access(ch)
        if ch["is_archived"]:
            raise SlackError("is_archived")
        self._check_message_content(args)
        extra = {
            k: copy.deepcopy(args[k])
            for k in ("metadata", "username", "icon_emoji", "icon_url", "reply_broadcast")
            if k in args
        }
        msg = self._store_message(
            ch["id"],
            user=self.bot_user_id,
            text=args.get("text", ""),
            blocks=args.get("blocks"),
            attachments=args.get("attachments"),
            thread_ts=args.get("thread_ts"),
            extra=extra,
        )
        return {"channel": ch["id"], "ts": msg["ts"], "message": self._public_message(msg)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        msg = self._find_message(ch["id"], args.get("ts"))
        if msg["user"] != self.bot_user_id:
            raise SlackError("cant_update_message")
        self._check_message_content(args, require=False)
        if not any(k in args for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        if "text" in args:
            msg["text"] = args.get("text") or ""
        if "blocks" in args:
            msg["blocks"] = self._fill_ids(args.get("blocks") or [])
        if "attachments" in args:
            msg["attachments"] = copy.deepcopy(args.get("attachments")) or []
        if "metadata" in args:
            msg["metadata"] = copy.deepcopy(args["metadata"])
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "channel": ch["id"],
            "ts": msg["ts"],
            "text": msg["text"],
            "message": self._public_message(msg),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"))
        self._require_access(ch)
        user_id = args.get("user")
        if not user_id or user_id not in self.users:
            raise SlackError("user_not_found")
        if not ch["is_im"] and user_id not in ch["members"]:
            raise SlackError("user_not_in_channel")
        self._check_message_content(args)
        return {"message_ts": self._store_ephemeral(ch["id"], user_id, args)}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        msg = self._find_message(ch["id"], args.get("ts"))
        if msg["user"] != self.bot_user_id:
            raise SlackError("cant_delete_message")
        self._messages[ch["id"]].remove(msg)
        return {"channel": ch["id"], "ts": msg["ts"]}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        msg = self._find_message(ch["id"], args.get("message_ts"))
        link = f"https://{self.team_domain}.slack.com/archives/{ch['id']}/p" + msg["ts"].replace(
            ".", ""
        )
        if msg["thread_ts"] and msg["thread_ts"] != msg["ts"]:
            link += f"?thread_ts={msg['thread_ts']}&cid={ch['id']}"
        return {"channel": ch["id"], "permalink": link}

    # views -----------------------------------------------------------------

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self._use_trigger(args)
        view = args.get("view")
        self._check_view(view)
        if view.get("type") != "modal":
            raise SlackError(
                "invalid_arguments",
                response_metadata={
                    "messages": [
                        "[ERROR] views.open only accepts modal views [json-pointer:/view/type]"
                    ]
                },
            )
        self._check_external_id(view)
        self._stacks.pop(user_id, None)
        return {"view": copy.deepcopy(self._push(user_id, view))}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self._use_trigger(args)
        view = args.get("view")
        self._check_view(view)
        self._check_external_id(view)
        if len(self._stacks.get(user_id, [])) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        return {"view": copy.deepcopy(self._push(user_id, view))}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = self._find_view(args)
        view = args.get("view")
        self._check_view(view)
        self._check_external_id(view, own_id=view_id)
        expected = args.get("hash")
        if expected and expected != self.views[view_id]["hash"]:
            raise SlackError("hash_conflict")
        return {"view": copy.deepcopy(self._replace(view_id, view))}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user_id")
        if not user_id or user_id not in self.users:
            raise SlackError("user_not_found")
        view = args.get("view")
        self._check_view(view)
        if view.get("type") != "home":
            raise SlackError(
                "invalid_arguments",
                response_metadata={
                    "messages": [
                        "[ERROR] views.publish only accepts home views [json-pointer:/view/type]"
                    ]
                },
            )
        existing = self._homes.get(user_id)
        expected = args.get("hash")
        if existing and expected and expected != self.views[existing]["hash"]:
            raise SlackError("hash_conflict")
        if existing:
            built = self._replace(existing, view)
        else:
            view_id = self._new_id("V")
            built = self._build_view(view, view_id, root_view_id=None, previous_view_id=None)
            self.views[view_id] = built
            self._view_owner[view_id] = user_id
            self._homes[user_id] = view_id
        return {"view": copy.deepcopy(built)}

    # conversations ----------------------------------------------------------

    def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        if not name or not isinstance(name, str):
            raise SlackError("invalid_name_required")
        if len(name) > MAX_CHANNEL_NAME:
            raise SlackError("invalid_name_maxlength")
        if not _CHANNEL_NAME_RE.fullmatch(name):
            raise SlackError("invalid_name_specials")
        if not name.strip("-_"):
            raise SlackError("invalid_name_punctuation")
        if any(ch.get("name") == name for ch in self.channels.values()):
            raise SlackError("name_taken")
        cid = self._new_id("C")
        ch = self._make_channel(
            cid,
            name,
            is_private=_truthy(args.get("is_private")),
            creator=self.bot_user_id,
            members=[self.bot_user_id],
        )
        self.channels[cid] = ch
        self._messages[cid] = []
        return {"channel": self._channel_object(ch)}

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        if ch["is_im"] or ch["is_mpim"]:
            raise SlackError("method_not_supported_for_channel_type")
        self._require_access(ch)
        if ch["is_archived"]:
            raise SlackError("is_archived")
        users = _split_ids(args.get("users"))
        if not users:
            raise SlackError("no_user")
        if len(users) > MAX_INVITE_USERS:
            raise SlackError("too_many_users")
        if self.bot_user_id in users:
            raise SlackError("cant_invite_self")
        for user_id in users:
            if user_id not in self.users:
                raise SlackError("user_not_found")
        new = [u for u in users if u not in ch["members"]]
        if not new:
            raise SlackError("already_in_channel")
        ch["members"].extend(dict.fromkeys(new))
        return {"channel": self._channel_object(ch)}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        self._require_access(ch)
        return {
            "channel": self._channel_object(
                ch, num_members=_truthy(args.get("include_num_members"))
            )
        }

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        self._require_access(ch)
        page, meta = _paginate(list(ch["members"]), args)
        return {"members": page, "response_metadata": meta}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        if ch["is_private"] or ch["is_im"]:
            raise SlackError("method_not_supported_for_channel_type")
        if ch["is_archived"]:
            raise SlackError("is_archived")
        response: dict[str, Any] = {}
        if self.bot_user_id in ch["members"]:
            response = {
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        else:
            ch["members"].append(self.bot_user_id)
        return {"channel": self._channel_object(ch), **response}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            ch = self._resolve_channel(args["channel"], allow_user=False)
            return {
                "channel": self._channel_object(ch)
                if _truthy(args.get("return_im"))
                else {"id": ch["id"]}
            }
        users = _split_ids(args.get("users"))
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        for user_id in users:
            if user_id not in self.users:
                raise SlackError("user_not_found")
        others = [u for u in users if u != self.bot_user_id]
        if len(others) <= 1:
            user_id = others[0] if others else self.bot_user_id
            existed = any(c["is_im"] and c["user"] == user_id for c in self.channels.values())
            ch = self._dm_for(user_id)
        else:
            members = sorted(set(others) | {self.bot_user_id})
            found = [
                c
                for c in self.channels.values()
                if c["is_mpim"] and sorted(c["members"]) == members
            ]
            existed = bool(found)
            if found:
                ch = found[0]
            else:
                cid = self._new_id("G")
                names = "--".join(self.users[u]["name"] for u in members)
                ch = self._make_channel(
                    cid,
                    f"mpdm-{names}-1",
                    is_private=True,
                    creator=self.bot_user_id,
                    members=members,
                    is_mpim=True,
                )
                self.channels[cid] = ch
                self._messages[cid] = []
        body = self._channel_object(ch) if _truthy(args.get("return_im")) else {"id": ch["id"]}
        return {"no_op": existed, "already_open": existed, "channel": body}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = set(_split_ids(args.get("types") or "public_channel"))
        exclude_archived = _truthy(args.get("exclude_archived"))
        selected = []
        for ch in self.channels.values():
            kind = (
                "im"
                if ch["is_im"]
                else "mpim"
                if ch["is_mpim"]
                else "private_channel"
                if ch["is_private"]
                else "public_channel"
            )
            if kind not in types or (exclude_archived and ch["is_archived"]):
                continue
            if (
                kind == "private_channel"
                and self.strict_membership
                and self.bot_user_id not in ch["members"]
            ):
                continue
            selected.append(self._channel_object(ch))
        page, meta = _paginate(selected, args)
        return {"channels": page, "response_metadata": meta}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        self._require_access(ch)
        msgs = [
            self._public_message(m)
            for m in reversed(self._messages.get(ch["id"], []))
            if not m["thread_ts"] or m["thread_ts"] == m["ts"] or m.get("reply_broadcast")
        ]
        page, meta = _paginate(msgs, args)
        return {"messages": page, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        self._require_access(ch)
        parent = self._find_message(ch["id"], args.get("ts"))
        root = parent["thread_ts"] or parent["ts"]
        msgs = [
            self._public_message(m)
            for m in self._messages[ch["id"]]
            if m["ts"] == root or m["thread_ts"] == root
        ]
        page, meta = _paginate(msgs, args)
        return {"messages": page, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}

    def _set_channel_text(self, args: dict[str, Any], field: str) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        self._require_access(ch)
        value = str(args.get(field) or "")
        if len(value) > 250:
            raise SlackError("too_long")
        ch[field] = {"value": value, "creator": self.bot_user_id, "last_set": int(time.time())}
        return {"channel": self._channel_object(ch)}

    def _conversations_set_topic(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._set_channel_text(args, "topic")

    def _conversations_set_purpose(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._set_channel_text(args, "purpose")

    def _conversations_archive(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        if ch["is_im"]:
            raise SlackError("method_not_supported_for_channel_type")
        if ch["is_archived"]:
            raise SlackError("already_archived")
        ch["is_archived"] = True
        return {}

    # users -------------------------------------------------------------------

    def _user_object(self, user: dict[str, Any], include_locale: bool) -> dict[str, Any]:
        obj = copy.deepcopy(user)
        if not include_locale:
            obj.pop("locale", None)
        return obj

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": self._user_object(user, _truthy(args.get("include_locale")))}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members = [
            self._user_object(u, _truthy(args.get("include_locale"))) for u in self.users.values()
        ]
        page, meta = _paginate(members, args, default_limit=200)
        return {"members": page, "cache_ts": int(time.time()), "response_metadata": meta}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = str(args.get("email") or "").lower()
        for user in self.users.values():
            if wanted and str(user["profile"].get("email", "")).lower() == wanted:
                return {"user": self._user_object(user, False)}
        raise SlackError("users_not_found")

    # files ---------------------------------------------------------------------

    def _file_object(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            k: copy.deepcopy(v)
            for k, v in record.items()
            if k not in ("content", "length", "completed") and v is not None
        }

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        length = args.get("length")
        if not filename or length in (None, ""):
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] filename and length are required"]},
            )
        try:
            length = int(length)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        file_id = self._new_id("F")
        now = int(time.time())
        name = str(filename)
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        self.files[file_id] = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": name,
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": ext,
            "user": self.bot_user_id,
            "size": None,
            "length": length,
            "content": None,
            "completed": False,
            "alt_txt": args.get("alt_txt") or args.get("alt_text"),
            "snippet_type": args.get("snippet_type"),
            "url_private": f"https://files.slack.com/files-pri/{self.team_id}-{file_id}/{name}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/"
            f"{file_id}/{name}",
            "channels": [],
            "groups": [],
            "ims": [],
        }
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] files must be a non-empty JSON array"]},
            )
        records = []
        for entry in entries:
            record = self.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if record is None or record["content"] is None:
                raise SlackError("file_not_found")
            records.append((record, entry))
        targets = []
        for value in ([args["channel_id"]] if args.get("channel_id") else []) + _split_ids(
            args.get("channels")
        ):
            ch = self._resolve_channel(value)
            self._require_access(ch)
            targets.append(ch)
        thread_ts = args.get("thread_ts")
        if thread_ts and not targets:
            raise SlackError("invalid_arguments")
        for record, entry in records:
            record["completed"] = True
            if entry.get("title"):
                record["title"] = entry["title"]
            alt = entry.get("alt_txt") or entry.get("alt_text")
            if alt:
                record["alt_txt"] = alt
            for ch in targets:
                kind = "ims" if ch["is_im"] else "groups" if ch["is_private"] else "channels"
                record[kind].append(ch["id"])
        file_objects = [self._file_object(r) for r, _ in records]
        for ch in targets:
            self._store_message(
                ch["id"],
                user=self.bot_user_id,
                text=args.get("initial_comment") or "",
                thread_ts=thread_ts,
                files=copy.deepcopy(file_objects),
                extra={"upload": True},
            )
        return {"files": file_objects}

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        record = self.files.get(str(args.get("file") or ""))
        if record is None:
            raise SlackError("file_not_found")
        return {"file": self._file_object(record)}

    def _files_upload_legacy(self, args: dict[str, Any]) -> dict[str, Any]:
        raise SlackError(
            "method_deprecated", response_metadata={"messages": ["use files_upload_v2"]}
        )

    # reactions -------------------------------------------------------------

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        msg = self._find_message(ch["id"], args.get("timestamp"))
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise SlackError("invalid_name")
        reactions = msg.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if self.bot_user_id in reaction["users"]:
                    raise SlackError("already_reacted")
                reaction["users"].append(self.bot_user_id)
                reaction["count"] += 1
                return {}
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}
