"""The post-it board of a working group: stages, post-its, arranging, dot voting.

Rules live here; storage is reached through the unit of work. Every operation checks who
may do it (authors and facilitators edit, group members and facilitators add, leadership
only reads) and reports problems as data for the Slack layer to word.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from storage.errors import Conflict
from storage.models import Person, PostIt, Role, Stage, Vote, WorkGroup, Workshop
from workflows.problems import Forbidden, Invalid, NotFound, Problem, WorkshopError
from workflows.workshops import require_role

KINDS = ("step", "touchpoint", "action", "emotion", "pain", "opportunity", "kpi")
VOTABLE = ("pain", "opportunity")
DEFAULT_STAGES = ("awareness", "consideration", "purchase", "retention", "advocacy")
CHANNELS = ("website", "store", "email", "sms", "social", "phone", "chat", "ads", "reviews",
            "app", "sales_rep", "support")
MAX_TEXT = 500
MAX_STAGE_NAME = 80
MAX_STAGES = 15
SCORES = range(-2, 3)
MAX_VOTE_BUDGET = 12
# Who may post (role values, compared on every post-it).
_POSTERS = frozenset({Role.PARTICIPANT.value, Role.FACILITATOR.value})


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class NewPostIt:
    kind: str | None
    stage_id: int | None
    text: str | None
    channel: str | None = None
    score: int | None = None


# --- where am I? ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    """The caller's place on a board: the group, its workshop, and the caller's role."""

    group: WorkGroup
    workshop: Workshop
    person: Person

    @property
    def is_facilitator(self) -> bool:
        return self.person.role == Role.FACILITATOR.value


def seat_for(uow, user_id: str, channel_id: str | None, *, group_id: int | None = None) -> Seat:
    """The group the caller works in: the group whose channel this is (or `group_id`), else
    their own group in their newest workshop. Members and facilitators only."""
    row = None
    if group_id is not None or channel_id:
        row = uow.board.seat(user_id, channel_id=channel_id, group_id=group_id)
        if row is None and (group_id is not None or uow.board.group_by_channel(channel_id)):
            # The group exists in this workspace, but the caller has no part in its workshop.
            raise NotFound("workshop_not_found")
    if row is None:
        for _workshop, person in uow.workshops.for_user(user_id):
            if person.group_id is not None:
                row = uow.board.seat(user_id, group_id=person.group_id)
                break
        else:
            raise NotFound("no_group_yet")
    group, workshop, person = row
    if person.role in (Role.LEADERSHIP.value, Role.CUSTOMER.value):
        raise Forbidden("observers_cannot_post")
    if person.role != Role.FACILITATOR.value and person.group_id != group.id:
        raise Forbidden("not_your_group")
    return Seat(group, workshop, person)


# --- stages -------------------------------------------------------------------------------


def ensure_stages(uow, group: WorkGroup) -> list[Stage]:
    """The group's stages, seeded from the default template the first time."""
    stages = uow.board.stages(group.id)
    if not stages:
        stages = [uow.board.add(Stage(group_id=group.id, position=n, key=key))
                  for n, key in enumerate(DEFAULT_STAGES)]
    return stages


def _stage(uow, group: WorkGroup, stage_id: int | None, field_name: str = "stage") -> Stage:
    stage = next((s for s in ensure_stages(uow, group) if s.id == stage_id), None)
    if stage is None:
        raise Invalid({field_name: Problem("unknown_stage")})
    return stage


def _stage_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid({"stage_name": Problem("text_required")})
    if len(name) > MAX_STAGE_NAME:
        raise Invalid({"stage_name": Problem("too_long", {"max": MAX_STAGE_NAME})})
    return name


def add_stage(uow, seat: Seat, name: str, *, position: int | None = None) -> Stage:
    stages = ensure_stages(uow, seat.group)
    if len(stages) >= MAX_STAGES:
        raise Invalid({"stage_name": Problem("too_many", {"max": MAX_STAGES})})
    stage = uow.board.add(Stage(group_id=seat.group.id, position=len(stages),
                                name=_stage_name(name)))
    if position is not None:
        move_stage(uow, seat, stage.id, position)
    return stage


def rename_stage(uow, seat: Seat, stage_id: int, name: str) -> Stage:
    stage = _stage(uow, seat.group, stage_id)
    stage.name = _stage_name(name)
    return stage


def move_stage(uow, seat: Seat, stage_id: int, position: int) -> list[Stage]:
    """Put a stage at `position` (1-based) in the group's order."""
    stages = ensure_stages(uow, seat.group)
    stage = _stage(uow, seat.group, stage_id)
    stages.remove(stage)
    stages.insert(max(0, min(len(stages), position - 1)), stage)
    for n, s in enumerate(stages):
        s.position = n
    return stages


def remove_stage(uow, seat: Seat, stage_id: int) -> None:
    stage = _stage(uow, seat.group, stage_id)
    if any(p.stage_id == stage.id for p in uow.board.post_its(seat.group.id)):
        raise Invalid({"stage": Problem("stage_not_empty")})
    stage.removed_at = now()


# --- post-its -----------------------------------------------------------------------------


def _check(new: NewPostIt, stages: list[Stage]) -> NewPostIt:
    errors: dict[str, Problem] = {}
    text = (new.text or "").strip()
    if new.kind not in KINDS:
        errors["kind"] = Problem("unknown_kind")
    if not any(s.id == new.stage_id for s in stages):
        errors["stage"] = Problem("unknown_stage")
    if not text:
        errors["text"] = Problem("text_required")
    elif len(text) > MAX_TEXT:
        errors["text"] = Problem("text_too_long", {"max": MAX_TEXT, "length": len(text)})
    score = new.score
    if new.kind == "emotion":
        if score is None:
            errors["score"] = Problem("score_required")
        elif score not in SCORES:
            errors["score"] = Problem("score_range")
    else:
        score = None
    channel = (new.channel or None) if new.kind == "touchpoint" else None
    if new.kind == "touchpoint" and channel is None:
        errors["channel"] = Problem("touchpoint_channel")
    if channel is not None and len(channel) > 40:
        errors["channel"] = Problem("too_long", {"max": 40})
    if errors:
        raise Invalid(errors)
    if text == new.text and channel == new.channel and score == new.score:
        return new  # already as stored (a quick-add's usually is)
    return NewPostIt(new.kind, new.stage_id, text, channel, score)


def add_post_it(uow, seat: Seat, new: NewPostIt, *, request_key: str | None = None,
                origin: str = "participant", stages: list[Stage] | None = None,
                store=None) -> tuple[PostIt, bool]:
    """Add a post-it; returns (post-it, created). The same `request_key` twice (a retried
    delivery, a double-submitted modal) returns the first post-it and creates nothing.

    `store(values) -> (post_it, created)`: a storage writer that commits the new post-it
    (its column values) itself, de-duplicating on `request_key` (`Database.post_its.add`, the quick-add hot
    path); without it the post-it is added to the unit of work, for the caller to commit."""
    if seat.person.role not in _POSTERS:
        raise Forbidden("observers_cannot_post")
    if request_key and store is None:
        existing = uow.board.by_request(seat.group.id, request_key)
        if existing is not None:
            return existing, False
    new = _check(new, stages if stages is not None else ensure_stages(uow, seat.group))
    status = "pending" if seat.workshop.anonymous else "visible"
    # New post-its go last in their cell; arranging renumbers a cell 1..n.
    values = dict(
        group_id=seat.group.id, stage_id=new.stage_id, kind=new.kind, text=new.text,
        channel=new.channel, score=new.score, author_id=seat.person.user_id,
        position=time.time(), origin=origin, status=status, request_key=request_key)
    if store is not None:
        return store(values)
    return uow.board.add(PostIt(**values)), True


def _editable(uow, seat: Seat, post_it_id: int, expected_version: int | None) -> PostIt:
    post_it = uow.board.post_it(post_it_id)
    if post_it is None or post_it.group_id != seat.group.id:
        raise NotFound("post_it_not_found")
    if post_it.deleted_at is not None:
        raise WorkshopError("post_it_deleted")
    if post_it.author_id != seat.person.user_id and not seat.is_facilitator:
        raise Forbidden("not_your_post_it")
    if expected_version is not None and post_it.version != expected_version:
        raise WorkshopError("post_it_changed", text=post_it.text)
    return post_it


def _flush(uow, post_it: PostIt) -> None:
    try:
        uow.flush()
    except Conflict:
        raise WorkshopError("post_it_changed", text="") from None


def edit_post_it(uow, seat: Seat, post_it_id: int, *, expected_version: int | None,
                 text: str | None = None, kind: str | None = None, channel: str | None = None,
                 score: int | None = None) -> PostIt:
    post_it = _editable(uow, seat, post_it_id, expected_version)
    checked = _check(NewPostIt(kind or post_it.kind, post_it.stage_id,
                               text if text is not None else post_it.text,
                               channel if channel is not None else post_it.channel,
                               score if score is not None else post_it.score),
                     ensure_stages(uow, seat.group))
    post_it.kind, post_it.text = checked.kind, checked.text
    post_it.channel, post_it.score = checked.channel, checked.score
    post_it.edited_at = now()
    _flush(uow, post_it)  # the version check happens here, against concurrent writers too
    return post_it


def move_post_it(uow, seat: Seat, post_it_id: int, *, stage_id: int, position: int | None,
                 expected_version: int | None) -> PostIt:
    """Move to another stage (and/or place it at `position`, 1-based, within its cell)."""
    post_it = _editable(uow, seat, post_it_id, expected_version)
    _stage(uow, seat.group, stage_id)
    cell = [p for p in uow.board.post_its(seat.group.id)
            if p.stage_id == stage_id and p.kind == post_it.kind and p.id != post_it.id]
    index = len(cell) if position is None else max(0, min(len(cell), position - 1))
    cell.insert(index, post_it)
    post_it.stage_id = stage_id
    for n, p in enumerate(cell, start=1):
        if p.position != n:
            p.position = n
    post_it.edited_at = now()
    _flush(uow, post_it)
    return post_it


def delete_post_it(uow, seat: Seat, post_it_id: int, *, expected_version: int | None = None
                   ) -> PostIt:
    post_it = _editable(uow, seat, post_it_id, expected_version)
    post_it.deleted_at = now()
    _flush(uow, post_it)
    return post_it


def review(uow, seat: Seat, post_it_id: int, *, reveal: bool) -> PostIt:
    """Anonymous mode: a facilitator reveals a pending post-it or hides it."""
    if not seat.is_facilitator:
        raise Forbidden("not_allowed")
    post_it = uow.board.post_it(post_it_id)
    if post_it is None or post_it.deleted_at is not None:
        raise NotFound("post_it_not_found")
    post_it.status = "visible" if reveal else "hidden"
    uow.session.flush()
    return post_it


def reveal_all(uow, workshop: Workshop, by: Person) -> int:
    if by.role != Role.FACILITATOR.value:
        raise Forbidden("not_allowed")
    count = 0
    for group in uow.groups.groups(workshop.id):
        for post_it in uow.board.post_its(group.id):
            if post_it.status == "pending":
                post_it.status = "visible"
                count += 1
    return count


# --- votes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ballot:
    used: int
    budget: int
    mine: dict[int, int] = field(default_factory=dict)

    @property
    def left(self) -> int:
        return self.budget - self.used


def ballot(uow, workshop: Workshop, user_id: str) -> Ballot:
    mine = uow.board.votes_of(workshop.id, user_id)
    return Ballot(sum(mine.values()), workshop.vote_budget, mine)


def _votable(uow, workshop: Workshop, user_id: str, post_it_id: int) -> PostIt:
    person = uow.people.get(workshop.id, user_id)
    if person is None or person.role not in (Role.PARTICIPANT.value, Role.FACILITATOR.value):
        raise Forbidden("only_participants_vote")
    post_it = uow.board.post_it(post_it_id)
    group = uow.board.group(post_it.group_id) if post_it else None
    if post_it is None or group is None or group.workshop_id != workshop.id:
        raise NotFound("post_it_not_found")
    if post_it.deleted_at is not None or post_it.status != "visible":
        raise WorkshopError("post_it_deleted")
    if post_it.kind not in VOTABLE:
        raise WorkshopError("not_votable")
    return post_it


def cast_vote(uow, workshop: Workshop, user_id: str, post_it_id: int) -> Ballot:
    """One dot on a pain point or opportunity of any group, within the voter's budget."""
    _votable(uow, workshop, user_id, post_it_id)
    uow.people.lock(workshop.id, user_id)  # one voter's clicks are applied one at a time
    current = ballot(uow, workshop, user_id)
    if current.used >= current.budget:
        raise WorkshopError("vote_budget_spent", budget=current.budget)
    vote = uow.board.vote(post_it_id, user_id)
    if vote is None:
        uow.board.add(Vote(workshop_id=workshop.id, post_it_id=post_it_id, user_id=user_id,
                           count=1))
    elif not workshop.vote_stacking:
        raise WorkshopError("already_voted")
    else:
        vote.count += 1
    uow.session.flush()
    return ballot(uow, workshop, user_id)


def withdraw_vote(uow, workshop: Workshop, user_id: str, post_it_id: int) -> Ballot:
    uow.people.lock(workshop.id, user_id)
    vote = uow.board.vote(post_it_id, user_id)
    if vote is None or vote.workshop_id != workshop.id:
        raise WorkshopError("no_vote_to_withdraw")
    if vote.count > 1:
        vote.count -= 1
    else:
        uow.board.delete(vote)
    uow.session.flush()
    return ballot(uow, workshop, user_id)


def set_voting(uow, workshop_id: int, by: str, *, budget: int, stacking: bool) -> Workshop:
    workshop = require_role(uow, workshop_id, by, Role.FACILITATOR)
    if not 1 <= budget <= MAX_VOTE_BUDGET:
        raise Invalid({"budget": Problem("group_size_range", {"min": 1, "max": MAX_VOTE_BUDGET})})
    workshop.vote_budget, workshop.vote_stacking = budget, stacking
    return workshop


# --- reading the board ---------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    id: int
    kind: str
    text: str
    channel: str | None
    score: int | None
    author: str | None      # None in anonymous mode
    votes: int
    origin: str
    status: str
    version: int


@dataclass(frozen=True)
class Column:
    stage: Stage
    notes: dict[str, list[Note]]   # kind → notes in board order

    def count(self) -> int:
        return sum(len(v) for v in self.notes.values())


@dataclass(frozen=True)
class Board:
    group: WorkGroup
    workshop: Workshop
    columns: list[Column]
    pending: int          # anonymous mode: post-its awaiting the facilitator's review
    post_its: tuple = field(default=(), repr=False)  # all of the group's, as read

    @property
    def total(self) -> int:
        return sum(c.count() for c in self.columns)


def board_of(uow, group: WorkGroup, *, include_pending: bool = False) -> Board:
    workshop = uow.workshops.get_plain(group.workshop_id)
    stages = ensure_stages(uow, group)
    post_its = uow.board.post_its(group.id)
    votes = uow.board.votes_on([p.id for p in post_its])
    shown = [p for p in post_its if (p.status == "visible" or
             (include_pending and p.status == "pending"))
             and p.review in (None, "accepted")]  # customer proposals: once accepted
    cells: dict[int, dict[str, list[Note]]] = {s.id: {kind: [] for kind in KINDS}
                                               for s in stages}
    anonymous = workshop.anonymous
    for p in shown:  # one pass: each post-it into its stage's cell, in board order
        cell = cells.get(p.stage_id)
        if cell is not None:
            cell[p.kind].append(Note(
                p.id, p.kind, p.text, p.channel, p.score,
                None if anonymous else p.author_id, votes.get(p.id, 0), p.origin,
                p.status, p.version))
    columns = []
    for stage in stages:
        notes = cells[stage.id]
        for kind in VOTABLE:
            notes[kind].sort(key=lambda n: -n.votes)
        columns.append(Column(stage, notes))
    pending = sum(1 for p in post_its if p.status == "pending")
    return Board(group, workshop, columns, pending, tuple(post_its))
