"""Schedule storage on SQLite and PostgreSQL: a transition key is recorded once per workshop,
a run written from a stale read is refused, runs are scoped to their workspace, and the
scheduler lease is held by one process at a time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage import Database, UnitOfWork, lease
from storage.errors import Conflict
from storage.models import PhaseTransition, WorkshopSchedule
from workflows.workshops import WorkshopDraft, create_workshop

UTC = timezone.utc
NOW = datetime(2027, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def workshop_id(db) -> int:
    draft = WorkshopDraft(name="Parcours", channel_id="C1", language="fr",
                          timezone="Europe/Paris", day1_start=NOW,
                          day2_start=NOW + timedelta(days=1))
    with UnitOfWork(db.sessions, "T1") as uow:
        workshop = create_workshop(uow, draft, creator="UFAC")  # stores its run
        uow.commit()
        return workshop.id


def transition(workshop_id: int, key: str = "kickoff:start:1") -> PhaseTransition:
    phase, moment, n = key.split(":")
    return PhaseTransition(workshop_id=workshop_id, key=key, phase=phase, moment=moment,
                           n=int(n), at=NOW, applied_at=NOW, outcome="run")


def test_a_transition_key_is_recorded_once_per_workshop(db, workshop_id):
    with UnitOfWork(db.sessions, "T1") as uow:
        uow.schedule.record(transition(workshop_id))
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow, pytest.raises(Conflict):
        uow.schedule.record(transition(workshop_id))
    with UnitOfWork(db.sessions, "T1") as uow:
        uow.schedule.record(transition(workshop_id, "kickoff:start:2"))  # a new entry: fine
        uow.commit()
        assert [t.key for t in uow.schedule.transitions(workshop_id)] == [
            "kickoff:start:1", "kickoff:start:2"]


def test_a_run_written_from_a_stale_read_is_refused(db, workshop_id):
    with UnitOfWork(db.sessions, "T1") as first, UnitOfWork(db.sessions, "T1") as second:
        mine, theirs = first.schedule.get(workshop_id), second.schedule.get(workshop_id)
        mine.run, mine.phase = {"phase": "kickoff"}, "kickoff"
        first.commit()
        theirs.run, theirs.phase = {"phase": "group_formation"}, "group_formation"
        with pytest.raises(Conflict):
            second.flush()
    with UnitOfWork(db.sessions, "T1") as uow:
        assert uow.schedule.get(workshop_id).phase == "kickoff"
        assert uow.schedule.running() == [workshop_id]


def test_a_new_workshop_is_stored_with_its_run(db, workshop_id):
    with UnitOfWork(db.sessions, "T1") as uow:
        assert uow.schedule.get(workshop_id).phase == "preparation"
        assert uow.schedule.unscheduled() == []


def test_runs_are_scoped_to_their_workspace(db, workshop_id):
    with UnitOfWork(db.sessions, "T2") as uow:
        assert uow.schedule.get(workshop_id) is None
        assert uow.schedule.transitions(workshop_id) == []
        assert uow.schedule.running() == [] and uow.schedule.unscheduled() == []
        with pytest.raises(ValueError):
            uow.schedule.add(WorkshopSchedule(workshop_id=workshop_id, phase="preparation",
                                              run={}))


def test_the_lease_has_one_holder_until_it_expires_or_is_released(db):
    assert lease.acquire(db.sessions, "scheduler", "a", seconds=30, now=NOW)
    assert not lease.acquire(db.sessions, "scheduler", "b", seconds=30, now=NOW)
    assert lease.acquire(db.sessions, "scheduler", "a", seconds=30, now=NOW + timedelta(
        seconds=20))  # renewed
    assert lease.holder(db.sessions, "scheduler", now=NOW + timedelta(seconds=45)) == "a"
    later = NOW + timedelta(seconds=51)
    assert lease.acquire(db.sessions, "scheduler", "b", seconds=30, now=later)  # expired
    lease.release(db.sessions, "scheduler", "b")
    assert lease.holder(db.sessions, "scheduler", now=later) is None
    assert lease.acquire(db.sessions, "scheduler", "a", seconds=30, now=later)
