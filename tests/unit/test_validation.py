"""Customer validation rules (workflows/validation.py, workflows/customer_links.py) on a real
SQLite unit of work: registering customers, review pages, saving and resuming, proposals and
the group's decision, marks and coverage, links (signed, expiring, revocable), refusals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage import Database, UnitOfWork
from storage.models import Person, WorkGroup
from workflows import customer_links
from workflows.board import NewPostIt, add_post_it, board_of, ensure_stages, seat_for
from workflows.journey_maps import journey_map
from workflows.problems import Forbidden, Invalid, WorkshopError
from workflows.validation import (
    PAGE_ITEMS,
    CustomerDraft,
    PageAnswers,
    add_customers,
    coverage,
    customer_by_id,
    decide,
    marks,
    page_of,
    parse_web_customers,
    progress,
    proposals,
    resume_at,
    review_pages,
    save_page,
)
from workflows.workshops import WorkshopDraft, create_workshop

DAY1 = datetime(2027, 3, 2, 8, 0, tzinfo=timezone.utc)
SECRET = "s3cret"


@pytest.fixture
def setup(tmp_path):
    """Two groups on "Students" (2 steps in awareness, 1 touchpoint in purchase, on group 1)
    and one on "Families"; UF facilitates, U1/U2 are in group 1."""
    db = Database(f"sqlite:///{tmp_path / 'v.db'}")
    with UnitOfWork(db.sessions, "T1") as uow:
        workshop = create_workshop(uow, WorkshopDraft(
            name="W", channel_id="C1", language="en", timezone="Europe/Paris",
            day1_start=DAY1, day2_start=DAY1 + timedelta(days=1),
            customer_types=("Students", "Families")), creator="UF")
        groups = [uow.groups.add_group(WorkGroup(
            workshop_id=workshop.id, number=n, invited=[], customer_type=t,
            channel_id=f"G{n}")) for n, t in ((1, "Students"), (2, "Families"))]
        for user in ("U1", "U2"):
            uow.people.add(Person(workshop_id=workshop.id, user_id=user, role="participant",
                                  department="cx", group_id=groups[0].id))
        seat = seat_for(uow, "U1", None, group_id=groups[0].id)
        stages = ensure_stages(uow, groups[0])
        ids = [add_post_it(uow, seat, NewPostIt(kind, stages[s].id, text, channel=(
            "website" if kind == "touchpoint" else None)))[0].id
               for kind, s, text in (("step", 0, "Sees an ad"), ("step", 0, "Asks friends"),
                                     ("touchpoint", 2, "Pays online"),
                                     ("pain", 2, "Payment fails"))]
        uow.commit()
        yield db, workshop.id, groups[0].id, groups[1].id, ids
    db.dispose()


def register(db, workshop_id, *drafts):
    with UnitOfWork(db.sessions, "T1") as uow:
        added, _ = add_customers(uow, workshop_id, "UF", list(drafts))
        uow.commit()
        return [c.id for c in added]


def test_only_facilitators_register_known_customer_types(setup):
    db, workshop_id, *_ = setup
    with UnitOfWork(db.sessions, "T1") as uow, pytest.raises(Forbidden):
        add_customers(uow, workshop_id, "U1", [CustomerDraft("Students", user_id="UC1")])
    with UnitOfWork(db.sessions, "T1") as uow, pytest.raises(Invalid) as bad:
        add_customers(uow, workshop_id, "UF", [CustomerDraft("Pensioners", user_id="UC1")])
    assert bad.value.fields["customer_type"].code == "unknown_customer_type"
    with UnitOfWork(db.sessions, "T1") as uow, pytest.raises(Invalid) as bad:
        add_customers(uow, workshop_id, "UF", [CustomerDraft("Students", user_id="U1")])
    assert bad.value.fields["users"].code == "customer_has_role"
    first = register(db, workshop_id, CustomerDraft("students", user_id="UC1"))
    assert register(db, workshop_id, CustomerDraft("Students", user_id="UC1")) == []  # known
    with UnitOfWork(db.sessions, "T1") as uow:
        customer = customer_by_id(uow, first[0])
        assert customer.customer_type == "Students"  # the workshop's spelling
        assert uow.people.get(workshop_id, "UC1").role == "customer"
    with UnitOfWork(db.sessions, "T2") as uow, pytest.raises(Forbidden):
        customer_by_id(uow, first[0])  # another workspace sees nothing


def test_web_customer_lines_name_the_bad_line():
    assert parse_web_customers("Ana Lima <ana@example.org>\n\nBo, BO@example.org") == [
        ("Ana Lima", "ana@example.org"), ("Bo", "bo@example.org")]
    with pytest.raises(Invalid) as bad:
        parse_web_customers("Ana <ana@example.org>\nno email here")
    assert bad.value.fields["web"].params == {"line": 2}


def test_a_customer_reviews_only_their_type_page_by_page_and_resumes(setup):
    db, workshop_id, g1, _g2, ids = setup
    (cid,) = register(db, workshop_id, CustomerDraft("Students", user_id="UC1"))
    with UnitOfWork(db.sessions, "T1") as uow:
        customer = customer_by_id(uow, cid)
        pages = review_pages(uow, customer)
        assert {p.group_id for p in pages} == {g1}  # only their customer type's map
        assert len(pages) == 5  # one per stage
        assert [i.post_it_id for i in pages[0].items] == ids[:2]  # steps, not pain points
        assert [i.post_it_id for i in pages[2].items] == [ids[2]]
        assert resume_at(uow, customer) == 0
        nxt = save_page(uow, customer, 0, PageAnswers(
            {ids[0]: ("yes", None), ids[1]: ("not_quite", "Asks classmates")},
            missing="Reads reviews", feeling=1, feeling_text="curious"))
        assert nxt == 1
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        customer = customer_by_id(uow, cid)
        assert resume_at(uow, customer) == 1
        page = page_of(uow, customer, 0)
        assert [(i.verdict, i.correction) for i in page.items] == [
            ("yes", None), ("not_quite", "Asks classmates")]
        assert (page.missing, page.feeling, page.feeling_text) == ("Reads reviews", 1, "curious")
        group = uow.board.group(g1)
        assert sorted(p.text for p in proposals(uow, group)) == ["Asks classmates",
                                                                 "Reads reviews"]
        # Changing the answer updates the proposal; "yes" withdraws it.
        save_page(uow, customer, 0, PageAnswers({ids[1]: ("yes", None)}, missing=None))
        uow.commit()
        assert proposals(uow, group) == []
        for index in range(1, 5):
            save_page(uow, customer, index, PageAnswers())
        uow.commit()
        assert customer.done_at is not None


def test_bad_answers_are_refused_with_a_reason_and_forged_ones_reveal_nothing(setup):
    db, workshop_id, _g1, _g2, ids = setup
    students, families = register(db, workshop_id,
                                  CustomerDraft("Students", user_id="UC1"),
                                  CustomerDraft("Families", name="Flo", email="flo@example.org"))
    with UnitOfWork(db.sessions, "T1") as uow:
        customer = customer_by_id(uow, students)
        with pytest.raises(Invalid) as bad:
            save_page(uow, customer, 0, PageAnswers({ids[0]: ("not_quite", "  ")}))
        assert bad.value.fields[f"correction_{ids[0]}"].code == "correction_required"
        with pytest.raises(Invalid) as bad:
            save_page(uow, customer, 0, PageAnswers({}, missing="x" * 501, feeling=3))
        assert {f: p.code for f, p in bad.value.fields.items()} == {
            "missing": "text_too_long", "feeling": "score_range"}
        with pytest.raises(Forbidden):
            save_page(uow, customer, 2, PageAnswers({ids[0]: ("yes", None)}))  # not this page
        with pytest.raises(Forbidden):
            save_page(uow, customer, 0, PageAnswers({ids[0]: ("maybe", None)}))
        with pytest.raises(Forbidden):
            save_page(uow, customer, 99, PageAnswers())
        other = customer_by_id(uow, families)  # Families: group 2's map has no post-its
        assert all(not p.items for p in review_pages(uow, other))
        with pytest.raises(Forbidden):
            save_page(uow, other, 0, PageAnswers({ids[0]: ("yes", None)}))


def test_groups_decide_and_the_figures_follow(setup):
    db, workshop_id, g1, _g2, ids = setup
    a, b, c = register(db, workshop_id, *(CustomerDraft("Students", user_id=f"UC{n}")
                                          for n in range(3)))
    verdicts = {a: ("yes", "yes", "never"), b: ("yes", "not_quite", "never"),
                c: ("not_quite", "not_quite", "yes")}
    with UnitOfWork(db.sessions, "T1") as uow:
        for cid, (v0, v1, v2) in verdicts.items():
            customer = customer_by_id(uow, cid)
            save_page(uow, customer, 0, PageAnswers(
                {ids[0]: (v0, "fix" if v0 == "not_quite" else None),
                 ids[1]: (v1, "fix" if v1 == "not_quite" else None)}, feeling=-1))
            save_page(uow, customer, 2, PageAnswers({ids[2]: (v2, None)}))
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        group = uow.board.group(g1)
        found = marks(uow, group)
        assert {pid: (m.mark, m.yes) for pid, m in found.post_its.items()} == {
            ids[0]: ("confirmed", 2), ids[1]: ("corrected", 1), ids[2]: ("rejected", 1)}
        assert set(found.stage_scores.values()) == {-1.0}
        pending = proposals(uow, group)
        assert len(pending) == 3
        seat = seat_for(uow, "U2", None, group_id=g1)
        decide(uow, seat, pending[0].id, accept=True)
        decide(uow, seat, pending[1].id, accept=False)
        with pytest.raises(WorkshopError) as again:
            decide(uow, seat, pending[1].id, accept=True)
        assert again.value.code == "already_decided"
        uow.commit()
        figures = coverage(uow, group)
        assert (figures.items, figures.confirmed, figures.corrected, figures.rejected) == (
            3, 1, 1, 1)
        assert (figures.customers, figures.answered) == (3, 3)
        assert (figures.proposed, figures.accepted, figures.declined) == (1, 1, 1)
        assert figures.percent(figures.confirmed) == 33
        texts = [n.text for col in board_of(uow, group).columns for k in col.notes
                 for n in col.notes[k]]
        assert texts.count("fix") == 1  # only the accepted proposal joins the board
        validated = journey_map(uow, group, version="validated", made_on=DAY1.date(),
                                stage_name=lambda s: s.key or "", group_label="G1",
                                focus_label=lambda f: f)
        assert {(n.text, n.mark) for s in validated.stages for n in s.notes
                if n.kind in ("step", "touchpoint")} == {
            ("Sees an ad", "confirmed"), ("Asks friends", "corrected"),
            ("Pays online", "rejected"), ("fix", "new")}
        hypothetical = journey_map(uow, group, version="hypothetical", made_on=DAY1.date(),
                                   stage_name=lambda s: s.key or "", group_label="G1",
                                   focus_label=lambda f: f)
        assert all(n.origin == "participant" and n.mark is None
                   for s in hypothetical.stages for n in s.notes)
        rows = progress(uow, workshop_id, "UF")
        assert [r.status for r in rows] == ["in_progress"] * 3
        with pytest.raises(Forbidden):
            progress(uow, workshop_id, "U1")


def test_a_customer_outside_the_group_cannot_decide(setup):
    db, workshop_id, g1, _g2, ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        uow.people.add(Person(workshop_id=workshop_id, user_id="UL", role="leadership"))
        uow.commit()
        with pytest.raises(Forbidden):
            decide(uow, seat_for(uow, "UL", None, group_id=g1), ids[0], accept=True)


def test_a_long_stage_is_split_into_pages(setup):
    db, workshop_id, g1, _g2, _ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        group = uow.board.group(g1)
        seat = seat_for(uow, "U1", None, group_id=g1)
        stage = ensure_stages(uow, group)[1]
        for n in range(PAGE_ITEMS + 3):
            add_post_it(uow, seat, NewPostIt("step", stage.id, f"step {n}"))
        uow.commit()
    (cid,) = register(db, workshop_id, CustomerDraft("Students", user_id="UC1"))
    with UnitOfWork(db.sessions, "T1") as uow:
        pages = [p for p in review_pages(uow, customer_by_id(uow, cid)) if p.stage_id
                 == stage.id]
        assert [(p.part, p.parts, len(p.items), p.asks_stage) for p in pages] == [
            (1, 2, PAGE_ITEMS, False), (2, 2, 3, True)]


def test_links_are_signed_expiring_single_customer_and_revocable(setup):
    db, workshop_id, *_ = setup
    (cid,) = register(db, workshop_id, CustomerDraft("Families", name="Flo",
                                                     email="flo@example.org"))
    now = datetime(2027, 3, 3, 9, 0, tzinfo=timezone.utc)
    with UnitOfWork(db.sessions, "T1") as uow:
        customer = customer_by_id(uow, cid)
        token = customer_links.issue(customer, "T1", SECRET, now=now)
        uow.commit()
        claim = customer_links.read(token, SECRET, now=now)
        assert customer_links.check(customer, claim) is customer
        payload, signature = token.split(".")
        for forged in (f"{payload}x.{signature}", f"{payload}.{signature[:-2]}AA", "", "a.b"):
            with pytest.raises(Forbidden) as refused:
                customer_links.read(forged, SECRET, now=now)
            assert refused.value.code == "link_invalid"
        with pytest.raises(Forbidden) as refused:
            customer_links.read(token, "another secret", now=now)
        with pytest.raises(Forbidden) as refused:
            customer_links.read(token, SECRET, now=now + timedelta(days=15))
        assert refused.value.code == "link_expired"
        customer_links.revoke(customer)
        with pytest.raises(Forbidden) as refused:
            customer_links.check(customer, claim)
        assert refused.value.code == "link_revoked"


def test_the_validation_reminder_also_reminds_customers():
    from workflows.phases import HOOKS, hooks

    assert hooks("validation", "reminder") == ("reminder", "remind_customers")
    assert hooks("consolidation", "reminder") == ("reminder",)
    assert "remind_customers" in HOOKS


def test_slack_side_lookups_refuse_other_users_and_non_facilitators(setup):
    from workflows.validation import board_feedback, managed_customer, only_customer, own_customer

    db, workshop_id, g1, g2, ids = setup
    uc1, web = register(db, workshop_id, CustomerDraft("Students", user_id="UC1"),
                        CustomerDraft("Students", name="Ana", email="ana@example.org"))
    with UnitOfWork(db.sessions, "T1") as uow:
        assert own_customer(uow, uc1, "UC1").id == uc1
        for customer_id, user in ((uc1, "UC2"), (web, "UC1"), (99999, "UC1")):
            with pytest.raises(Forbidden):
                own_customer(uow, customer_id, user)
        assert managed_customer(uow, web, "UF").id == web
        with pytest.raises(Forbidden):
            managed_customer(uow, web, "UC1")
        assert only_customer(uow, "UC1") and not only_customer(uow, "U1")
        assert not only_customer(uow, "nobody")
        assert board_feedback(uow, uow.board.group(g2)) is None  # no Families customer
        feedback = board_feedback(uow, uow.board.group(g1))
        assert feedback.coverage.customers == 2 and feedback.mark(ids[0]) is None
    with UnitOfWork(db.sessions, "T2") as uow, pytest.raises(Forbidden):
        own_customer(uow, uc1, "UC1")  # another workspace
