"""A day-2 workshop ready for web customers, and a plain HTTP client, for the review page
tests (tests/e2e/test_review_web.py, tests/e2e/test_review_browser.py)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from storage.models import Person, WorkGroup, WorkshopSchedule
from tests.e2e.conftest import FACILITATOR
from workflows import customer_links
from workflows.board import NewPostIt, add_post_it, ensure_stages, seat_for
from workflows.phases import Run
from workflows.schedule import operate
from workflows.validation import CustomerDraft, add_customers
from workflows.workshops import WorkshopDraft, create_workshop

UTC = timezone.utc
DAY1 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)


@dataclass
class Seeded:
    workshop_id: int
    groups: list[int]                 # Students, Families
    post_its: dict[str, int]          # name → id
    customers: dict[str, int]         # name → id
    tokens: dict[str, str] = field(default_factory=dict)


def seed(slack) -> Seeded:
    """Group 1 works on "Students" (awareness: two steps whose text needs escaping; purchase:
    a touchpoint and a pain point), group 2 on "Families". Web customers: Ana (Students,
    English), Bruno (Students, French), Chloé (Families, English); each gets a link."""
    channels = [slack.sandbox.add_channel(f"g{n}", is_private=True) for n in (1, 2)]
    with slack.services.uow(slack.team_id) as uow:
        workshop = create_workshop(uow, WorkshopDraft(
            name="Spring journey", channel_id=slack.channel, language="en",
            timezone="Europe/Paris", day1_start=DAY1, day2_start=DAY1 + timedelta(days=1),
            customer_types=("Students", "Families")), creator=FACILITATOR)
        groups = [uow.groups.add_group(WorkGroup(
            workshop_id=workshop.id, number=n, invited=[], customer_type=kind,
            channel_id=channels[n - 1])) for n, kind in ((1, "Students"), (2, "Families"))]
        for user, group in (("UPART1", groups[0]), ("UPART2", groups[1])):
            uow.people.add(Person(workshop_id=workshop.id, user_id=user, role="participant",
                                  department="cx", group_id=group.id))
        post_its = {}
        for name, user, group, stage, kind, text, channel in (
                ("ad", "UPART1", 0, 0, "step", "Sees an ad <script>alert(1)</script>", None),
                ("friends", "UPART1", 0, 0, "step", "Asks friends <!here> & family", None),
                ("pays", "UPART1", 0, 2, "touchpoint", "Pays online", "website"),
                ("pain", "UPART1", 0, 2, "pain", "Payment fails", None),
                ("family", "UPART2", 1, 0, "step", "Hears at school", None)):
            seat = seat_for(uow, user, None, group_id=groups[group].id)
            stages = ensure_stages(uow, groups[group])
            post_its[name] = add_post_it(uow, seat, NewPostIt(
                kind, stages[stage].id, text, channel=channel))[0].id
        drafts = [CustomerDraft("Students", name="Ana Lima", email="ana@example.org"),
                  CustomerDraft("Students", language="fr", name="Bruno Petit",
                                email="bruno@example.org"),
                  CustomerDraft("Families", name="Chloé Roy", email="chloe@example.org")]
        added, _ = add_customers(uow, workshop.id, FACILITATOR, drafts)
        names = ("ana", "bruno", "chloe")
        seeded = Seeded(workshop.id, [g.id for g in groups], post_its,
                        {name: c.id for name, c in zip(names, added, strict=True)})
        secret = slack.settings.review_secret()
        for name, customer in zip(names, added, strict=True):
            seeded.tokens[name] = customer_links.issue(customer, slack.team_id, secret)
        uow.commit()
    return seeded


def move_to(slack, workshop_id: int, phase: str) -> None:
    """Advance the workshop's schedule (as the facilitator) until `phase`."""
    now = datetime.now(UTC)
    for _ in range(20):
        with slack.services.uow(slack.team_id) as uow:
            row = uow.schedule.get(workshop_id)
            if row.phase == phase:
                return
            operate(uow, workshop_id, FACILITATOR, "advance", now)
            uow.commit()
    raise AssertionError(f"never reached {phase}")


def reopen(slack, workshop_id: int, action: str) -> None:
    with slack.services.db.sessions() as session:
        row = session.query(WorkshopSchedule).filter_by(workshop_id=workshop_id).one()
        row.run = Run.from_dict(row.run).reopen(action).to_dict()
        session.commit()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http(url: str, form: dict | list | None = None, *, headers: dict | None = None,
         data: bytes | None = None, method: str | None = None) -> Reply:
    if form is not None:
        data = urllib.parse.urlencode(form, doseq=True).encode()
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    if data is not None and "Content-Type" not in (headers or {}):
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with _opener.open(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers),
                         response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read().decode("utf-8"))
