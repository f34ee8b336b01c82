"""Board rules on a real (SQLite) unit of work: adding, arranging, permissions, votes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import Database, UnitOfWork
from storage.models import Person, WorkGroup
from workflows.board import (
    NewPostIt,
    add_post_it,
    add_stage,
    board_of,
    cast_vote,
    delete_post_it,
    edit_post_it,
    ensure_stages,
    move_post_it,
    move_stage,
    remove_stage,
    seat_for,
    withdraw_vote,
)
from workflows.problems import Forbidden, Invalid, WorkshopError
from workflows.workshops import WorkshopDraft, create_workshop

DAY1 = datetime(2027, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return Database(f"sqlite:///{tmp_path_factory.mktemp('board') / 'b.db'}")


@pytest.fixture
def setup(db):
    """A workshop with two groups: U1, U2 in group 1, U3 in group 2; UF facilitates."""
    with UnitOfWork(db.sessions, "T1") as uow:
        workshop = create_workshop(uow, WorkshopDraft(
            name="W", channel_id="C1", language="en", timezone="Europe/Paris",
            day1_start=DAY1, day2_start=DAY1 + timedelta(days=1)), creator="UF")
        g1 = uow.groups.add_group(WorkGroup(workshop_id=workshop.id, number=1, invited=[],
                                            channel_id=f"G1-{workshop.id}"))
        g2 = uow.groups.add_group(WorkGroup(workshop_id=workshop.id, number=2, invited=[],
                                            channel_id=f"G2-{workshop.id}"))
        for user, group in (("U1", g1), ("U2", g1), ("U3", g2), ("UL", None)):
            uow.people.add(Person(workshop_id=workshop.id, user_id=user,
                                  role="leadership" if user == "UL" else "participant",
                                  department="cx", group_id=group.id if group else None))
        uow.commit()
        return db, workshop.id, g1.id, g2.id


def seat(uow, user, group_id):
    return seat_for(uow, user, None, group_id=group_id)


def test_default_stages_and_adding(setup):
    db, workshop_id, g1, _ = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        stages = ensure_stages(uow, uow.board.group(g1))
        assert [s.key for s in stages] == ["awareness", "consideration", "purchase",
                                           "retention", "advocacy"]
        post_it, created = add_post_it(uow, seat(uow, "U1", g1), NewPostIt(
            "pain", stages[2].id, "  Payment <!here> fails  "), request_key="k1")
        again, created_again = add_post_it(uow, seat(uow, "U1", g1), NewPostIt(
            "pain", stages[2].id, "Payment fails"), request_key="k1")
        assert created and not created_again and again.id == post_it.id
        assert post_it.text == "Payment <!here> fails"
        uow.commit()


@pytest.mark.parametrize(("new", "field", "code"), [
    (NewPostIt("pain", None, "x"), "stage", "unknown_stage"),
    (NewPostIt("gripe", 0, "x"), "kind", "unknown_kind"),
    (NewPostIt("pain", 0, "   "), "text", "text_required"),
    (NewPostIt("pain", 0, "x" * 501), "text", "text_too_long"),
    (NewPostIt("emotion", 0, "x", score=3), "score", "score_range"),
    (NewPostIt("emotion", 0, "x"), "score", "score_required"),
])
def test_bad_post_its_are_refused_with_a_reason(setup, new, field, code):
    db, _, g1, _ = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        stages = ensure_stages(uow, uow.board.group(g1))
        if new.stage_id == 0:
            new = NewPostIt(new.kind, stages[0].id, new.text, new.channel, new.score)
        with pytest.raises(Invalid) as caught:
            add_post_it(uow, seat(uow, "U1", g1), new)
        assert caught.value.fields[field].code == code


def test_a_stage_of_another_group_is_refused(setup):
    db, _, g1, g2 = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        other = ensure_stages(uow, uow.board.group(g2))[0]
        with pytest.raises(Invalid):
            add_post_it(uow, seat(uow, "U1", g1), NewPostIt("step", other.id, "x"))
        with pytest.raises(Forbidden):
            seat(uow, "U3", g1)  # not their group
        with pytest.raises(Forbidden):  # leadership observes, never posts
            add_post_it(uow, _leader_seat(uow, g1), NewPostIt("step", other.id, "x"))


def _leader_seat(uow, group_id):
    from workflows.board import Seat

    group = uow.board.group(group_id)
    return Seat(group, uow.workshops.get(group.workshop_id),
                uow.people.get(group.workshop_id, "UL"))


def test_only_authors_and_facilitators_edit_and_versions_guard_edits(setup):
    db, _, g1, _ = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        stage = ensure_stages(uow, uow.board.group(g1))[0]
        post_it, _ = add_post_it(uow, seat(uow, "U1", g1), NewPostIt("step", stage.id, "A"))
        uow.commit()
        version = post_it.version
        with pytest.raises(Forbidden):
            edit_post_it(uow, seat(uow, "U2", g1), post_it.id, expected_version=version,
                         text="B")
        edit_post_it(uow, seat(uow, "UF", g1), post_it.id, expected_version=version, text="B")
        uow.commit()
        with pytest.raises(WorkshopError) as caught:
            edit_post_it(uow, seat(uow, "U1", g1), post_it.id, expected_version=version,
                         text="C")
        assert caught.value.code == "post_it_changed"
        delete_post_it(uow, seat(uow, "U1", g1), post_it.id)
        uow.commit()
        with pytest.raises(WorkshopError) as caught:
            edit_post_it(uow, seat(uow, "U1", g1), post_it.id, expected_version=None, text="D")
        assert caught.value.code == "post_it_deleted"


def test_concurrent_writers_are_told_not_silently_overwritten(setup):
    db, _, g1, _ = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        stage = ensure_stages(uow, uow.board.group(g1))[0]
        post_it_id = add_post_it(uow, seat(uow, "U1", g1), NewPostIt("step", stage.id, "A"))[0].id
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as first, UnitOfWork(db.sessions, "T1") as second:
        a = first.board.post_it(post_it_id)
        b = second.board.post_it(post_it_id)
        assert a.version == b.version
        edit_post_it(first, seat(first, "U1", g1), post_it_id, expected_version=None, text="X")
        first.commit()
        with pytest.raises(WorkshopError) as caught:
            edit_post_it(second, seat(second, "U1", g1), post_it_id, expected_version=None,
                         text="Y")
        assert caught.value.code == "post_it_changed"


def test_votes_respect_budget_and_can_be_withdrawn(setup):
    db, workshop_id, g1, g2 = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        stage = ensure_stages(uow, uow.board.group(g2))[0]
        pains = [add_post_it(uow, seat(uow, "U3", g2), NewPostIt("pain", stage.id, f"p{n}"))[0]
                 for n in range(4)]
        step = add_post_it(uow, seat(uow, "U3", g2), NewPostIt("step", stage.id, "s"))[0]
        uow.commit()
        workshop = uow.workshops.get(workshop_id)
        for p in pains[:3]:
            cast_vote(uow, workshop, "U1", p.id)  # another group's post-its: allowed
        with pytest.raises(WorkshopError) as caught:
            cast_vote(uow, workshop, "U1", pains[3].id)
        assert caught.value.code == "vote_budget_spent"
        withdraw_vote(uow, workshop, "U1", pains[0].id)
        with pytest.raises(WorkshopError) as caught:
            cast_vote(uow, workshop, "U1", pains[1].id)
        assert caught.value.code == "already_voted"
        with pytest.raises(WorkshopError) as caught:
            cast_vote(uow, workshop, "U1", step.id)
        assert caught.value.code == "not_votable"
        with pytest.raises(Forbidden):
            cast_vote(uow, workshop, "UL", pains[0].id)
        uow.commit()
        board = board_of(uow, uow.board.group(g2))
        tallies = [n.votes for n in board.columns[0].notes["pain"]]
        assert tallies == sorted(tallies, reverse=True) and sum(tallies) == 2


def test_stages_can_be_added_moved_and_removed_when_empty(setup):
    db, _, g1, _ = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        s = seat(uow, "U1", g1)
        ensure_stages(uow, s.group)
        new = add_stage(uow, s, "Onboarding")
        order = move_stage(uow, s, new.id, 1)
        assert order[0].id == new.id
        add_post_it(uow, s, NewPostIt("step", new.id, "x"))
        with pytest.raises(Invalid):
            remove_stage(uow, s, new.id)
        remove_stage(uow, s, order[-1].id)
        assert len(ensure_stages(uow, s.group)) == 5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4), st.integers(1, 7)),
                      min_size=1, max_size=12))
def test_board_order_is_a_permutation_after_any_moves(setup, moves):
    """Whatever the moves, every post-it is on the board exactly once, each cell's positions
    are 1..n in order, and a moved post-it lands where it was asked to."""
    db, _, g1, _ = setup
    with UnitOfWork(db.sessions, "T1") as uow:
        s = seat(uow, "U1", g1)
        stages = ensure_stages(uow, s.group)
        ids = [add_post_it(uow, s, NewPostIt("step", stages[0].id, f"n{n}"))[0].id
               for n in range(6)]
        for which, stage_index, position in moves:
            moved = move_post_it(uow, s, ids[which], stage_id=stages[stage_index].id,
                                 position=position, expected_version=None)
            cell = [p for p in uow.board.post_its(g1)
                    if p.stage_id == moved.stage_id and p.kind == "step"]
            assert cell.index(moved) == min(position, len(cell)) - 1
        board = board_of(uow, s.group)
        seen = [n.id for c in board.columns for n in c.notes["step"]]
        assert sorted(set(ids) & set(seen)) == sorted(ids)
        assert len(seen) == len(set(seen))
        uow.rollback()
