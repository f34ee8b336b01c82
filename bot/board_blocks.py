"""Block Kit for the board: the live board message, the full board, and the modals to add,
arrange, manage stages, vote, review and set the workshop's options. Everything stays
within Slack's limits whatever the board's size (50 blocks per message, 100 per modal,
3000 characters per section)."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    _input,
    _option,
    message,
    metadata,
    modal,
    pack_sections,
    section,
)
from bot.group_blocks import focus_text
from bot.i18n import CATALOG, SUPPORTED_LANGUAGES, t
from bot.ids import Action, Callback
from bot.text import escape, plain
from workflows.board import CHANNELS, KINDS, SCORES, VOTABLE, Board, Note
from workflows.quick_add import QuickAdd, StageNames

LINE = 140          # characters of a post-it shown on the board message
PER_KIND = 3        # post-its shown per kind and stage on the board message
PAGE_SECTIONS = 40  # sections per page of the full board / voting modal


def stage_label(stage, lang: str) -> str:
    return stage.name or t(f"stage.{stage.key}", lang)


def stage_names(stages) -> StageNames:
    """Every name each stage answers to (both languages), for the quick-add parser."""
    return StageNames({s.id: [s.name] if s.name else
                       [CATALOG[f"stage.{s.key}"][lang] for lang in SUPPORTED_LANGUAGES]
                       for s in stages})


def kind_label(kind: str, lang: str) -> str:
    return t(f"kind.{kind}", lang)


def channel_label(channel: str | None, lang: str) -> str:
    if not channel:
        return ""
    key = f"channel.{channel}"
    return t(key, lang) if key in CATALOG else escape(channel)


def _customer_marks(mark) -> list[str]:
    """What customers said of a reviewed post-it: ✓ yes, ✎ not quite, ✗ never."""
    if mark is None:
        return []
    return [f"{sign}{n}" for sign, n in (("✓", mark.yes), ("✎", mark.not_quite),
                                         ("✗", mark.never)) if n]


def note_line(note: Note, lang: str, *, limit: int = LINE, author: bool = False,
              feedback=None) -> str:
    text = escape(plain(note.text, limit).replace("\n", " "))
    extras = []
    if note.kind == "touchpoint" and note.channel:
        extras.append(channel_label(note.channel, lang))
    if note.kind == "emotion" and note.score is not None:
        extras.append(f"{note.score:+d}")
    if note.kind in VOTABLE and note.votes:
        extras.append(f"{note.votes}★")
    if feedback is not None:
        extras += _customer_marks(feedback.mark(note.id))
    suffix = f" ({', '.join(extras)})" if extras else ""
    by = " " + t("board.by", lang, user=note.author) if author and note.author else ""
    if note.origin == "customer":  # customers are never named, nor shown as a mention
        by = " " + t("feedback.by_customer", lang)
    return f"• {text}{suffix}{by}"


def _counts(column, lang: str) -> str:
    parts = [f"{len(column.notes[k])} {t(f'kinds.{k}', lang)}" for k in KINDS
             if column.notes[k]]
    return " · ".join(parts) or t("board.empty_stage", lang)


def _stage_feeling(column, lang: str, feedback) -> list[str]:
    score = feedback.marks.stage_scores.get(column.stage.id) if feedback is not None else None
    return [] if score is None else [t("feedback.stage_feeling", lang, score=f"{score:+.1f}")]


def _stage_text(number: int, column, lang: str, feedback=None) -> str:
    lines = [t("board.stage", lang, number=number, name=escape(stage_label(column.stage, lang)),
               counts=_counts(column, lang))]
    lines += _stage_feeling(column, lang, feedback)
    for kind in KINDS:
        notes = column.notes[kind]
        if not notes:
            continue
        lines.append(f"_{kind_label(kind, lang)}_")
        lines += [note_line(n, lang, feedback=feedback) for n in notes[:PER_KIND]]
        if len(notes) > PER_KIND:
            lines.append(t("board.more", lang, n=len(notes) - PER_KIND))
    text = "\n".join(lines)
    return text if len(text) <= MAX_SECTION_TEXT else text[: MAX_SECTION_TEXT - 2] + " …"


def board_blocks(board: Board, lang: str, feedback=None) -> list[dict]:
    """The live board message of a group channel (summarised per stage). `feedback`: the
    customers' answers (workflows.validation.BoardFeedback) once customers review it."""
    group = board.group
    blocks: list[Block] = [
        HeaderBlock(text=plain(t("board.title", lang, number=group.number, focus=focus_text(
            group.customer_type, group.channel_focus, lang).replace("&amp;", "&")), 150)),
        ContextBlock(elements=[MarkdownTextObject(text=t(
            "board.summary", lang, total=board.total, stages=len(board.columns)))]),
    ]
    room = MAX_MESSAGE_BLOCKS - 5
    for number, column in enumerate(board.columns[:room], start=1):
        blocks.append(section(_stage_text(number, column, lang, feedback)))
    if feedback is not None:
        from bot.customer_blocks import coverage_line

        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=coverage_line(feedback.coverage, lang))]))
    if board.pending:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=t("board.pending", lang, n=board.pending))]))
    value = str(group.id)
    blocks.append(ActionsBlock(elements=[
        ButtonElement(text=t("board.add", lang), action_id=Action.BOARD_ADD.value, value=value,
                      style="primary"),
        ButtonElement(text=t("board.arrange", lang), action_id=Action.BOARD_ARRANGE.value,
                      value=value),
        ButtonElement(text=t("board.stages", lang), action_id=Action.BOARD_STAGES.value,
                      value=value),
        ButtonElement(text=t("board.full", lang), action_id=Action.BOARD_FULL.value,
                      value=value),
        ButtonElement(text=t("board.vote", lang), action_id=Action.VOTE_OPEN.value,
                      value=str(board.workshop.id)),
        *([ButtonElement(text=t("feedback.button", lang, n=feedback.coverage.proposed),
                         action_id=Action.FEEDBACK_OPEN.value, value=value)]
          if feedback is not None else []),
    ]))
    return message(blocks)


def board_text(board: Board, lang: str) -> str:
    return t("board.title", lang, number=board.group.number, focus=focus_text(
        board.group.customer_type, board.group.channel_focus, lang)) + " — " + \
        t("board.summary", lang, total=board.total, stages=len(board.columns))


def _pager(texts: list[str], page: int, lang: str, action: Action, value: dict) -> list[Block]:
    pages = max(1, -(-len(texts) // PAGE_SECTIONS))
    page = max(1, min(page, pages))
    blocks: list[Block] = [section(x) for x in
                           texts[(page - 1) * PAGE_SECTIONS: page * PAGE_SECTIONS]]
    if pages > 1:
        buttons = []
        if page > 1:
            buttons.append(ButtonElement(text=t("board.previous", lang), action_id=f"{action.value}.prev",
                                         value=json.dumps({**value, "page": page - 1})))
        if page < pages:
            buttons.append(ButtonElement(text=t("board.next", lang), action_id=f"{action.value}.next",
                                         value=json.dumps({**value, "page": page + 1})))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=t("board.page", lang, page=page, pages=pages))]))
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def full_board_view(board: Board, lang: str, page: int = 1, feedback=None) -> dict:
    lines: list[str] = []
    if feedback is not None:
        from bot.customer_blocks import coverage_line

        lines.append(coverage_line(feedback.coverage, lang))
    for number, column in enumerate(board.columns, start=1):
        lines.append(t("board.stage", lang, number=number,
                       name=escape(stage_label(column.stage, lang)), counts=_counts(column, lang)))
        lines += _stage_feeling(column, lang, feedback)
        for kind in KINDS:
            if column.notes[kind]:
                lines.append(f"_{kind_label(kind, lang)}_")
                lines += [note_line(n, lang, limit=500, author=True, feedback=feedback)
                          for n in column.notes[kind]]
        lines.append(" ")
    blocks = _pager(pack_sections(lines), page, lang, Action.BOARD_PAGE, {"g": board.group.id})
    return modal(callback_id=Callback.BOARD_FULL, title=t("board.full", lang), submit=None,
                 close=t("close", lang), blocks=blocks,
                 private_metadata=metadata(g=board.group.id, lang=lang))


# --- modals -----------------------------------------------------------------------------------


def _options(pairs) -> list[Option]:
    return [_option(value, label) for value, label in pairs]


def _initial(options: list[Option], value) -> Option | None:
    return next((o for o in options if o.value == str(value)), None) if value is not None \
        else None


def add_view(board: Board, lang: str, prefill: QuickAdd | None = None, *,
             request: str = "") -> dict:
    kinds = _options((k, kind_label(k, lang)) for k in KINDS)
    stages = _options((str(c.stage.id), stage_label(c.stage, lang)) for c in board.columns)
    channels = _options((c, channel_label(c, lang)) for c in CHANNELS)
    scores = _options((str(s), t(f"score.{s}", lang)) for s in SCORES)
    prefill = prefill or QuickAdd(None, None, "")
    group = board.group
    blocks = [
        section(t("add.group", lang, number=group.number,
                  focus=focus_text(group.customer_type, group.channel_focus, lang))),
        _input("kind", t("add.kind", lang), StaticSelectElement(
            options=kinds, initial_option=_initial(kinds, prefill.kind))),
        _input("stage", t("add.stage", lang), StaticSelectElement(
            options=stages, initial_option=_initial(stages, prefill.stage_id))),
        _input("text", t("add.text", lang), PlainTextInputElement(
            multiline=True, initial_value=(prefill.text or None) and prefill.text[:3000]),
            hint=t("add.text.hint", lang)),
        _input("channel", t("add.channel", lang), StaticSelectElement(
            options=channels, initial_option=_initial(channels, prefill.channel)), optional=True),
        _input("score", t("add.score", lang), StaticSelectElement(
            options=scores, initial_option=_initial(scores, prefill.score)), optional=True),
    ]
    return modal(callback_id=Callback.ADD_POST_IT, title=t("add.title", lang),
                 submit=t("add.submit", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(g=group.id, lang=lang, r=request))


def _note_option(note: Note, stage, lang: str) -> Option:
    label = f"{stage_label(stage, lang)} · {kind_label(note.kind, lang)}: {note.text}"
    return _option(str(note.id), plain(label.replace("\n", " "), 75))


def arrange_view(board: Board, lang: str) -> dict:
    notes = [(n, c.stage) for c in board.columns for k in KINDS for n in c.notes[k]]
    shown = sorted(notes, key=lambda pair: -pair[0].id)[:100]
    options = [_note_option(n, s, lang) for n, s in sorted(shown, key=lambda p: p[0].id)]
    stages = _options((str(c.stage.id), stage_label(c.stage, lang)) for c in board.columns)
    blocks: list[Block] = [section(t("arrange.pick", lang))]
    if len(notes) > len(shown):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t(
            "arrange.many", lang, shown=len(shown), total=len(notes)))]))
    if options:
        blocks += [
            _input("post_it", t("arrange.post_it", lang), StaticSelectElement(options=options)),
            _input("stage", t("arrange.stage", lang), StaticSelectElement(options=stages),
                   optional=True),
            _input("position", t("arrange.position", lang), NumberInputElement(min_value=1),
                   optional=True),
            _input("text", t("arrange.text", lang), PlainTextInputElement(multiline=True),
                   optional=True),
            _input("delete", " ", CheckboxesElement(options=[
                _option("delete", t("arrange.delete", lang))]), optional=True),
        ]
    versions = {str(n.id): n.version for n, _ in shown}
    return modal(callback_id=Callback.ARRANGE, title=t("arrange.title", lang),
                 submit=t("save", lang) if options else None, close=t("cancel", lang),
                 blocks=blocks,
                 private_metadata=metadata(g=board.group.id, lang=lang, v=versions))


def stages_view(board: Board, lang: str) -> dict:
    stages = _options((str(c.stage.id), f"{n}. {stage_label(c.stage, lang)}")
                      for n, c in enumerate(board.columns, start=1))
    actions = _options((a, t(f"stages.{a}", lang)) for a in ("rename", "move", "remove", "add"))
    blocks = [
        _input("stage", t("stages.stage", lang), StaticSelectElement(options=stages),
               optional=True),
        _input("action", t("stages.action", lang), StaticSelectElement(options=actions)),
        _input("name", t("stages.name", lang), PlainTextInputElement(max_length=80),
               optional=True),
        _input("position", t("stages.position", lang), NumberInputElement(min_value=1),
               optional=True),
    ]
    return modal(callback_id=Callback.STAGES, title=t("stages.title", lang),
                 submit=t("save", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(g=board.group.id, lang=lang))


def vote_view(items, ballot, workshop, lang: str, *, page: int = 1,
              notice: str | None = None) -> dict:
    """`items`: (note, group number, stage) for every votable post-it of the workshop."""
    stacking = t("vote.stacking", lang) if workshop.vote_stacking else ""
    head: list[Block] = [section(t("vote.budget", lang, used=ballot.used, budget=ballot.budget,
                                   stacking=stacking))]
    if notice:
        head.append(ContextBlock(elements=[MarkdownTextObject(text=f"⚠️ {notice}")]))
    if not items:
        head.append(section(t("vote.none", lang)))
    per_page = PAGE_SECTIONS
    pages = max(1, -(-len(items) // per_page))
    page = max(1, min(page, pages))
    rows: list[Block] = []
    for note, group_number, stage in items[(page - 1) * per_page: page * per_page]:
        mine = ballot.mine.get(note.id, 0)
        text = t("vote.line", lang, kind=kind_label(note.kind, lang), group=group_number,
                 stage=escape(stage_label(stage, lang)),
                 text=escape(plain(note.text, 500)), votes=note.votes,
                 mine=t("vote.mine", lang, n=mine) if mine else "")
        cast = not mine or workshop.vote_stacking
        button = ButtonElement(
            text=t("vote.cast" if cast else "vote.withdraw", lang),
            action_id=(Action.VOTE_CAST if cast else Action.VOTE_WITHDRAW).value,
            value=json.dumps({"p": note.id, "page": page}),
            style="primary" if cast else None)
        rows.append(SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT]),
                                 accessory=button))
        if mine and workshop.vote_stacking:
            rows.append(ActionsBlock(elements=[ButtonElement(
                text=t("vote.withdraw", lang), action_id=Action.VOTE_WITHDRAW.value,
                value=json.dumps({"p": note.id, "page": page}))]))
    nav: list[Block] = []
    if pages > 1:
        nav = [ContextBlock(elements=[MarkdownTextObject(text=t("board.page", lang, page=page,
                                                               pages=pages))]),
               ActionsBlock(elements=[b for b in (
                   ButtonElement(text=t("board.previous", lang), action_id=f"{Action.VOTE_PAGE.value}.prev",
                                 value=json.dumps({"page": page - 1})) if page > 1 else None,
                   ButtonElement(text=t("board.next", lang), action_id=f"{Action.VOTE_PAGE.value}.next",
                                 value=json.dumps({"page": page + 1})) if page < pages else None,
               ) if b])]
    return modal(callback_id=Callback.VOTE, title=t("vote.title", lang), submit=None,
                 close=t("close", lang), blocks=head + [DividerBlock()] + rows + nav,
                 private_metadata=metadata(w=workshop.id, lang=lang, page=page))


def review_view(pending, workshop, lang: str) -> dict:
    """`pending`: (note, group number, stage) awaiting review, at most 45 shown."""
    blocks: list[Block] = [section(t("review.intro", lang, n=len(pending)) if pending
                                   else t("review.none", lang))]
    for note, group_number, stage in pending[:45]:
        text = f"{kind_label(note.kind, lang)} · {group_number} · " \
               f"{escape(stage_label(stage, lang))}\n{escape(plain(note.text, 500))}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text), accessory=ButtonElement(
            text=t("review.hide", lang), action_id=Action.REVIEW_HIDE.value,
            value=str(note.id), style="danger")))
    if pending:
        blocks.append(ActionsBlock(elements=[ButtonElement(
            text=t("review.reveal_all", lang), action_id=Action.REVIEW_REVEAL_ALL.value,
            value=str(workshop.id), style="primary")]))
    return modal(callback_id=Callback.REVIEW, title=t("review.title", lang), submit=None,
                 close=t("close", lang), blocks=blocks,
                 private_metadata=metadata(w=workshop.id, lang=lang))


def settings_view(workshop, lang: str) -> dict:
    options = [_option("stacking", t("settings.stacking", lang)),
               _option("anonymous", t("settings.anonymous", lang))]
    initial = [o for o in options if getattr(workshop, "vote_stacking" if o.value == "stacking"
                                             else "anonymous")]
    blocks = [
        _input("budget", t("settings.budget", lang), NumberInputElement(
            initial_value=workshop.vote_budget, min_value=1, max_value=12)),
        _input("options", t("settings.options", lang), CheckboxesElement(
            options=options, initial_options=initial or None), optional=True),
    ]
    return modal(callback_id=Callback.SETTINGS, title=t("settings.title", lang),
                 submit=t("save", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(w=workshop.id, lang=lang))
