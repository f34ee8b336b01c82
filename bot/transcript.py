"""A readable transcript of what Slack would show: messages, modals, DMs, as text."""

from __future__ import annotations

import json
import re
from typing import Any

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@(\w+)>")
_CHANNEL = re.compile(r"<#(\w+)(?:\|[^>]*)?>")


def unslack(text: str, names: dict[str, str]) -> str:
    """Turn Slack markup into what a reader sees: dates, @names, #channels, entities."""
    text = _DATE.sub(r"\1", text or "")
    text = _USER.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + names.get(m.group(1), m.group(1)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return obj.get("text", "")
    return obj or ""


def render_blocks(blocks: list[dict] | str | None, names: dict[str, str]) -> list[str]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    lines: list[str] = []
    for block in blocks or []:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"## {_text(block.get('text'))}")
        elif kind == "section":
            if block.get("text"):
                lines.append(unslack(_text(block["text"]), names))
            for f in block.get("fields") or []:
                lines.append("  " + unslack(_text(f), names))
            if block.get("accessory", {}).get("type") == "button":
                lines.append(f"  [{_text(block['accessory'].get('text'))}]")
        elif kind == "context":
            lines.append("  " + " · ".join(unslack(_text(e), names)
                                           for e in block.get("elements", []) if "text" in e))
        elif kind == "actions":
            labels = [_text(e.get("text")) or _text(e.get("placeholder"))
                      for e in block.get("elements", [])]
            lines.append("  " + "  ".join(f"[{label}]" for label in labels))
        elif kind == "divider":
            lines.append("  ―――")
        elif kind == "input":
            element = block.get("element", {})
            initial = element.get("initial_value") or element.get("initial_date") or \
                element.get("initial_time") or _text((element.get("initial_option") or {})
                                                     .get("text"))
            optional = " (optional)" if block.get("optional") else ""
            shown = f": {initial}" if initial else ""
            lines.append(f"  ▸ {_text(block.get('label'))}{optional}{shown}".replace("\n", " / "))
        elif kind == "image":
            lines.append(f"  [image: {block.get('alt_text', '')}]")
    return lines


def indent(lines: list[str], prefix: str = "    ") -> str:
    return "\n".join(prefix + line.replace("\n", "\n" + prefix) for line in lines)
