"""Block Kit for every screen, built with slack_sdk.models so Slack's limits are checked
before anything is sent (`to_dict()` raises on an over-long title, text or block list)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    DatePickerElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.i18n import CATALOG, SUPPORTED_LANGUAGES, t
from bot.ids import Action, Callback
from bot.ids import Block as BlockId
from bot.text import escape, plain, slack_date

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_SECTION_TEXT = 3000
VALUE = "value"  # action_id of the single element in each input block


def message(blocks: Sequence[Block]) -> list[dict]:
    """Serialise message blocks, refusing what Slack would refuse."""
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks: Slack allows {MAX_MESSAGE_BLOCKS} per message")
    return [b.to_dict() for b in blocks]


def pack_sections(lines: list[str]) -> list[str]:
    """Pack lines into section texts of at most 3000 characters (a longer line is cut)."""
    texts, current = [], ""
    for line in lines:
        line = line[:MAX_SECTION_TEXT]
        if current and len(current) + len(line) + 1 > MAX_SECTION_TEXT:
            texts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        texts.append(current)
    return texts


def section(text: str) -> SectionBlock:
    if len(text) > MAX_SECTION_TEXT:
        text = text[: MAX_SECTION_TEXT - 1] + "…"
    return SectionBlock(text=MarkdownTextObject(text=text))


def metadata(**values: Any) -> str:
    return json.dumps(values, separators=(",", ":"))


def read_metadata(view: dict) -> dict[str, Any]:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}


def form_values(view: dict) -> dict[str, Any]:
    """Flatten a submitted view's state into {block_id: python value}."""
    result: dict[str, Any] = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
                value = element.get("value")
            elif kind in ("static_select", "radio_buttons", "external_select"):
                value = (element.get("selected_option") or {}).get("value")
            elif kind in ("checkboxes", "multi_static_select"):
                value = [o["value"] for o in element.get("selected_options") or []]
            elif kind == "users_select":
                value = element.get("selected_user")
            elif kind == "multi_users_select":
                value = element.get("selected_users") or []
            elif kind == "conversations_select":
                value = element.get("selected_conversation")
            elif kind == "channels_select":
                value = element.get("selected_channel")
            elif kind == "datepicker":
                value = element.get("selected_date")
            elif kind == "timepicker":
                value = element.get("selected_time")
            else:
                value = element.get("value")
            result[block_id] = value
    return result


def department_label(key: str, lang: str) -> str:
    entry = f"dept.{key}"
    return t(entry, lang) if entry in CATALOG else key


def department_aliases() -> dict[str, str]:
    """Every translated department label (case-folded) → its key, in every language."""
    return {CATALOG[k][lang].casefold(): k.removeprefix("dept.")
            for k in CATALOG if k.startswith("dept.") for lang in SUPPORTED_LANGUAGES}


def focus_label(key: str, lang: str) -> str:
    return t(f"focus.{key}", lang)


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=plain(label, 75))


def _input(block_id: str, label: str, element, *, hint: str | None = None,
           optional: bool = False) -> InputBlock:
    element.action_id = VALUE
    return InputBlock(block_id=block_id, label=label, element=element, hint=hint,
                      optional=optional or None)


def modal(*, callback_id: Callback, title: str, submit: str | None, close: str,
          blocks: Sequence[Block], private_metadata: str = "") -> dict:
    """A modal view; slack_sdk checks title (24), blocks (100) and metadata (3000) limits."""
    view = View(type="modal", callback_id=callback_id.value, title=plain(title, 24),
                submit=plain(submit, 24) if submit else None, close=plain(close, 24),
                blocks=list(blocks), private_metadata=private_metadata)
    return view.to_dict()


# --- help and status ------------------------------------------------------------------------


def help_blocks(lang: str, prefix: str | None = None) -> list[dict]:
    blocks: list[Block] = []
    if prefix:
        blocks.append(section(prefix))
    blocks += [section(t("help.title", lang)), section(t("help.body", lang))]
    return message(blocks)


def status_blocks(standings, lang: str) -> list[dict]:
    if not standings:
        return message([section(t("status.none", lang))] + [section(t("help.body", lang))])
    lines = [t("status.header", lang)]
    for s in standings[:20]:
        w = s.workshop
        department = f" ({escape(department_label(s.department, lang))})" \
            if s.department else ""
        when = slack_date(s.next_at, w.timezone, lang) if s.next_at else ""
        lines.append(t("status.line", lang, name=escape(w.name), channel=w.channel_id,
                       role=t(f"role.{s.role}", lang), department=department,
                       next=t(f"status.next.{s.next_step}", lang, when=when)))
    return message([section("\n".join(lines))])


# --- new workshop ---------------------------------------------------------------------------


def new_workshop_view(lang: str, *, timezone: str, today: date, channel_id: str | None
                      ) -> dict:
    focus_options = [_option(f, focus_label(f, lang))
                     for f in ("online", "offline", "cross_channel", "omnichannel")]
    languages = [_option(code, t(f"lang.{code}", lang)) for code in SUPPORTED_LANGUAGES]
    departments = "\n".join(department_label(k, lang) for k in (
        "marketing", "cx", "sales", "finance", "legal", "communication", "after_sales",
        "product", "support", "other"))
    channel = ConversationSelectElement(
        default_to_current_conversation=True, initial_conversation=channel_id,
        filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True))
    blocks = [
        _input("name", t("new.name", lang), PlainTextInputElement(
            placeholder=t("new.name.placeholder", lang), max_length=150)),
        _input("channel", t("new.channel", lang), channel, hint=t("new.channel.hint", lang)),
        _input("leadership_channel", t("new.leadership_channel", lang),
               leadership_channel_select(None), hint=t("new.leadership_channel.hint", lang),
               optional=True),
        _input("language", t("new.language", lang), StaticSelectElement(
            options=languages, initial_option=languages[SUPPORTED_LANGUAGES.index(lang)]),
            hint=t("new.language.hint", lang)),
        _input("timezone", t("new.timezone", lang), PlainTextInputElement(
            initial_value=timezone, max_length=64), hint=t("new.timezone.hint", lang)),
        _input("day1_date", t("new.day1_date", lang), DatePickerElement(
            initial_date=today.isoformat())),
        _input("day1_time", t("new.day1_time", lang), TimePickerElement(initial_time="09:00")),
        _input("day2_date", t("new.day2_date", lang), DatePickerElement()),
        _input("day2_time", t("new.day2_time", lang), TimePickerElement(initial_time="09:00")),
        _input("objectives", t("new.objectives", lang), PlainTextInputElement(
            multiline=True, max_length=3000), hint=t("new.objectives.hint", lang),
            optional=True),
        _input("customer_types", t("new.customer_types", lang), PlainTextInputElement(
            multiline=True, max_length=3000), hint=t("new.customer_types.hint", lang),
            optional=True),
        _input("channel_focuses", t("new.channel_focuses", lang), CheckboxesElement(
            options=focus_options, initial_options=focus_options), optional=True),
        _input("departments", t("new.departments", lang), PlainTextInputElement(
            multiline=True, initial_value=departments, max_length=3000),
            hint=t("new.departments.hint", lang), optional=True),
        _input("min_group_size", t("new.min_group_size", lang), NumberInputElement(
            initial_value=4, min_value=2, max_value=12)),
        _input("max_group_size", t("new.max_group_size", lang), NumberInputElement(
            initial_value=6, min_value=2, max_value=12)),
    ]
    return modal(callback_id=Callback.NEW_WORKSHOP, title=t("new.title", lang),
                 submit=t("new.submit", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(lang=lang))


def leadership_channel_select(current: str | None) -> ConversationSelectElement:
    """A public or private channel for the leadership summaries (optional)."""
    return ConversationSelectElement(
        initial_conversation=current,
        filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True))


def leadership_view(workshop, lang: str) -> dict:
    """`/journey leadership`: change (or clear) the leadership channel later."""
    blocks = [
        section(t("leadership.intro", lang, name=escape(workshop.name))),
        _input("leadership_channel", t("new.leadership_channel", lang),
               leadership_channel_select(workshop.leadership_channel_id),
               hint=t("leadership.hint", lang), optional=True),
    ]
    return modal(callback_id=Callback.LEADERSHIP, title=t("leadership.title", lang),
                 submit=t("save", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(w=workshop.id, lang=lang))


# --- kick-off -------------------------------------------------------------------------------


def kickoff_blocks(workshop, counts: dict[str, int], lang: str) -> list[dict]:
    """The kick-off message: what the workshop is for, its two days, Join, live count."""
    from workflows.workshops import as_utc

    blocks: list[Block] = [
        HeaderBlock(text=plain(workshop.name, 150)),
        section(t("kickoff.intro", lang, name=escape(workshop.name),
                  facilitator=f"<@{workshop.created_by}>",
                  day1=slack_date(as_utc(workshop.day1_start), workshop.timezone, lang),
                  day2=slack_date(as_utc(workshop.day2_start), workshop.timezone, lang))),
    ]
    if workshop.objectives:
        lines = [t("kickoff.objectives", lang)] + [
            t("kickoff.objective", lang, text=escape(o.text), kpi=escape(o.kpi))
            for o in workshop.objectives]
        blocks.append(section("\n".join(lines)))
    facts = []
    if workshop.customer_types:
        facts.append(t("kickoff.customer_types", lang,
                       items=", ".join(escape(c) for c in workshop.customer_types)))
    if workshop.channel_focuses:
        facts.append(t("kickoff.focuses", lang,
                       items=", ".join(focus_label(f, lang) for f in workshop.channel_focuses)))
    if facts:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=plain(f, 3000))
                                             for f in facts]))
    blocks.append(ActionsBlock(block_id=BlockId.KICKOFF_ACTIONS.value, elements=[
        ButtonElement(text=t("kickoff.join", lang), action_id=Action.JOIN.value,
                      value=str(workshop.id), style="primary")]))
    blocks.append(ContextBlock(block_id=BlockId.KICKOFF_COUNT.value, elements=[
        MarkdownTextObject(text=count_line(counts, lang))]))
    return message(blocks)


def count_line(counts: dict[str, int], lang: str) -> str:
    total = sum(counts.values())
    if not total:
        return t("kickoff.count.none", lang)
    parts = ", ".join(f"{escape(department_label(d, lang))} {n}"
                      for d, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return plain(t("kickoff.count", lang, count=total, by_department=parts), 3000)


def kickoff_text(workshop, lang: str) -> str:
    """Notification fallback text for the kick-off message."""
    return t("kickoff.intro", lang, name=escape(workshop.name),
             facilitator=f"<@{workshop.created_by}>",
             day1=workshop.day1_start.date().isoformat(),
             day2=workshop.day2_start.date().isoformat()).split("\n")[0]


def department_options(departments: Iterable[str], lang: str) -> list[Option]:
    return [_option(d, department_label(d, lang)) for d in departments]


def join_view(workshop, lang: str, current: str | None) -> dict:
    options = department_options(workshop.departments, lang)
    initial = next((o for o in options if o.value == current), None)
    blocks = [
        section(t("join.intro", lang, name=escape(workshop.name))),
        _input("department", t("join.department", lang),
               StaticSelectElement(options=options, initial_option=initial),
               hint=t("join.department.hint", lang)),
    ]
    return modal(callback_id=Callback.JOIN, title=t("join.title", lang),
                 submit=t("join.submit", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(w=workshop.id, lang=lang))


def people_view(workshop, lang: str) -> dict:
    roles = [_option(r, t(f"role.{r}", lang))
             for r in ("facilitator", "leadership", "customer", "participant")]
    blocks = [
        section(t("people.intro", lang, name=escape(workshop.name))),
        _input("users", t("people.users", lang), UserMultiSelectElement(max_selected_items=100)),
        _input("role", t("people.role", lang), StaticSelectElement(options=roles)),
        _input("department", t("people.department", lang), StaticSelectElement(
            options=department_options(workshop.departments, lang)), optional=True),
    ]
    return modal(callback_id=Callback.PEOPLE, title=t("people.title", lang),
                 submit=t("people.submit", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(w=workshop.id, lang=lang))


def button_message(text: str, *, label: str, action: Action, value: str) -> list[dict]:
    """A message with one button, e.g. 'Retry' after a failure."""
    return message([section(text), ActionsBlock(elements=[ButtonElement(
        text=label, action_id=action.value, value=value)])])


def local_today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()
