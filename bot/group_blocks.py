"""Block Kit for group formation: the preview modal, the edit modal, welcome and announcement."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    StaticSelectElement,
    UserSelectElement,
)

from bot.blocks import (
    MAX_MODAL_BLOCKS,
    MAX_SECTION_TEXT,
    _input,
    _option,
    department_label,
    focus_label,
    metadata,
    modal,
    section,
)
from bot.i18n import has, t
from bot.ids import Action, Callback
from bot.text import escape
from workflows.groups import PlannedGroup, Preview


def focus_text(customer_type: str | None, channel_focus: str | None, lang: str) -> str:
    parts = [escape(customer_type) if customer_type else None,
             focus_label(channel_focus, lang) if channel_focus else None]
    return " · ".join(p for p in parts if p) or t("groups.no_focus", lang)


def _members(members, lang: str) -> str:
    return ", ".join(t("groups.member", lang, user=p.user_id,
                       department=escape(department_label(p.department or "other", lang)))
                     for p in members)


def _group_text(group: PlannedGroup, lang: str) -> str:
    return t("groups.group", lang, number=group.number,
             focus=focus_text(group.customer_type, group.channel_focus, lang)) + \
        "\n" + _members(group.members, lang)


def _packed_sections(texts: list[str], budget: int, sep: str = "\n\n") -> list[Block]:
    """Pack texts into as few sections as fit (3000 chars each), at most `budget` blocks."""
    blocks: list[Block] = []
    current = ""
    for number, text in enumerate(texts):
        if len(blocks) == budget - 1 and current and len(current) + len(text) + 2 > \
                MAX_SECTION_TEXT - 40:
            blocks.append(section(current + f"\n\n… +{len(texts) - number}"))
            return blocks
        if current and len(current) + len(text) + len(sep) > MAX_SECTION_TEXT:
            blocks.append(section(current))
            current = ""
        current = f"{current}{sep}{text}" if current else text
    if current:
        blocks.append(section(current))
    return blocks


def problem_text(problem, lang: str, prefix: str) -> str:
    key = f"{prefix}.{problem.code}"
    if has(key):
        params = {k: (", ".join(map(str, v)) if isinstance(v, list) else v)
                  for k, v in problem.params.items()}
        return t(key, lang, **params)
    return t(f"{prefix}.other", lang, code=problem.code)


def preview_view(p: Preview, lang: str) -> dict:
    blocks: list[Block] = []
    meta = metadata(w=p.workshop.id, lang=lang)
    if not p.feasible and not p.confirmed:
        blocks.append(section(t("groups.infeasible", lang)))
        blocks += [section(problem_text(x, lang, "groups.problem")) for x in p.problems]
        buttons = [ButtonElement(text=problem_text(o, lang, "groups.option")[:75],
                                 action_id=f"{Action.GROUPS_OPTION.value}.{n}",
                                 value=json.dumps({"code": o.code, **o.params})[:2000])
                   for n, o in enumerate(p.options) if o.code != "wait_for_more"]
        blocks += [section("• " + problem_text(o, lang, "groups.option"))
                   for o in p.options if o.code == "wait_for_more"]
        if buttons:
            blocks.append(ActionsBlock(elements=buttons[:5]))
        return modal(callback_id=Callback.GROUPS_PREVIEW, title=t("groups.title", lang),
                     submit=None, close=t("close", lang), blocks=blocks, private_metadata=meta)

    sizes = sorted({len(g.members) for g in p.groups})
    verdict = t("groups.optimal" if p.score >= p.optimum else "groups.not_optimal", lang)
    blocks.append(section(t("groups.summary", lang, people=sum(len(g.members) for g in p.groups),
                            count=len(p.groups), sizes="–".join(map(str, sizes)),
                            score=p.score, optimum=p.optimum, verdict=verdict)))
    blocks += [ContextBlock(elements=[MarkdownTextObject(
        text=problem_text(w, lang, "groups.warning"))]) for w in p.warnings[:5]]
    if p.confirmed:
        blocks.append(section(t("groups.confirmed", lang)))
    else:
        blocks.append(ActionsBlock(elements=[
            ButtonElement(text=t("groups.reshuffle", lang),
                          action_id=Action.GROUPS_RESHUFFLE.value, value=str(p.workshop.id)),
            ButtonElement(text=t("groups.edit", lang), action_id=Action.GROUPS_EDIT.value,
                          value=str(p.workshop.id))]))
    blocks.append(DividerBlock())
    budget = MAX_MODAL_BLOCKS - len(blocks)
    blocks += _packed_sections([_group_text(g, lang) for g in p.groups], budget)
    return modal(callback_id=Callback.GROUPS_PREVIEW, title=t("groups.title", lang),
                 submit=None if p.confirmed else t("groups.confirm", lang),
                 close=t("close", lang), blocks=blocks, private_metadata=meta)


def edit_view(p: Preview, lang: str) -> dict:
    groups = [_option(str(g.number), t("groups.edit.group_option", lang, number=g.number) +
                      f" ({len(g.members)})") for g in p.groups][:100]
    blocks = [
        section(t("groups.edit.hint", lang)),
        _input("person", t("groups.edit.person", lang), UserSelectElement()),
        _input("group", t("groups.edit.to_group", lang), StaticSelectElement(options=groups),
               optional=True),
        _input("other", t("groups.edit.swap_with", lang), UserSelectElement(), optional=True),
    ]
    return modal(callback_id=Callback.GROUPS_EDIT, title=t("groups.edit.title", lang),
                 submit=t("save", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(w=p.workshop.id, lang=lang))


def welcome_text(workshop, group, lang: str) -> str:
    return t("groups.welcome", lang, number=group.number, name=escape(workshop.name),
             focus=focus_text(group.customer_type, group.channel_focus, lang),
             members=_members(group.members, lang))


def announce_blocks(workshop, groups, score: int, optimum: int, lang: str) -> list[dict]:
    lines = [t("groups.announce_line", lang, channel=g.channel_id,
               focus=focus_text(g.customer_type, g.channel_focus, lang),
               members=_members(g.members, lang)) for g in groups]
    head = t("groups.announce", lang, name=escape(workshop.name), count=len(groups),
             score=score, optimum=optimum)
    from bot.blocks import message
    return message([section(head), *_packed_sections(lines, 45, sep="\n")])
