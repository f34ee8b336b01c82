"""Block Kit for day 2: the facilitator's customer modal and progress message, the
customer's invitation DM and review modal pages, and the group's customer-feedback modal.

What a customer sees never names a participant: the review shows post-it texts, never
their authors. Every customer-facing text is in the customer's language (Customer.language).
"""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)

from bot.blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_MODAL_BLOCKS,
    MAX_SECTION_TEXT,
    _input,
    _option,
    focus_label,
    message,
    metadata,
    modal,
    pack_sections,
    section,
)
from bot.board_blocks import channel_label, kind_label, stage_label
from bot.i18n import SUPPORTED_LANGUAGES, t
from bot.ids import Action, Callback
from bot.text import escape, plain
from workflows.board import SCORES
from workflows.validation import VERDICTS, Coverage, ReviewPage

SHOWN_CUSTOMERS = 20   # customers listed in the progress message (2 blocks each at most)
SHOWN_PROPOSALS = 40   # proposals listed in the feedback modal (2 blocks each)
LABEL = 1900           # input labels are plain text, 2000 characters at most


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=plain(text, MAX_SECTION_TEXT))])


def _label(text: str) -> str:
    return plain(text.replace("\n", " "), LABEL)


def _stage_name(page: ReviewPage, lang: str) -> str:
    return page.stage_name or t(f"stage.{page.stage_key}", lang)


# --- the facilitator: registering customers, progress ---------------------------------------


def customers_view(workshop, types: list[str], lang: str) -> dict:
    type_options = [_option(ct, ct) for ct in types]
    focuses = [_option(f, focus_label(f, lang)) for f in workshop.channel_focuses or
               ("online", "offline", "cross_channel", "omnichannel")]
    languages = [_option(code, t(f"lang.{code}", code)) for code in SUPPORTED_LANGUAGES]
    blocks = [
        section(t("customers.intro", lang, name=escape(workshop.name))),
        _input("users", t("customers.users", lang), UserMultiSelectElement(
            max_selected_items=100), optional=True),
        _input("web", t("customers.web", lang), PlainTextInputElement(
            multiline=True, max_length=3000), hint=t("customers.web.hint", lang),
            optional=True),
        _input("customer_type", t("customers.type", lang), StaticSelectElement(
            options=type_options or [_option("-", "-")],
            initial_option=type_options[0] if len(type_options) == 1 else None)),
        _input("channel_focus", t("customers.focus", lang), StaticSelectElement(
            options=focuses), optional=True),
        _input("language", t("customers.language", lang), StaticSelectElement(
            options=languages,
            initial_option=languages[SUPPORTED_LANGUAGES.index(workshop.language)]
            if workshop.language in SUPPORTED_LANGUAGES else languages[0])),
    ]
    return modal(callback_id=Callback.CUSTOMERS, title=t("customers.title", lang),
                 submit=t("customers.submit", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(w=workshop.id, lang=lang))


def customer_name(customer, lang: str) -> str:
    """How the facilitator sees a customer: a Slack mention, or the web customer's name."""
    if customer.user_id:
        return f"<@{customer.user_id}>"
    return t("customers.web_who", lang, name=escape(customer.name), email=escape(customer.email))


def progress_blocks(workshop, rows, lang: str, *, links: dict[int, str] | None = None,
                    emailed: set[int] | None = None, notice: str | None = None) -> list[dict]:
    """The facilitator's view of the customers: status per customer, Remind per Slack
    customer, the link (New link / Revoke link) per web customer, Remind all, Send
    invitations now, Add customers. Within 50 blocks whatever the number of customers."""
    links, emailed = links or {}, emailed or set()
    statuses = [r.status for r in rows]
    blocks: list[Block] = [section(t(
        "customers.progress", lang, name=escape(workshop.name), done=statuses.count("done"),
        started=statuses.count("in_progress"),
        waiting=len(rows) - statuses.count("done") - statuses.count("in_progress")))]
    if notice:
        blocks.append(_context(notice))
    if not rows:
        blocks.append(section(t("customers.none", lang)))
    for row in rows[:SHOWN_CUSTOMERS]:
        c = row.customer
        focus = f" · {focus_label(c.channel_focus, lang)}" if c.channel_focus else ""
        text = t("customers.line", lang, who=customer_name(c, lang),
                 type=escape(c.customer_type) + focus, status=t(f"customers.status.{row.status}",
                                                                lang),
                 answered=row.answered, pages=row.pages)
        if c.id in links:
            text += "\n" + t("customers.emailed", lang, email=escape(c.email)) \
                if c.id in emailed else "\n" + t("customers.link", lang, url=links[c.id])
        accessory = None
        if c.user_id and row.status != "done":
            accessory = ButtonElement(text=t("customers.remind", lang),
                                      action_id=Action.CUSTOMERS_REMIND.value, value=str(c.id))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=plain(text, MAX_SECTION_TEXT)),
                                   accessory=accessory))
        if not c.user_id:
            blocks.append(ActionsBlock(block_id=f"link_{c.id}", elements=[
                ButtonElement(text=t("customers.new_link", lang),
                              action_id=Action.CUSTOMERS_NEW_LINK.value, value=str(c.id)),
                ButtonElement(text=t("customers.revoke", lang),
                              action_id=Action.CUSTOMERS_REVOKE.value, value=str(c.id),
                              style="danger")]))
    if len(rows) > SHOWN_CUSTOMERS:
        blocks.append(_context(t("customers.more", lang, n=len(rows) - SHOWN_CUSTOMERS)))
    value = str(workshop.id)
    buttons = [ButtonElement(text=t("customers.add_more", lang),
                             action_id=Action.CUSTOMERS_ADD.value, value=value)]
    if any(r.status == "not_invited" for r in rows):
        buttons.insert(0, ButtonElement(text=t("customers.invite_now", lang),
                                        action_id=Action.CUSTOMERS_INVITE.value, value=value,
                                        style="primary"))
    if any(r.status in ("invited", "in_progress") for r in rows):
        buttons.append(ButtonElement(text=t("customers.remind_all", lang),
                                     action_id=Action.CUSTOMERS_REMIND_ALL.value, value=value))
    blocks.append(ActionsBlock(elements=buttons))
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    return message(blocks)


# --- the customer: invitation and review pages --------------------------------------------------


def _item_line(item, lang: str) -> str:
    channel = f" ({channel_label(item.channel, lang)})" if item.channel else ""
    return f"• {escape(plain(item.text, 300).replace(chr(10), ' '))}{channel}"


def map_sections(pages: list[ReviewPage], lang: str, room: int) -> list[SectionBlock]:
    """The hypothetical map(s) as text: per map, per stage, its steps and touchpoints (no
    authors), packed into at most `room` sections of 3000 characters."""
    lines: list[str] = []
    group = None
    for page in pages:
        if page.group_id != group:
            group = page.group_id
            lines.append(t("creview.map", lang, number=page.group_number,
                           type=escape(page.customer_type or "")))
        if page.part == 1:
            lines.append(f"*{escape(_stage_name(page, lang))}*")
            if not page.items and page.parts == 1:
                lines.append(t("creview.empty_stage", lang))
        for kind in ("step", "touchpoint"):
            items = [i for i in page.items if i.kind == kind]
            if items:
                lines.append(f"_{kind_label(kind, lang)}_")
                lines += [_item_line(i, lang) for i in items]
    texts = pack_sections(lines)
    if len(texts) > room:
        texts = texts[:room]
        texts[-1] = texts[-1][: MAX_SECTION_TEXT - 2] + " …"
    return [section(x) for x in texts]


def invitation_blocks(customer, workshop_name: str, pages: list[ReviewPage], *,
                      reminder: bool = False) -> tuple[str, list[dict]]:
    lang = customer.language
    intro = t("creview.remind" if reminder else "creview.invite", lang,
              name=escape(workshop_name), type=escape(customer.customer_type))
    blocks: list[Block] = [section(intro)]
    if not reminder:
        blocks += map_sections(pages, lang, MAX_MESSAGE_BLOCKS - 3)
    blocks.append(ActionsBlock(elements=[ButtonElement(
        text=t("creview.review", lang), action_id=Action.CUSTOMER_REVIEW.value,
        value=str(customer.id), style="primary")]))
    return plain(intro, 300), message(blocks)


def _verdict_options(lang: str) -> list[Option]:
    return [_option(v, t(f"creview.verdict.{v}", lang)) for v in VERDICTS]


def review_view(customer, page: ReviewPage, lang: str) -> dict:
    """One page of the review: per step / touchpoint a verdict and an optional correction;
    on the stage's last page, what is missing and how they felt. Saved answers pre-filled.
    Block ids carry post-it ids; the metadata carries the customer and the page."""
    part = t("creview.part", lang, part=page.part, parts=page.parts) if page.parts > 1 else ""
    blocks: list[Block] = [
        HeaderBlock(text=plain(_stage_name(page, lang), 150)),
        _context(t("creview.page", lang, stage=escape(_stage_name(page, lang)), part=part,
                   n=page.index + 1, total=page.total)),
    ]
    if page.items:
        blocks.append(section(t("creview.help", lang)))
    elif page.asks_stage:
        blocks.append(section(t("creview.nothing", lang)))
    options = _verdict_options(lang)
    for item in page.items:
        channel = f" ({channel_label(item.channel, lang)})" if item.channel else ""
        label = f"{kind_label(item.kind, lang)}: {item.text}{channel}"
        blocks.append(_input(f"verdict_{item.post_it_id}", _label(label), RadioButtonsElement(
            options=options, initial_option=next(
                (o for o in options if o.value == item.verdict), None)), optional=True))
        blocks.append(_input(f"correction_{item.post_it_id}", t("creview.correction", lang),
                             PlainTextInputElement(initial_value=item.correction or None),
                             optional=True))
    if page.asks_stage:
        scores = [_option(str(s), t(f"score.{s}", lang)) for s in SCORES]
        blocks += [
            DividerBlock(),
            _input("missing", t("creview.missing", lang), PlainTextInputElement(
                multiline=True, initial_value=page.missing or None), optional=True),
            _input("feeling", t("creview.feeling", lang), StaticSelectElement(
                options=scores, initial_option=next(
                    (o for o in scores if page.feeling is not None
                     and o.value == str(page.feeling)), None)), optional=True),
            _input("feeling_text", t("creview.feeling_text", lang), PlainTextInputElement(
                initial_value=page.feeling_text or None), optional=True),
        ]
    assert len(blocks) <= MAX_MODAL_BLOCKS
    return modal(callback_id=Callback.CUSTOMER_REVIEW, title=t("creview.title", lang),
                 submit=t("creview.finish" if page.last else "creview.next", lang),
                 close=t("creview.later", lang), blocks=blocks,
                 private_metadata=metadata(c=customer.id, i=page.index, lang=lang))


def closing_view(text: str, lang: str) -> dict:
    """The last view of a review: thanks, validation closed, or a refusal."""
    return modal(callback_id=Callback.CUSTOMER_REVIEW, title=t("creview.title", lang),
                 submit=None, close=t("creview.close", lang), blocks=[section(text)],
                 private_metadata=metadata(lang=lang))


# --- the group: customer feedback -----------------------------------------------------------


def coverage_line(figures: Coverage, lang: str) -> str:
    return t("feedback.coverage", lang, answered=figures.answered, customers=figures.customers,
             confirmed=figures.percent(figures.confirmed),
             corrected=figures.percent(figures.corrected),
             rejected=figures.percent(figures.rejected), proposed=figures.proposed)


def proposal_text(post_it, original, stage, lang: str) -> str:
    where = escape(stage_label(stage, lang)) if stage is not None else "–"
    text = escape(plain(post_it.text, 1000))
    if original is not None:
        return t("feedback.correction", lang, stage=where,
                 original=escape(plain(original.text, 300)), text=text)
    return t("feedback.missing", lang, kind=kind_label(post_it.kind, lang), stage=where,
             text=text)


def feedback_view(group, items, figures: Coverage, lang: str, *,
                  notice: str | None = None) -> dict:
    """`items`: (proposal post-it, the post-it it corrects or None, its stage). Accept /
    Reject per proposal; customers are never named."""
    blocks: list[Block] = [_context(coverage_line(figures, lang))]
    if notice:
        blocks.append(_context(notice))
    if not items:
        blocks.append(section(t("feedback.none", lang)))
    for post_it, original, stage in items[:SHOWN_PROPOSALS]:
        value = json.dumps({"p": post_it.id, "g": group.id})
        blocks.append(section(proposal_text(post_it, original, stage, lang)))
        blocks.append(ActionsBlock(block_id=f"proposal_{post_it.id}", elements=[
            ButtonElement(text=t("feedback.accept", lang), action_id=Action.FEEDBACK_ACCEPT.value,
                          value=value, style="primary"),
            ButtonElement(text=t("feedback.reject", lang), action_id=Action.FEEDBACK_REJECT.value,
                          value=value, style="danger")]))
    if len(items) > SHOWN_PROPOSALS:
        blocks.append(_context(t("feedback.more", lang, n=len(items) - SHOWN_PROPOSALS)))
    return modal(callback_id=Callback.CUSTOMER_FEEDBACK, title=t("feedback.title", lang),
                 submit=None, close=t("close", lang), blocks=blocks,
                 private_metadata=metadata(g=group.id, lang=lang))
