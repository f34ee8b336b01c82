"""Day 2: real customers validate or correct the groups' hypothetical maps.

A customer (``storage.models.Customer``) reviews the map of every group working on their
customer type (and channel focus, if they have one), stage by stage, on pages small enough
for a Slack modal (``PAGE_ITEMS`` post-its each): for each step and touchpoint "yes, that's
me" / "not quite" (with a correction) / "never"; what is missing in the stage; how they
felt (−2…+2, with a comment). Answers are saved page by page, so a customer can stop and
resume; answering again replaces the earlier answer.

Corrections and missing steps become customer-flagged post-its (origin "customer", review
"proposed") on the group's board; the group accepts or rejects them during consolidation.
``marks`` and ``coverage`` turn the answers into what the validated map and the leadership
summary show.

Who may do what is checked here: only facilitators register customers, see their progress
and remind them; a customer reaches only their own pages (a forged page, post-it or group
is ``Forbidden``, revealing nothing); answers are accepted only while the schedule allows
``customer_answer``; group members and facilitators decide on proposals while it allows
``accept_corrections``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from storage.models import Customer, CustomerAnswer, Person, PostIt, Role, WorkGroup
from workflows.board import MAX_TEXT, SCORES, Seat, ensure_stages
from workflows.problems import Forbidden, Invalid, NotFound, Problem, WorkshopError
from workflows.schedule import gate
from workflows.workshops import get_workshop, require_role

VERDICTS = ("yes", "not_quite", "never")
REVIEWED_KINDS = ("step", "touchpoint")
PAGE_ITEMS = 12
LANGUAGES = ("en", "fr")
MAX_NAME = 120
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MARK_ORDER = ("corrected", "rejected", "confirmed")  # ties go to the more cautious mark


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _fold(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", (text or "").strip().casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


# --- registering customers --------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerDraft:
    """One customer to register: a Slack user (`user_id`) or a person without Slack
    (`name` and `email`, reviewing through a web link)."""

    customer_type: str
    channel_focus: str | None = None
    language: str = "en"
    user_id: str | None = None
    name: str | None = None
    email: str | None = None


def parse_web_customers(text: str | None) -> list[tuple[str, str]]:
    """Lines "Name <email>", "Name, email" or "Name email" → [(name, email)]. A bad line is
    an ``Invalid`` on field "web" naming the line."""
    people = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = re.match(r"^(?P<name>.*?)[\s,;]*<?(?P<email>[^\s<>,;]+@[^\s<>,;]+)>?$", line)
        if not match or not EMAIL.match(match["email"]) or not match["name"].strip(" ,;"):
            raise Invalid({"web": Problem("customer_line", {"line": number})})
        name = match["name"].strip(" ,;")
        if len(name) > MAX_NAME:
            raise Invalid({"web": Problem("customer_line", {"line": number})})
        people.append((name, match["email"].lower()))
    return people


def customer_types_of(uow, workshop_id: int) -> list[str]:
    """The customer types a customer can be registered with: the workshop's, then its
    groups' (in case groups were given other ones)."""
    workshop = get_workshop(uow, workshop_id)
    types = list(workshop.customer_types or [])
    for group in uow.groups.groups(workshop_id):
        if group.customer_type and _fold(group.customer_type) not in map(_fold, types):
            types.append(group.customer_type)
    return types


def add_customers(uow, workshop_id: int, by: str, drafts: list[CustomerDraft]
                  ) -> tuple[list[Customer], list[Customer]]:
    """Register customers (facilitators only). Returns (added, already registered). A Slack
    customer also gets the customer role in the workshop; someone who already has another
    role there cannot be a customer. Caller commits."""
    workshop = require_role(uow, workshop_id, by, Role.FACILITATOR)
    types = customer_types_of(uow, workshop_id)
    problems: dict[str, Problem] = {}
    for draft in drafts:
        if types and _fold(draft.customer_type) not in map(_fold, types):
            problems["customer_type"] = Problem("unknown_customer_type",
                                                {"types": ", ".join(types)})
        if not (draft.customer_type or "").strip():
            problems["customer_type"] = Problem("customer_type_required")
        if draft.language not in LANGUAGES:
            problems["language"] = Problem("unknown_language")
        if draft.user_id:
            person = uow.people.get(workshop_id, draft.user_id)
            if person is not None and person.role != Role.CUSTOMER.value:
                problems["users"] = Problem("customer_has_role", {
                    "user": draft.user_id, "role": person.role})
    if not drafts:
        problems["users"] = Problem("customers_none")
    if problems:
        raise Invalid(problems)
    added, existing = [], []
    for draft in drafts:
        customer_type = next((t for t in types if _fold(t) == _fold(draft.customer_type)),
                             draft.customer_type.strip())
        found = (uow.customers.of_user(workshop_id, draft.user_id) if draft.user_id else
                 next((c for c in uow.customers.in_workshop(workshop_id)
                       if c.email == draft.email), None))
        if found is not None:
            existing.append(found)
            continue
        added.append(uow.customers.add(Customer(
            workshop_id=workshop.id, user_id=draft.user_id, name=draft.name,
            email=draft.email, customer_type=customer_type,
            channel_focus=draft.channel_focus or None, language=draft.language,
            added_by=by)))
        if draft.user_id and uow.people.get(workshop_id, draft.user_id) is None:
            uow.people.add(Person(workshop_id=workshop.id, user_id=draft.user_id,
                                  role=Role.CUSTOMER.value, locale=draft.language))
    return added, existing


# --- what a customer reviews ------------------------------------------------------------------


def groups_for(uow, customer: Customer) -> list[WorkGroup]:
    """The groups whose maps the customer reviews: same customer type, and the customer's
    channel focus when they have one (groups without a focus included)."""
    return [g for g in uow.groups.groups(customer.workshop_id)
            if _fold(g.customer_type) == _fold(customer.customer_type)
            and (not customer.channel_focus or not g.channel_focus
                 or g.channel_focus == customer.channel_focus)]


def customers_for(uow, group: WorkGroup) -> list[Customer]:
    """The customers who review this group's map."""
    return [c for c in uow.customers.in_workshop(group.workshop_id)
            if group.id in {g.id for g in groups_for(uow, c)}]


@dataclass(frozen=True)
class ReviewItem:
    post_it_id: int
    kind: str
    text: str
    channel: str | None
    verdict: str | None = None       # the customer's saved answer, if any
    correction: str | None = None


@dataclass(frozen=True)
class ReviewPage:
    """One page of a customer's review: (part of) one stage of one group's map."""

    index: int
    total: int
    group_id: int
    group_number: int
    customer_type: str | None
    channel_focus: str | None
    stage_id: int
    stage_key: str | None
    stage_name: str | None
    part: int                        # 1-based part of the stage when it needs several pages
    parts: int
    items: tuple[ReviewItem, ...]
    missing: str | None = None       # saved answers
    feeling: int | None = None
    feeling_text: str | None = None

    @property
    def last(self) -> bool:
        return self.index == self.total - 1

    @property
    def answered(self) -> bool:
        """The customer has said something on this page."""
        return (any(i.verdict for i in self.items) or bool(self.missing)
                or self.feeling is not None)

    @property
    def asks_stage(self) -> bool:
        """The stage questions (missing, feeling) are asked on its last part."""
        return self.part == self.parts


def _reviewed(uow, group: WorkGroup) -> list[PostIt]:
    return [p for p in uow.board.post_its(group.id)
            if p.kind in REVIEWED_KINDS and p.status == "visible" and p.review is None]


def review_pages(uow, customer: Customer) -> list[ReviewPage]:
    """Every page of the customer's review, in order, with their saved answers."""
    answers = {a.key: a for a in uow.customers.answers(customer.id)}
    raw = []
    for group in groups_for(uow, customer):
        post_its = _reviewed(uow, group)
        for stage in ensure_stages(uow, group):
            items = [ReviewItem(p.id, p.kind, p.text, p.channel,
                                answers[f"p:{p.id}"].verdict if f"p:{p.id}" in answers else None,
                                answers[f"p:{p.id}"].text if f"p:{p.id}" in answers else None)
                     for p in post_its if p.stage_id == stage.id]
            chunks = [items[i:i + PAGE_ITEMS] for i in range(0, len(items), PAGE_ITEMS)] or [[]]
            for part, chunk in enumerate(chunks, start=1):
                raw.append((group, stage, part, len(chunks), tuple(chunk)))
    pages = []
    for index, (group, stage, part, parts, items) in enumerate(raw):
        missing, feeling = answers.get(f"m:{stage.id}"), answers.get(f"f:{stage.id}")
        pages.append(ReviewPage(
            index, len(raw), group.id, group.number, group.customer_type, group.channel_focus,
            stage.id, stage.key, stage.name, part, parts, items,
            missing.text if missing else None, feeling.score if feeling else None,
            feeling.text if feeling else None))
    return pages


def page_of(uow, customer: Customer, index: int) -> ReviewPage:
    pages = review_pages(uow, customer)
    if not pages:
        raise NotFound("nothing_to_review")
    if not 0 <= index < len(pages):
        raise Forbidden("not_your_map")
    return pages[index]


def resume_at(uow, customer: Customer) -> int:
    """Where a customer who comes back starts: the first page with nothing answered (the
    first page when they have answered everything or nothing)."""
    pages = review_pages(uow, customer)
    return next((page.index for page in pages if not page.answered), 0)


@dataclass(frozen=True)
class PageAnswers:
    """What the customer submitted on one page. verdicts: post-it id → (verdict or None,
    correction text)."""

    verdicts: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)
    missing: str | None = None
    feeling: int | None = None
    feeling_text: str | None = None


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def _too_long(text: str) -> Problem:
    return Problem("text_too_long", {"max": MAX_TEXT, "length": len(text)})


def _check(page: ReviewPage, answers: PageAnswers) -> None:
    mine = {i.post_it_id for i in page.items}
    if set(answers.verdicts) - mine:
        raise Forbidden("not_your_map")
    problems: dict[str, Problem] = {}
    for post_it_id, (verdict, correction) in answers.verdicts.items():
        correction = _clean(correction)
        if verdict is not None and verdict not in VERDICTS:
            raise Forbidden("not_your_map")  # only a forged value can carry another verdict
        if verdict == "not_quite" and not correction:
            problems[f"correction_{post_it_id}"] = Problem("correction_required")
        if correction and len(correction) > MAX_TEXT:
            problems[f"correction_{post_it_id}"] = _too_long(correction)
    if answers.missing and len(answers.missing.strip()) > MAX_TEXT:
        problems["missing"] = _too_long(answers.missing.strip())
    if answers.feeling_text and len(answers.feeling_text.strip()) > MAX_TEXT:
        problems["feeling_text"] = _too_long(answers.feeling_text.strip())
    if answers.feeling is not None and answers.feeling not in SCORES:
        problems["feeling"] = Problem("score_range")
    if problems:
        raise Invalid(problems)


def _author(customer: Customer) -> str:
    return f"customer:{customer.id}"


def _propose(uow, customer: Customer, answer: CustomerAnswer, *, kind: str, text: str | None,
             corrects: int | None) -> None:
    """Keep the answer's customer-flagged post-it in line with the answer: created, updated
    or withdrawn while the group has not decided on it yet."""
    proposal = uow.board.post_it(answer.proposal_id) if answer.proposal_id else None
    if proposal is not None and proposal.review != "proposed":
        return  # the group has decided: the answer no longer changes the board
    if text is None:
        if proposal is not None:
            proposal.deleted_at = _now()
        answer.proposal_id = None if proposal is None else proposal.id
        return
    if proposal is not None and proposal.deleted_at is None:
        proposal.text = text
        proposal.edited_at = _now()
        return
    post_it = uow.board.add(PostIt(
        group_id=answer.group_id, stage_id=answer.stage_id, kind=kind, text=text,
        author_id=_author(customer), origin="customer", review="proposed",
        corrects_id=corrects, position=_now().timestamp()))
    answer.proposal_id = post_it.id


def _answer(uow, customer: Customer, page: ReviewPage, key: str, item: str, *,
            post_it_id: int | None = None) -> CustomerAnswer:
    answer = uow.customers.answer(customer.id, key)
    if answer is None:
        answer = uow.customers.add_answer(CustomerAnswer(
            customer_id=customer.id, group_id=page.group_id, stage_id=page.stage_id,
            post_it_id=post_it_id, key=key, item=item))
    return answer


def save_page(uow, customer: Customer, index: int, answers: PageAnswers,
              now: datetime | None = None) -> int | None:
    """Save one page's answers (replacing earlier ones). Returns the next page's index, or
    None when this was the last page (the customer is then done). Caller commits."""
    now = now or _now()
    gate(uow, customer.workshop_id, "customer_answer")
    page = page_of(uow, customer, index)
    _check(page, answers)
    kinds = {i.post_it_id: i.kind for i in page.items}
    for post_it_id, (verdict, correction) in answers.verdicts.items():
        if verdict is None:
            continue
        answer = _answer(uow, customer, page, f"p:{post_it_id}", "post_it",
                         post_it_id=post_it_id)
        correction = _clean(correction) if verdict == "not_quite" else None
        answer.verdict, answer.text, answer.answered_at = verdict, correction, now
        _propose(uow, customer, answer, kind=kinds[post_it_id], text=correction,
                 corrects=post_it_id)
    if page.asks_stage:
        missing = _clean(answers.missing)
        if missing or uow.customers.answer(customer.id, f"m:{page.stage_id}"):
            answer = _answer(uow, customer, page, f"m:{page.stage_id}", "missing")
            answer.text, answer.answered_at = missing, now
            _propose(uow, customer, answer, kind="step", text=missing, corrects=None)
        if answers.feeling is not None:
            answer = _answer(uow, customer, page, f"f:{page.stage_id}", "feeling")
            answer.score, answer.text = answers.feeling, _clean(answers.feeling_text)
            answer.answered_at = now
    uow.flush()
    if page.last:
        customer.done_at = customer.done_at or now
        return None
    return index + 1


# --- links and Slack customers --------------------------------------------------------------


def customer_by_id(uow, customer_id: int) -> Customer:
    customer = uow.customers.get(customer_id)
    if customer is None:
        raise Forbidden("not_your_map")
    return customer


# --- the groups' side ---------------------------------------------------------------------


def proposals(uow, group: WorkGroup) -> list[PostIt]:
    """The customer-flagged post-its the group has not decided on yet."""
    return [p for p in uow.board.post_its(group.id)
            if p.origin == "customer" and p.review == "proposed"]


def decide(uow, seat: Seat, post_it_id: int, *, accept: bool) -> PostIt:
    """Accept (the post-it joins the map) or reject a customer's proposal. Group members
    and facilitators, while the schedule allows ``accept_corrections``. Caller commits."""
    if seat.person.role not in (Role.PARTICIPANT.value, Role.FACILITATOR.value) or (
            seat.person.role == Role.PARTICIPANT.value and seat.person.group_id != seat.group.id):
        raise Forbidden("not_allowed", role=seat.person.role, needed="participant,facilitator")
    gate(uow, seat.workshop.id, "accept_corrections")
    post_it = uow.board.post_it(post_it_id)
    if post_it is None or post_it.group_id != seat.group.id or post_it.deleted_at is not None \
            or post_it.origin != "customer":
        raise NotFound("post_it_not_found")
    if post_it.review != "proposed":
        raise WorkshopError("already_decided", decision=post_it.review)
    post_it.review = "accepted" if accept else "rejected"
    post_it.edited_at = _now()
    uow.flush()
    return post_it


# --- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """What customers said of one reviewed post-it."""

    mark: str | None          # confirmed / corrected / rejected; None: nobody answered
    yes: int = 0
    not_quite: int = 0
    never: int = 0


@dataclass(frozen=True)
class Marks:
    """A group's customer answers, ready for its validated map."""

    post_its: dict[int, Mark]              # reviewed post-it id → Mark
    stage_scores: dict[int, float]         # stage id → customers' mean feeling
    stage_comments: dict[int, list[str]]   # stage id → customers' feeling comments


def _mark(counts: Counter) -> str | None:
    if not counts:
        return None
    best = max(counts.values())
    by_mark = {"confirmed": counts["yes"], "corrected": counts["not_quite"],
               "rejected": counts["never"]}
    return next(m for m in MARK_ORDER if by_mark[m] == best)


def marks(uow, group: WorkGroup) -> Marks:
    counts: dict[int, Counter] = defaultdict(Counter)
    feelings: dict[int, list[int]] = defaultdict(list)
    comments: dict[int, list[str]] = defaultdict(list)
    for answer in uow.customers.group_answers(group.id):
        if answer.item == "post_it" and answer.verdict and answer.post_it_id:
            counts[answer.post_it_id][answer.verdict] += 1
        elif answer.item == "feeling" and answer.score is not None:
            feelings[answer.stage_id].append(answer.score)
            if answer.text:
                comments[answer.stage_id].append(answer.text)
    return Marks(
        {pid: Mark(_mark(c), c["yes"], c["not_quite"], c["never"]) for pid, c in counts.items()},
        {sid: sum(v) / len(v) for sid, v in feelings.items()}, dict(comments))


@dataclass(frozen=True)
class Coverage:
    """Per map: how much of it customers reviewed and what they said."""

    group_id: int
    items: int              # steps and touchpoints on the hypothetical map
    confirmed: int
    corrected: int
    rejected: int
    customers: int          # customers who review this map
    answered: int           # ... who answered at least one question on it
    proposed: int           # customer post-its awaiting the group's decision
    accepted: int
    declined: int

    def percent(self, count: int) -> int:
        return round(100 * count / self.items) if self.items else 0

    @property
    def unreviewed(self) -> int:
        return self.items - self.confirmed - self.corrected - self.rejected


def coverage(uow, group: WorkGroup, found: Marks | None = None) -> Coverage:
    """`found`: the group's marks when the caller already has them."""
    reviewed = _reviewed(uow, group)
    found = (found or marks(uow, group)).post_its
    tally = Counter(found[p.id].mark for p in reviewed if p.id in found)
    customers = customers_for(uow, group)
    answering = {a.customer_id for a in uow.customers.group_answers(group.id)}
    flagged = Counter(p.review for p in uow.board.post_its(group.id) if p.origin == "customer")
    return Coverage(group.id, len(reviewed), tally["confirmed"], tally["corrected"],
                    tally["rejected"], len(customers),
                    sum(1 for c in customers if c.id in answering),
                    flagged["proposed"], flagged["accepted"], flagged["rejected"])


@dataclass(frozen=True)
class CustomerProgress:
    customer: Customer
    answered: int           # pages with at least one answer
    pages: int

    @property
    def status(self) -> str:
        if self.customer.done_at:
            return "done"
        if self.answered:
            return "in_progress"
        return "invited" if self.customer.invited_at else "not_invited"


def progress(uow, workshop_id: int, by: str) -> list[CustomerProgress]:
    """Every customer of the workshop and how far they are (facilitators only)."""
    require_role(uow, workshop_id, by, Role.FACILITATOR)
    rows = []
    for customer in uow.customers.in_workshop(workshop_id):
        pages = review_pages(uow, customer)
        rows.append(CustomerProgress(customer, sum(p.answered for p in pages), len(pages)))
    return rows


def claim(uow, workshop_id: int, *, reminder: bool, now: datetime,
          ids: list[int] | None = None) -> list[int]:
    """Mark customers invited (those never invited) or reminded (those invited who have not
    finished: nobody is reminded of an invitation they never got) as of `now`, and return
    their ids; `ids` narrows the choice. The caller commits before sending anything, so a
    double click or a retried job reaches each customer once."""
    chosen = []
    for customer in uow.customers.in_workshop(workshop_id):
        if ids is not None and customer.id not in ids:
            continue
        if reminder and customer.invited_at is not None and customer.done_at is None:
            customer.reminded_at = now
        elif not reminder and customer.invited_at is None:
            customer.invited_at = now
        else:
            continue
        chosen.append(customer.id)
    return chosen


# --- for the Slack side -------------------------------------------------------------------


def own_customer(uow, customer_id: int, user_id: str) -> Customer:
    """The customer entry `customer_id`, if it belongs to the Slack user `user_id` (a forged
    id, another customer's, or another workspace's: ``Forbidden``, revealing nothing)."""
    customer = uow.customers.get(customer_id)
    if customer is None or not customer.user_id or customer.user_id != user_id:
        raise Forbidden("not_your_map")
    return customer


def only_customer(uow, user_id: str) -> bool:
    """The user is in workshops of this workspace only as a customer (so every command but
    status and help is refused: customers only answer, from their invitation)."""
    roles = {person.role for _workshop, person in uow.workshops.for_user(user_id)}
    return roles == {Role.CUSTOMER.value}


def managed_customer(uow, customer_id: int, by: str) -> Customer:
    """A customer of a workshop `by` facilitates (for reminders and links)."""
    customer = uow.customers.get(customer_id)
    if customer is None:
        raise NotFound("customer_not_found")
    require_role(uow, customer.workshop_id, by, Role.FACILITATOR)
    return customer


@dataclass(frozen=True)
class BoardFeedback:
    """What the customers said of one group's map, for its board."""

    marks: Marks
    coverage: Coverage

    def mark(self, post_it_id: int) -> Mark | None:
        return self.marks.post_its.get(post_it_id)


def board_feedback(uow, group: WorkGroup, post_its: list[PostIt] | None = None
                   ) -> BoardFeedback | None:
    """None while no customer reviews this map and nothing came from customers.
    `post_its`: the group's post-its when the caller already has them (the board does)."""
    if post_its is not None and not any(p.origin == "customer" for p in post_its) \
            and not uow.customers.in_workshop(group.workshop_id):
        return None  # day 1, or no customer invited: one query, not five
    found = marks(uow, group)
    figures = coverage(uow, group, found)
    if not figures.customers and not (figures.proposed + figures.accepted + figures.declined):
        return None
    return BoardFeedback(found, figures)
