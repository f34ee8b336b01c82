"""Opportunity owners (workflows/owners.py), the leadership summary that shows them and the
customers' validation (workflows/summary.py), the export's validation columns
(workflows/exports.py) and the leadership channel (workflows/workshops.py), on a real
SQLite unit of work."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage import Database, UnitOfWork
from storage.models import Person, Vote, WorkGroup
from workflows.board import NewPostIt, add_post_it, ensure_stages, seat_for
from workflows.owners import (
    assign_owners,
    clean_owner,
    is_slack_user,
    owned_by,
    owner_choices,
    ranked_opportunities,
)
from workflows.problems import Forbidden, Invalid, WorkshopError
from workflows.schedule import run_of, tick
from workflows.summary import summarise
from workflows.validation import CustomerDraft, PageAnswers, add_customers, save_page
from workflows.workshops import WorkshopDraft, create_workshop, set_leadership_channel

DAY1 = datetime(2027, 3, 2, 8, 0, tzinfo=timezone.utc)


def name(stage) -> str:
    return stage.key or stage.name


@pytest.fixture
def setup(tmp_path):
    """Two "Students" groups; U1 in group 1, U2 in group 2, UL leads; opportunities:
    group 1 "Simulator" (2 votes) and "Callback" (0), group 2 "Save the form" (1)."""
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    with UnitOfWork(db.sessions, "T1") as uow:
        workshop = create_workshop(uow, WorkshopDraft(
            name="W", channel_id="C1", language="en", timezone="Europe/Paris",
            day1_start=DAY1, day2_start=DAY1 + timedelta(days=1),
            objectives=(("Raise satisfaction", "CSAT"),), customer_types=("Students",),
            leadership_channel_id="CLEAD"), creator="UF")
        groups = [uow.groups.add_group(WorkGroup(
            workshop_id=workshop.id, number=n, invited=[], customer_type="Students",
            channel_focus=f, channel_id=f"G{n}")) for n, f in ((1, "online"), (2, "offline"))]
        for n, group in enumerate(groups, start=1):
            uow.people.add(Person(workshop_id=workshop.id, user_id=f"U{n}", role="participant",
                                  department="cx", group_id=group.id))
        uow.people.add(Person(workshop_id=workshop.id, user_id="UL", role="leadership"))
        ids = {}
        for user, text, stage in (("U1", "Simulator", 1), ("U1", "Callback", 3),
                                  ("U2", "Save the form", 2)):
            seat = seat_for(uow, user, None)
            stages = ensure_stages(uow, seat.group)
            ids[text] = add_post_it(uow, seat, NewPostIt("opportunity", stages[stage].id,
                                                         text))[0].id
        seat = seat_for(uow, "U1", None)
        stages = ensure_stages(uow, seat.group)
        ids["step"] = add_post_it(uow, seat, NewPostIt("step", stages[0].id, "Sees an ad"))[0].id
        ids["step2"] = add_post_it(uow, seat, NewPostIt("step", stages[2].id, "Pays"))[0].id
        add_post_it(uow, seat, NewPostIt("emotion", stages[2].id, "Annoyed", score=-2))
        for voter, target in (("U1", "Simulator"), ("U2", "Simulator"), ("U2", "Save the form")):
            uow.board.add(Vote(workshop_id=workshop.id, post_it_id=ids[target], user_id=voter))
        uow.commit()
        yield db, workshop.id, ids
    db.dispose()


def test_opportunities_are_ranked_by_votes_with_their_owner(setup):
    db, workshop_id, ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        ranked = ranked_opportunities(uow, workshop_id, stage_name=name)
        assert [(o.text, o.votes, o.group) for o in ranked] == [
            ("Simulator", 2, 1), ("Save the form", 1, 2), ("Callback", 0, 1)]
        assert all(o.owner is None for o in ranked)


def test_facilitators_assign_any_owner_members_their_group_only_leadership_none(setup):
    db, workshop_id, ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        assert len(owner_choices(uow, workshop_id, "UF", stage_name=name)) == 3
        assert [o.text for o in owner_choices(uow, workshop_id, "U1", stage_name=name)] == [
            "Simulator", "Callback"]
        with pytest.raises(Forbidden):
            owner_choices(uow, workshop_id, "UL", stage_name=name)
        with pytest.raises(Forbidden):
            assign_owners(uow, workshop_id, "U1", {ids["Save the form"]: "U1"})  # group 2's
        with pytest.raises(Forbidden):
            assign_owners(uow, workshop_id, "UF", {ids["step"]: "U1"})  # not an opportunity
        changed = assign_owners(uow, workshop_id, "UF", {
            ids["Simulator"]: clean_owner("UOWNER2", "ignored"),
            ids["Save the form"]: clean_owner(None, "  Finance   team ")})
        assert sorted(changed) == sorted([ids["Simulator"], ids["Save the form"]])
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        owners = {o.text: o.owner for o in ranked_opportunities(uow, workshop_id,
                                                                stage_name=name)}
        assert owners == {"Simulator": "UOWNER2", "Save the form": "Finance team", "Callback": None}
        assert is_slack_user("UOWNER2") and not is_slack_user("Finance team")
        assert [o.text for o in owned_by(uow, workshop_id, stage_name=name)["UOWNER2"]] == [
            "Simulator"]
        assert assign_owners(uow, workshop_id, "UF", {ids["Simulator"]: "UOWNER2"}) == []
        assert assign_owners(uow, workshop_id, "U1", {ids["Simulator"]: None}) == [
            ids["Simulator"]]  # members clear their own group's (before day 1: no gate)


def test_a_name_too_long_is_refused_for_its_field_and_nothing_changes(setup):
    db, workshop_id, ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        with pytest.raises(Invalid) as bad:
            assign_owners(uow, workshop_id, "UF", {ids["Simulator"]: "U2",
                                                   ids["Callback"]: "x" * 121})
        assert set(bad.value.fields) == {f"owner_{ids['Callback']}"}
        assert uow.board.post_it(ids["Simulator"]).owner is None


def test_members_assign_owners_only_once_the_final_maps_are_out(setup):
    db, workshop_id, ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        tick(uow, workshop_id, DAY1 + timedelta(hours=1))  # day 1 is running
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        with pytest.raises(WorkshopError) as refused:
            assign_owners(uow, workshop_id, "U1", {ids["Simulator"]: "U1"})
        assert refused.value.code == "owners_not_open_yet"
        assert assign_owners(uow, workshop_id, "UF", {ids["Simulator"]: "U1"})  # facilitator
        final_maps = run_of(uow, workshop_id).timetable.starts_at("final_maps")
        tick(uow, workshop_id, final_maps + timedelta(minutes=1))
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        assert assign_owners(uow, workshop_id, "U1", {ids["Callback"]: "U1"})


def test_the_summary_shows_owners_validation_coverage_and_lowest_moments(setup):
    db, workshop_id, ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        assign_owners(uow, workshop_id, "UF", {ids["Simulator"]: "U2"})
        summary = summarise(uow, workshop_id, stage_name=name)
        assert not summary.validated and summary.owned == 1
        assert summary.opportunities_total == 3
        assert [(r.text, r.owner) for r in summary.opportunities][:2] == [
            ("Simulator", "U2"), ("Save the form", None)]
        assert summary.lowest_moments == [("Students", "purchase", -2.0)]
        assert summary.objectives == [("Raise satisfaction", "CSAT")]
        (customer,), _ = add_customers(uow, workshop_id, "UF", [
            CustomerDraft("Students", channel_focus="online", user_id="UC1")])
        save_page(uow, customer, 0, PageAnswers({ids["step"]: ("yes", None)}, feeling=1))
        save_page(uow, customer, 2, PageAnswers({ids["step2"]: ("never", None)}, feeling=-1))
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        summary = summarise(uow, workshop_id, stage_name=name)
        assert summary.validated
        first, second = summary.validation
        assert (first.group, first.coverage.items, first.coverage.confirmed,
                first.coverage.rejected, first.coverage.answered) == (1, 2, 1, 1, 1)
        assert first.coverage.percent(first.coverage.confirmed) == 50
        assert second.coverage.answered == 0  # the customer reviews the online map only
        assert summary.customer_lowest == [("Students", "purchase", -1.0)]


def test_only_facilitators_set_the_leadership_channel(setup):
    db, workshop_id, _ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        assert uow.workshops.get(workshop_id).leadership_channel_id == "CLEAD"  # at set-up
        with pytest.raises(Forbidden):
            set_leadership_channel(uow, workshop_id, "U1", "CX")
        assert set_leadership_channel(uow, workshop_id, "UF", None).leadership_channel_id \
            is None


def test_exports_carry_validation_status_review_origin_and_owner(setup):
    from workflows.exports import FIELDS, export_rows, to_csv
    from workflows.validation import decide, proposals

    db, workshop_id, ids = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        assign_owners(uow, workshop_id, "UF", {ids["Simulator"]: "Finance team"})
        (customer,), _ = add_customers(uow, workshop_id, "UF", [
            CustomerDraft("Students", channel_focus="online", user_id="UC1")])
        save_page(uow, customer, 0, PageAnswers({ids["step"]: ("yes", None)},
                                                missing="Asks a friend"))
        save_page(uow, customer, 2, PageAnswers({ids["step2"]: ("not_quite", "Pays by app")}))
        seat = seat_for(uow, "U1", None)
        first, _second = sorted(proposals(uow, seat.group), key=lambda p: p.id)
        decide(uow, seat, first.id, accept=True)
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        rows = export_rows(uow, workshop_id, by="UF", stage_name=name)
    by_text = {r["text"]: r for r in rows}
    assert {"origin", "validation_status", "review", "owner"} <= set(FIELDS)
    assert by_text["Sees an ad"]["validation_status"] == "confirmed"
    assert by_text["Pays"]["validation_status"] == "corrected"
    assert by_text["Asks a friend"]["validation_status"] == "new"
    assert by_text["Asks a friend"]["origin"] == "customer"
    assert by_text["Asks a friend"]["review"] == "accepted"
    assert by_text["Pays by app"]["review"] == "proposed"  # not on the map yet, still exported
    assert by_text["Simulator"]["owner"] == "Finance team"
    assert by_text["Simulator"]["validation_status"] == "hypothetical"
    assert by_text["Sees an ad"]["origin"] == "participant"
    assert "validation_status,review,owner" in to_csv(rows).splitlines()[0]


def test_the_new_workshop_form_keeps_an_optional_leadership_channel():
    from workflows.workshops import WorkshopForm

    form = dict(name="W", channel_id="C1", timezone="Europe/Paris", day1_date="2027-03-02",
                day2_date="2027-03-03")
    assert WorkshopForm(**form, leadership_channel_id="CLEAD").parse().leadership_channel_id \
        == "CLEAD"
    assert WorkshopForm(**form, leadership_channel_id="").parse().leadership_channel_id is None
    assert WorkshopForm(**form).parse().leadership_channel_id is None
