"""Which language to speak to each Slack user: their Slack locale, else a fallback."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n import language_of

log = logging.getLogger(__name__)


class UserLanguages:
    """Caches each user's Slack locale and time zone (one users.info call per user)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def profile(self, client: WebClient, team_id: str, user_id: str) -> dict:
        key = (team_id, user_id)
        with self._lock:
            if key in self._known:
                return self._known[key]
        try:
            user = client.users_info(user=user_id, include_locale=True)["user"]
            profile = {"locale": user.get("locale"), "tz": user.get("tz"),
                       "name": user.get("real_name") or user.get("name")}
        except SlackApiError as error:
            log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
            return {}
        with self._lock:
            self._known[key] = profile
        return profile

    def cached(self, team_id: str, user_id: str) -> dict:
        with self._lock:
            return self._known.get((team_id, user_id), {})

    def language(self, client: WebClient, team_id: str, user_id: str, fallback: str) -> str:
        return language_of(self.profile(client, team_id, user_id).get("locale"), fallback)
