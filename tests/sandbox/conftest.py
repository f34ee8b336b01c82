"""Fixtures for the sandbox's own tests: a started SlackSandbox and a WebClient on it."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.sandbox import SlackSandbox


@pytest.fixture
def sb():
    with SlackSandbox() as sandbox:
        sandbox.add_user(
            "U1", "ada", real_name="Ada Lovelace", email="ada@example.com", locale="fr-FR"
        )
        sandbox.add_user("U2", "grace", real_name="Grace Hopper", tz="America/New_York")
        sandbox.add_user("U3", "alan", real_name="Alan Turing", locale="en-GB", tz="Europe/London")
        yield sandbox


@pytest.fixture
def client(sb) -> WebClient:
    """A WebClient without retry handlers, so 429s surface as SlackApiError."""
    return WebClient(token="xoxb-sandbox", base_url=sb.api_url, retry_handlers=[], timeout=5)
