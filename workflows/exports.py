"""Exports of a workshop: every post-it as rows (CSV / JSON). Facilitators only."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from storage.models import Person, Role, Stage
from workflows.board import (
    KINDS,
    NewPostIt,
    Note,
    Seat,
    add_post_it,
    board_of,
    ensure_stages,
)
from workflows.problems import Invalid, NotFound, Problem
from workflows.quick_add import match_stage
from workflows.validation import REVIEWED_KINDS, marks
from workflows.workshops import require_role

FIELDS = ("workshop", "group", "customer_type", "channel_focus", "stage_position", "stage",
          "lane", "position", "text", "channel", "score", "votes", "origin",
          "validation_status", "review", "owner", "author")
"""`validation_status`: what customers said on day 2 — for reviewed steps and touchpoints
"confirmed", "corrected", "rejected" or "not_reviewed"; "new" for a customer's post-it (a
correction or a missing step; `review` says whether the group accepted it, rejected it or
has not decided yet: "accepted" / "rejected" / "proposed"); "hypothetical" for the rest.
`owner`: who carries an opportunity (a Slack user id or a name)."""


def export_rows(uow, workshop_id: int, *, by: str | None, stage_name: Callable[[Stage], str]
                ) -> list[dict]:
    """One row per visible post-it, in board order (plus customers' proposals the group
    has not accepted, see FIELDS). `by=None` is the command line (the
    operator of the server); otherwise the caller must facilitate the workshop."""
    workshop = uow.workshops.get(workshop_id) if by is None else \
        require_role(uow, workshop_id, by, Role.FACILITATOR)
    if workshop is None:
        raise NotFound("workshop_not_found")
    rows = []
    for group in uow.groups.groups(workshop_id):
        board = board_of(uow, group)
        found = marks(uow, group).post_its
        stored = {p.id: p for p in uow.board.post_its(group.id)}

        # Customer proposals the group has not accepted (yet) are not on the board: they are
        # exported too, after the board's post-its of their lane, so nothing is lost.
        undecided = [p for p in stored.values() if p.origin == "customer"
                     and p.deleted_at is None and p.review in ("proposed", "rejected")]
        for position, column in enumerate(board.columns, start=1):
            extra = [p for p in undecided if p.stage_id == column.stage.id]
            for kind in KINDS:
                notes = column.notes[kind] + [_as_note(p) for p in extra if p.kind == kind]
                for n, note in enumerate(notes, start=1):
                    post_it = stored.get(note.id)
                    rows.append({
                        "workshop": workshop.name, "group": group.number,
                        "customer_type": group.customer_type or "",
                        "channel_focus": group.channel_focus or "",
                        "stage_position": position, "stage": stage_name(column.stage),
                        "lane": kind, "position": n, "text": note.text,
                        "channel": note.channel or "",
                        "score": "" if note.score is None else note.score,
                        "votes": note.votes, "origin": note.origin,
                        "validation_status": _status(note, found),
                        "review": (post_it.review or "") if post_it else "",
                        "owner": (post_it.owner or "") if post_it else "",
                        "author": "" if workshop.anonymous else (note.author or ""),
                    })
    return rows


def _status(note: Note, found: dict) -> str:
    if note.origin == "customer":
        return "new"
    if note.kind in REVIEWED_KINDS:
        mark = found.get(note.id)
        return mark.mark if mark and mark.mark else "not_reviewed"
    return "hypothetical"


def _as_note(post_it) -> Note:
    return Note(post_it.id, post_it.kind, post_it.text, post_it.channel, post_it.score,
                None, 0, post_it.origin, post_it.status, post_it.version)


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(rows: list[dict]) -> str:
    return json.dumps({"fields": list(FIELDS), "post_its": rows}, ensure_ascii=False, indent=2)


# --- import ---------------------------------------------------------------------------------

IMPORT_FIELDS = ("stage", "lane", "text", "channel", "score", "group")


@dataclass(frozen=True)
class ImportReport:
    imported: int
    groups: int


def import_csv(uow, workshop_id: int, text: str, *, stage_names: Callable[[Stage], list[str]],
               author: str) -> ImportReport:
    """Load pre-collected knowledge (touchpoints and their channels, emotions, pain points…)
    into the groups' boards before day 1. Columns: stage, lane, text, and optionally channel,
    score (−2…+2), group (a number: only that group; empty: every group).

    All or nothing: the first bad line raises Invalid with its line number and reason."""
    workshop = uow.workshops.get(workshop_id)
    if workshop is None:
        raise NotFound("workshop_not_found")
    groups = uow.groups.groups(workshop_id)
    if not groups:
        raise Invalid({"file": Problem("import_needs_groups")})
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"stage", "lane", "text"} - set(reader.fieldnames or [])
    if missing:
        raise Invalid({"file": Problem("import_columns", {"missing": ", ".join(sorted(missing))})})
    seats = {}
    for group in groups:
        person = uow.people.get(workshop_id, author) or Person(
            workshop_id=workshop_id, user_id=author, role=Role.FACILITATOR.value)
        seats[group.number] = Seat(group, workshop, person)
    count = 0
    for line, row in enumerate(reader, start=2):
        targets = list(seats.values())
        if (row.get("group") or "").strip():
            number = (row.get("group") or "").strip()
            if not number.isdigit() or int(number) not in seats:
                raise Invalid({"file": Problem("import_line", {
                    "line": line, "field": "group", "code": "unknown_group"})})
            targets = [seats[int(number)]]
        for seat in targets:
            stages = ensure_stages(uow, seat.group)
            stage_id = match_stage(row.get("stage") or "",
                                   {s.id: stage_names(s) for s in stages})
            score = (row.get("score") or "").strip()
            try:
                add_post_it(uow, seat, NewPostIt(
                    (row.get("lane") or "").strip().lower(), stage_id, row.get("text"),
                    (row.get("channel") or "").strip() or None,
                    int(score) if score.lstrip("+-").isdigit() else None),
                    origin="import", stages=stages)
            except Invalid as invalid:
                field, problem = next(iter(invalid.fields.items()))
                raise Invalid({"file": Problem("import_line", {
                    "line": line, "field": {"kind": "lane"}.get(field, field),
                    "code": problem.code, **problem.params})}) from None
            count += 1
    return ImportReport(count, len(groups))
