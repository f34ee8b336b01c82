"""Offline stand-in for Slack, used by the test suite and by ``journeybot demo``.

* :class:`SlackSandbox` -- a fake Slack Web API over real HTTP on 127.0.0.1 that keeps the
  workspace state (users, channels, messages, modals, files) and records every call;
* :class:`SlackDriver` -- plays Slack's side against the app's HTTP endpoint (signed slash
  commands, interactivity payloads, events);
* :func:`validate_blocks` -- the Block Kit limits Slack enforces, as a pure function.
"""

from bot.sandbox.driver import PreparedCommand, Reply, SlackDriver, build_view_state
from bot.sandbox.server import (
    Call,
    SandboxError,
    SlackSandbox,
    validate_blocks,
    validate_view,
)

__all__ = [
    "Call",
    "PreparedCommand",
    "Reply",
    "SandboxError",
    "SlackDriver",
    "SlackSandbox",
    "build_view_state",
    "validate_blocks",
    "validate_view",
]
