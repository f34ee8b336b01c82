"""The owners modal: one users picker (and a free-text name) per opportunity, most voted
first, within Slack's 100 blocks per modal."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ContextBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    UserSelectElement,
)

from bot.blocks import _input, metadata, modal, section
from bot.i18n import t
from bot.ids import Callback
from bot.text import escape, plain
from workflows.owners import MAX_OWNER, is_slack_user

SHOWN = 40  # 2 blocks each + intro + footer: 82 of Slack's 100


def owners_view(workshop, opportunities, lang: str) -> dict:
    shown = opportunities[:SHOWN]
    more = t("owners.more", lang, shown=len(shown), total=len(opportunities)) \
        if len(opportunities) > len(shown) else ""
    blocks = [section(t("owners.intro", lang, name=escape(workshop.name), more=more))]
    for o in shown:
        label = plain(t("owners.label", lang, votes=o.votes, group=o.group, stage=o.stage,
                        text=o.text), 150)
        user = o.owner if is_slack_user(o.owner) else None
        name = o.owner if o.owner and not user else None
        blocks.append(_input(f"user_{o.post_it_id}", label, UserSelectElement(
            placeholder=plain(t("owners.user", lang), 150), initial_user=user),
            optional=True))
        blocks.append(_input(f"owner_{o.post_it_id}", t("owners.name", lang),
                             PlainTextInputElement(initial_value=name, max_length=MAX_OWNER),
                             optional=True))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t("owners.footer", lang))]))
    return modal(callback_id=Callback.OWNERS, title=t("owners.title", lang),
                 submit=t("save", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(w=workshop.id, lang=lang,
                                           ids=[o.post_it_id for o in shown]))
