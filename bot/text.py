"""Putting user text into Slack messages safely, and showing times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def escape(text: str | None) -> str:
    """Escape user text for mrkdwn: `<!channel>`, `<@U1>` and `&` show literally, ping nobody."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str | None, limit: int) -> str:
    """Trim text for a plain_text field that Slack caps at `limit` characters."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(moment: datetime, tz: str, lang: str) -> str:
    """A date Slack shows in each reader's own time zone and locale, with a fallback."""
    local = moment.astimezone(ZoneInfo(tz))
    fallback = local.strftime("%Y-%m-%d %H:%M") + f" ({tz})"
    token = "{date_short_pretty} {time}" if lang == "en" else "{date_short_pretty}, {time}"
    return f"<!date^{int(moment.timestamp())}^{token}|{fallback}>"
