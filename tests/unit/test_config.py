"""Settings: defaults, and one clear line per bad setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings


def settings(tmp_path, **env):
    return load_settings(env, cwd=tmp_path)


def test_defaults_need_nothing(tmp_path):
    s = settings(tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path / 'journeybot.db'}"
    assert s.offline and not s.socket_mode
    assert (s.port, s.default_language, s.default_timezone) == (3000, "en", "Europe/Paris")


@pytest.mark.parametrize(("env", "names"), [
    ({"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": "xoxb-nope"}, "SLACK_APP_TOKEN"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
    ({"PORT": "eighty"}, "PORT"),
    ({"JOURNEYBOT_LANGUAGE": "de"}, "JOURNEYBOT_LANGUAGE"),
    ({"JOURNEYBOT_TIMEZONE": "Paris"}, "JOURNEYBOT_TIMEZONE"),
])
def test_bad_settings_name_themselves(tmp_path, env, names):
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, **env)
    assert names in str(caught.value) and "\n" not in str(caught.value)


def test_http_mode_needs_a_signing_secret(tmp_path):
    s = settings(tmp_path, SLACK_BOT_TOKEN="xoxb-1")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        s.require_slack()
    settings(tmp_path, SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1").require_slack()


def test_cli_prints_one_line_and_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path,
                            env={"DATABASE_URL": "mysql://nope", "PATH": ""},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
