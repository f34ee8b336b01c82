"""Block Kit for the schedule: phase announcements with the facilitator's controls, the
agenda, and the schedule modal. Times are written with Slack's `<!date^…>` token, so each
reader sees them in their own time zone; the fallback text is the workshop's local time."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    HeaderBlock,
    MarkdownTextObject,
    NumberInputElement,
    TimePickerElement,
)

from bot.blocks import _input, _option, message, metadata, modal, section
from bot.i18n import t
from bot.ids import Action, Callback
from bot.text import escape, plain
from workflows.phases import DAY1_PHASES, DAY2_PHASES, PHASES, TIMED, Run, hooks
from workflows.schedule import EDITABLE, local_days

CONTROLS_BLOCK = "schedule.controls"


def phase_label(phase: str, lang: str) -> str:
    return t(f"phase.{phase}", lang)


def slack_time(moment: datetime, tz: str, *, with_date: bool = False,
               date_only: bool = False) -> str:
    """A time each reader sees in their own time zone (fallback: the workshop's)."""
    local = moment.astimezone(ZoneInfo(tz))
    if date_only:
        token, fallback = "{date_short_pretty}", local.strftime("%Y-%m-%d")
    elif with_date:
        token, fallback = "{date_short_pretty} {time}", local.strftime("%Y-%m-%d %H:%M")
    else:
        token, fallback = "{time}", local.strftime("%H:%M")
    if not date_only:
        fallback += f" ({tz})"
    return f"<!date^{int(moment.timestamp())}^{token}|{fallback}>"


def control_value(workshop_id: int, phase: str) -> str:
    """What a control button carries: the workshop and the phase its message showed."""
    return json.dumps({"w": workshop_id, "p": phase}, separators=(",", ":"))


def read_control(value: str | None) -> tuple[int, str | None]:
    try:
        data = json.loads(value or "{}")
        return int(data["w"]), (str(data["p"]) if data.get("p") else None)
    except (ValueError, KeyError, TypeError):
        return 0, None


def _number(phase: str) -> int:
    return TIMED.index(phase) + 1 if phase in TIMED else 0


def when_line(run: Run, phase: str, tz: str, lang: str) -> str:
    """Until when `phase` runs (or what comes next once it ended, or that it is paused)."""
    if phase not in TIMED:
        if phase == "preparation" and "kickoff" in {s.phase for s in run.timetable.slots}:
            return t("schedule.starts", lang, start=slack_time(
                run.timetable.starts_at("kickoff"), tz, with_date=True))
        return ""
    if run.phase == phase and run.paused_at is not None:
        return t("schedule.paused", lang, since=slack_time(run.paused_at, tz))
    slot = run.timetable.slot(phase)
    following = PHASES[PHASES.index(phase) + 1]
    if run.phase == phase and "end" in run.fired and following in TIMED:
        return t("schedule.waiting", lang, next=phase_label(following, lang),
                 start=slack_time(run.timetable.starts_at(following), tz, with_date=True))
    long = slot.duration.total_seconds() > 20 * 3600
    end = slack_time(slot.ends_at, tz, with_date=long)
    if following in TIMED:
        return t("schedule.until.next", lang, end=end, next=phase_label(following, lang))
    return t("schedule.until", lang, end=end)


def controls(workshop_id: int, run: Run, lang: str) -> list[Block]:
    """The facilitator's buttons for the run's current phase (visible to all; the server
    refuses everyone else)."""
    phase = run.phase
    value = control_value(workshop_id, phase)
    if phase == "done":
        return []
    if phase == "preparation":
        buttons = [ButtonElement(text=t("schedule.start_now", lang), style="primary",
                                 action_id=Action.SCHEDULE_NEXT.value, value=value),
                   ButtonElement(text=t("schedule.edit", lang),
                                 action_id=Action.SCHEDULE_EDIT.value, value=value)]
    else:
        pause = (ButtonElement(text=t("schedule.resume", lang), style="primary",
                               action_id=Action.SCHEDULE_RESUME.value, value=value)
                 if run.paused else
                 ButtonElement(text=t("schedule.pause", lang),
                               action_id=Action.SCHEDULE_PAUSE.value, value=value))
        buttons = [ButtonElement(text=t("schedule.next", lang), style="primary",
                                 action_id=Action.SCHEDULE_NEXT.value, value=value),
                   ButtonElement(text=t("schedule.extend", lang),
                                 action_id=Action.SCHEDULE_EXTEND.value, value=value),
                   pause,
                   ButtonElement(text=t("schedule.skip", lang),
                                 action_id=Action.SCHEDULE_SKIP.value, value=value),
                   ButtonElement(text=t("schedule.back", lang),
                                 action_id=Action.SCHEDULE_BACK.value, value=value),
                   ButtonElement(text=t("schedule.edit", lang),
                                 action_id=Action.SCHEDULE_EDIT.value, value=value)]
    return [ActionsBlock(block_id=CONTROLS_BLOCK, elements=buttons),
            ContextBlock(elements=[MarkdownTextObject(text=t("schedule.controls_note", lang))])]


def phase_blocks(workshop, run: Run, phase: str, lang: str, *, with_controls: bool,
                 past: bool = False) -> list[Block]:
    """One phase's announcement: its name, what to do, until when; the controls if it is
    the current phase (and `with_controls`). `past`: the message once the workshop moved on
    (what to do stays; no times, no buttons)."""
    number = _number(phase)
    title = t("schedule.phase_title", lang, phase=phase_label(phase, lang), number=number,
              total=len(TIMED)) if number else phase_label(phase, lang)
    if past:
        title = t("schedule.past", lang, phase=title)
    blocks: list[Block] = [HeaderBlock(text=plain(title, 150)),
                           section(t(f"phase.{phase}.todo", lang))]
    if not past:
        when = when_line(run, phase, workshop.timezone, lang)
        if when:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=when)]))
        if with_controls and run.phase == phase:
            blocks += controls(workshop.id, run, lang)
    return blocks


def phase_message(workshop, run: Run, phase: str, lang: str, *, with_controls: bool = True,
                  past: bool = False) -> tuple[str, list[dict]]:
    blocks = phase_blocks(workshop, run, phase, lang, with_controls=with_controls, past=past)
    text = t("schedule.phase_title", lang, phase=phase_label(phase, lang),
             number=_number(phase), total=len(TIMED)) if _number(phase) else \
        phase_label(phase, lang)
    return text, message(blocks)


def agenda_lines(run: Run, phases, tz: str, lang: str) -> str:
    lines = []
    for phase in phases:
        slot = run.timetable.slot(phase)
        lines.append(t("schedule.agenda.line", lang, start=slack_time(slot.starts_at, tz),
                       end=slack_time(slot.ends_at, tz), phase=phase_label(phase, lang)))
    return "\n".join(lines)


def agenda_blocks(workshop, run: Run, lang: str, *, intro: str,
                  with_controls: bool = True, days: tuple[int, ...] = (1, 2)) -> list[Block]:
    """The agenda (each day's phases with their times) and, if asked, the controls."""
    tz = workshop.timezone
    blocks: list[Block] = [section(intro)]
    for day, phases in ((1, DAY1_PHASES), (2, DAY2_PHASES)):
        if day not in days:
            continue
        first = run.timetable.starts_at(phases[0])
        blocks.append(section(t(f"schedule.day{day}", lang, date=slack_time(
            first, tz, date_only=True)) + "\n" + agenda_lines(run, phases, tz, lang)))
    if with_controls:
        blocks += controls(workshop.id, run, lang)
    return blocks


def kickoff_message(workshop, run: Run, lang: str, *, with_controls: bool = True
                    ) -> tuple[str, list[dict]]:
    """The kick-off announcement: the workshop starts, the day's agenda, then the phase."""
    intro = t("schedule.kickoff", lang, name=escape(workshop.name))
    blocks = agenda_blocks(workshop, run, lang, intro=intro, with_controls=False, days=(1,))
    blocks += phase_blocks(workshop, run, "kickoff", lang, with_controls=with_controls)
    return t("schedule.kickoff", lang, name=escape(workshop.name)), message(blocks)


# --- the schedule modal ---------------------------------------------------------------------


def _minutes(delta) -> int:
    return round(delta.total_seconds() / 60)


def schedule_view(workshop, run: Run, lang: str) -> dict:
    """Every editable phase's start (local time), length and reminder, the two day dates,
    and whether to nudge; the values shown go back in the metadata to spot what changed."""
    tz = workshop.timezone
    zone = ZoneInfo(tz)
    day1, day2 = local_days(run.timetable)
    nudging = any(s.nudge for s in run.timetable.slots if hooks(s.phase, "nudge"))
    nudge_option = _option("nudges", t("schedule.form.nudges", lang))
    blocks: list[Block] = [
        section(t("schedule.form.intro", lang, name=escape(workshop.name), tz=tz)),
        _input("day1_date", t("schedule.form.day1", lang),
               DatePickerElement(initial_date=day1.isoformat())),
        _input("day2_date", t("schedule.form.day2", lang),
               DatePickerElement(initial_date=day2.isoformat())),
        _input("options", t("schedule.form.options", lang), CheckboxesElement(
            options=[nudge_option], initial_options=[nudge_option] if nudging else None),
            optional=True),
    ]
    for phase in EDITABLE:
        slot = run.timetable.slot(phase)
        local = slot.starts_at.astimezone(zone)
        label = phase_label(phase, lang)
        blocks += [
            _input(f"{phase}.start", t("schedule.form.start", lang, phase=label),
                   TimePickerElement(initial_time=local.strftime("%H:%M"))),
            _input(f"{phase}.minutes", t("schedule.form.minutes", lang, phase=label),
                   NumberInputElement(is_decimal_allowed=False,
                                      initial_value=_minutes(slot.length), min_value=1)),
            _input(f"{phase}.reminder", t("schedule.form.reminder", lang, phase=label),
                   NumberInputElement(is_decimal_allowed=False,
                                      initial_value=_minutes(slot.reminder_before),
                                      min_value=0)),
        ]
    return modal(callback_id=Callback.SCHEDULE, title=t("schedule.form.title", lang),
                 submit=t("save", lang), close=t("cancel", lang), blocks=blocks,
                 private_metadata=metadata(w=workshop.id, lang=lang, d1=day1.isoformat(),
                                           d2=day2.isoformat()))


def schedule_errors(fields: dict, lang: str) -> dict[str, str]:
    """Inline errors for the schedule modal, phases named in the user's language."""
    errors = {}
    for field, problem in fields.items():
        params = {k: phase_label(v, lang) if k in ("phase", "previous") and v in PHASES else v
                  for k, v in problem.params.items()}
        key = f"problem.{problem.code}"
        try:
            errors[field] = t(key, lang, **params)
        except KeyError:
            errors[field] = t("problem.schedule_invalid", lang)
    return errors
