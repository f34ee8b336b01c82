"""app_manifest.yml is what the code uses, and Slack's schema accepts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.manifest import build_manifest, manifest_yaml, validate
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = SHARED / "slack" / "manifest.schema.1.0.0.json"


def test_app_manifest_is_generated_from_the_code():
    assert (ROOT / "app_manifest.yml").read_text() == manifest_yaml(), \
        "run `journeybot manifest --write app_manifest.yml`"


@pytest.mark.skipif(not SCHEMA.exists(), reason="Slack's manifest schema is not in ../shared")
@pytest.mark.parametrize("request_url", [None, "https://journeybot.example.com/slack/events"])
def test_manifest_validates_against_slacks_schema(request_url):
    schema = json.loads(SCHEMA.read_text())
    manifest = yaml.safe_load(manifest_yaml(request_url))
    assert validate(manifest, schema) == []
    assert manifest["settings"]["socket_mode_enabled"] is (request_url is None)


def test_manifest_declares_what_the_app_listens_to():
    manifest = build_manifest()
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/journey"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"commands", "chat:write"} <= set(manifest["oauth_config"]["scopes"]["bot"])
