"""Storage on SQLite and PostgreSQL: migrations, workspace scoping, unit of work."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage import Database, UnitOfWork, upgrade
from storage.models import Person, Role
from workflows.workshops import WorkshopDraft, create_workshop, join

DAY1 = datetime(2027, 3, 2, 8, 0, tzinfo=timezone.utc)


def draft(**overrides) -> WorkshopDraft:
    values = dict(name="Parcours boutique", channel_id="C1", language="fr",
                  timezone="Europe/Paris", day1_start=DAY1, day2_start=DAY1 + timedelta(days=1),
                  objectives=(("Raise satisfaction", "CSAT"),), customer_types=("Students",))
    values.update(overrides)
    return WorkshopDraft(**values)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def test_migrations_create_the_schema_and_are_idempotent(db):
    upgrade(db.url)  # a second run changes nothing
    tables = set(inspect(db.engine).get_table_names())
    assert {"workshop", "person", "objective", "alembic_version"} <= tables


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_url):
    database = Database(sqlite_url)
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10000
    database.dispose()


def test_workshop_round_trip_keeps_everything(db):
    with UnitOfWork(db.sessions, "T1", "E1") as uow:
        workshop = create_workshop(uow, draft(), creator="UFAC", creator_locale="fr-FR")
        uow.commit()
        workshop_id = workshop.id
    with UnitOfWork(db.sessions, "T1") as uow:
        stored = uow.workshops.get(workshop_id)
        assert stored.name == "Parcours boutique"
        assert stored.enterprise_id == "E1"
        assert [(o.text, o.kpi) for o in stored.objectives] == [("Raise satisfaction", "CSAT")]
        assert stored.customer_types == ["Students"]
        assert (stored.min_group_size, stored.max_group_size) == (4, 6)
        assert [(p.user_id, p.role) for p in stored.people] == [("UFAC", "facilitator")]
        day1 = stored.day1_start
        assert (day1 if day1.tzinfo else day1.replace(tzinfo=timezone.utc)) == DAY1


def test_another_workspace_sees_nothing(db):
    with UnitOfWork(db.sessions, "T1") as uow:
        workshop_id = create_workshop(uow, draft(), creator="UFAC").id
        uow.commit()
    with UnitOfWork(db.sessions, "T2") as uow:
        assert uow.workshops.get(workshop_id) is None
        assert uow.people.get(workshop_id, "UFAC") is None
        assert uow.people.in_workshop(workshop_id) == []
        assert uow.workshops.for_user("UFAC") == []
        assert uow.workshops.count() == 0


def test_unit_of_work_rolls_back_unless_committed(db):
    with UnitOfWork(db.sessions, "T1") as uow:
        create_workshop(uow, draft(), creator="UFAC")  # no commit
    with UnitOfWork(db.sessions, "T1") as uow:
        assert uow.workshops.count() == 0


def test_one_person_per_user_and_workshop(db):
    with UnitOfWork(db.sessions, "T1") as uow:
        workshop_id = create_workshop(uow, draft(), creator="UFAC").id
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow, pytest.raises(IntegrityError):
        uow.people.add(Person(workshop_id=workshop_id, user_id="UFAC", role=Role.PARTICIPANT))
        uow.commit()


def test_join_and_department_counts(db):
    with UnitOfWork(db.sessions, "T1") as uow:
        workshop_id = create_workshop(uow, draft(), creator="UFAC").id
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        for n, dept in enumerate(["marketing", "marketing", "sales", "legal"]):
            join(uow, workshop_id, f"U{n}", dept)
        uow.commit()
    with UnitOfWork(db.sessions, "T1") as uow:
        assert uow.people.department_counts(workshop_id) == {"marketing": 2, "sales": 1,
                                                             "legal": 1}


def test_migrations_match_the_models(db):
    """What Alembic would autogenerate from the models against the migrated schema: nothing
    (types and server defaults aside, which differ harmlessly between dialects)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = [d for d in compare_metadata(context, Base.metadata)
                if not (isinstance(d, tuple) and d[0] in ("add_table", "remove_table")
                        and d[1].name == "apscheduler_jobs")]
    assert diff == []
