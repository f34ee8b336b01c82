"""The quick-add hot path (issue 4 load): group commit of new post-its and the per-process
snapshot of the caller's seat, re-checked against the database when the post-it is written.

Storage level on SQLite and PostgreSQL, with two `Database` instances standing for two
app processes (one changes the data, the other still holds the old snapshot); and end to
end through the HTTP endpoint: a user moved to another group, a stage added, renamed or
removed, the phase closing posting — each seen by the very next quick-add.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from bot.offline import OfflineSlack
from storage import Database, fast_post_its
from storage.fast_post_its import Stale, seat_facts
from storage.models import Person, PostIt, Stage, WorkGroup, Workshop, WorkshopSchedule
from tests.e2e.conftest import (
    FACILITATOR,
    confirmed_groups,
    create_workshop,
)

TEAM = "T1"


def _seed(db: Database) -> dict:
    start = datetime(2030, 5, 1, 9, tzinfo=timezone.utc)
    with db.sessions() as s:
        w = Workshop(team_id=TEAM, name="W", day1_start=start,
                     day2_start=start + timedelta(days=1), channel_id="CW", created_by="UF")
        s.add(w)
        s.flush()
        g1 = WorkGroup(workshop_id=w.id, number=1, channel_id="CG1")
        g2 = WorkGroup(workshop_id=w.id, number=2, channel_id="CG2")
        s.add_all([g1, g2])
        s.flush()
        s.add(Person(workshop_id=w.id, user_id="U1", role="participant", group_id=g1.id))
        for n, key in enumerate(("awareness", "purchase")):
            s.add(Stage(group_id=g1.id, position=n, key=key))
        s.commit()
        return {"workshop": w.id, "g1": g1.id, "g2": g2.id}


def _facts(db: Database, ids: dict):
    with db.sessions() as s:
        group = s.get(WorkGroup, ids["g1"])
        workshop = s.get(Workshop, ids["workshop"])
        person = s.scalars(select(Person).where(Person.user_id == "U1")).one()
        stages = list(s.scalars(select(Stage).where(
            Stage.group_id == group.id, Stage.removed_at.is_(None))
            .order_by(Stage.position, Stage.id)))
        schedule = s.get(WorkshopSchedule, workshop.id)
        return seat_facts(group, workshop, person, stages, schedule), stages[0].id


def _post_it(ids, stage_id, key, text="idea") -> dict:
    """A new post-it's values, as the writer takes them."""
    return dict(group_id=ids["g1"], stage_id=stage_id, kind="pain", text=text,
                author_id="U1", position=1.0, origin="participant", status="visible",
                request_key=key)


def _count(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(PostIt))


@pytest.fixture
def two(database_url):
    """Two processes' worth of storage on one database."""
    one, other = Database(database_url), Database(database_url, migrate=False)
    yield one, other
    one.dispose()
    other.dispose()


@pytest.mark.parametrize("rows_per_insert", [500, 2])
def test_group_commit_writes_each_post_it_once(two, rows_per_insert, monkeypatch):
    monkeypatch.setattr(fast_post_its, "_ROWS_PER_INSERT", rows_per_insert)  # SQLite chunks
    db, _ = two
    ids = _seed(db)
    facts, stage = _facts(db, ids)
    results: list = []
    lock = threading.Lock()

    def post(n):
        outcome = db.post_its.add(_post_it(ids, stage, f"k{n % 40}", f"idea {n}"), facts)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(80)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(db) == 40  # each request key once
    assert sum(created for _, created in results) == 40
    by_key: dict = {}
    for post_it, _ in results:  # a duplicate answers with the stored post-it
        assert by_key.setdefault(post_it.request_key, post_it.id) == post_it.id
    assert db.post_its.written == 80


@pytest.mark.parametrize("change", ["moved", "role", "stage_added", "stage_removed",
                                    "stage_renamed", "stages_reordered", "schedule",
                                    "language"])
def test_a_stale_snapshot_is_refused_across_processes(two, change):
    mine, theirs = two
    ids = _seed(mine)
    facts, stage = _facts(mine, ids)
    assert mine.post_its.add(_post_it(ids, stage, "a"), facts)[1]
    with theirs.sessions() as s:  # the other process changes what the snapshot assumed
        if change == "moved":
            s.execute(update(Person).values(group_id=ids["g2"]))
        elif change == "role":
            s.execute(update(Person).values(role="leadership"))
        elif change == "stage_added":
            s.add(Stage(group_id=ids["g1"], position=2, name="Onboarding"))
        elif change == "stage_removed":
            s.execute(update(Stage).where(Stage.id != stage).values(
                removed_at=datetime.now(timezone.utc)))
        elif change == "stage_renamed":
            s.execute(update(Stage).where(Stage.id == stage).values(name="Discovery"))
        elif change == "stages_reordered":
            s.execute(update(Stage).where(Stage.id == stage).values(position=5))
        elif change == "schedule":
            s.add(WorkshopSchedule(workshop_id=ids["workshop"], phase="done", run={}))
        elif change == "language":
            s.execute(update(Workshop).values(language="fr"))
        s.commit()
    with pytest.raises(Stale):
        mine.post_its.add(_post_it(ids, stage, "b"), facts)
    assert _count(mine) == 1  # nothing written from the stale snapshot
    fresh, _ = _facts(mine, ids)  # read again: accepted (the rules are the caller's)
    assert mine.post_its.add(_post_it(ids, stage, "b"), fresh)[1]


def test_the_writer_stores_values_as_the_orm_does(two):
    """The SQLite hot path inserts through the driver's cursor: every column must be
    stored in the same form as an ORM insert (dates as SQLAlchemy writes them, ...)."""
    db, _ = two
    ids = _seed(db)
    facts, stage = _facts(db, ids)
    written, _ = db.post_its.add(_post_it(ids, stage, "fast", "fast"), facts)
    with db.sessions() as s:
        s.add(PostIt(**_post_it(ids, stage, "orm", "orm")))
        s.commit()
    with db.engine.connect() as conn:
        rows = {r.request_key: r._asdict() for r in conn.execute(select(PostIt.__table__))}
    fast, orm = rows["fast"], rows["orm"]
    assert fast["id"] == written.id
    for column in fast:
        assert type(fast[column]) is type(orm[column]), column
    with db.engine.connect() as conn:  # as the driver sees them, e.g. the date's text
        raw = {r[0]: r[1:] for r in conn.exec_driver_sql(
            "SELECT request_key, created_at, status, origin FROM post_it")}
    assert [type(v) for v in raw["fast"]] == [type(v) for v in raw["orm"]]
    if db.url.startswith("sqlite"):
        assert len(raw["fast"][0]) == len(raw["orm"][0])  # same text form of the date


def test_verified_facts_are_read_again_once_any_other_connection_commits(two):
    """SQLite: a burst from one writer reads the seats once; a commit by any other
    connection (this process's own sessions included) makes the next batch read them
    again, and a change in it is refused. PostgreSQL reads them every batch."""
    mine, _ = two
    ids = _seed(mine)
    facts, stage = _facts(mine, ids)
    for n in range(3):
        assert mine.post_its.add(_post_it(ids, stage, f"a{n}"), facts)[1]
    sqlite = mine.url.startswith("sqlite")
    assert mine.post_its.checks == (1 if sqlite else 3)
    # SQLite: once checked, a batch is one conditional INSERT (its own transaction).
    assert mine.post_its.unchanged == (2 if sqlite else 0)
    with mine.sessions() as s:  # unrelated: read again, still fine
        s.execute(update(WorkGroup).where(WorkGroup.id == ids["g2"]).values(board_ts="1.2"))
        s.commit()
    assert mine.post_its.add(_post_it(ids, stage, "b"), facts)[1]
    assert mine.post_its.checks == (2 if sqlite else 4)
    assert mine.post_its.unchanged == (2 if sqlite else 0)  # it wrote nothing: checked
    with mine.sessions() as s:  # the same process, another connection: moved
        s.execute(update(Person).values(group_id=ids["g2"]))
        s.commit()
    with pytest.raises(Stale):
        mine.post_its.add(_post_it(ids, stage, "c"), facts)
    assert _count(mine) == 4


def test_one_check_verifies_the_remembered_members_of_the_workshop(two):
    """SQLite: the first quick-add of a burst that must be checked checks the remembered
    facts of its whole workshop, so the other members' first quick-adds read nothing — and a
    member whose remembered facts no longer hold is still refused."""
    db, _ = two
    ids = _seed(db)
    with db.sessions() as s:
        s.add_all([Person(workshop_id=ids["workshop"], user_id=user, role="participant",
                          group_id=ids["g1"]) for user in ("U2", "U3")])
        s.commit()
    facts, stage = _facts(db, ids)
    second = replace(facts, user_id="U2")
    wrong = replace(facts, user_id="U3", schedule_version=99)
    db.post_its.remember(("T1", "U2", "CG1"), object(), second)
    db.post_its.remember(("T1", "U3", "CG1"), object(), wrong)
    assert db.post_its.add(_post_it(ids, stage, "a"), facts)[1]
    assert db.post_its.add({**_post_it(ids, stage, "b"), "author_id": "U2"}, second)[1]
    sqlite = db.url.startswith("sqlite")
    assert db.post_its.checks == (1 if sqlite else 2)
    with pytest.raises(Stale):
        db.post_its.add({**_post_it(ids, stage, "c"), "author_id": "U3"}, wrong)
    assert _count(db) == 2


def test_a_stale_row_in_a_batch_fails_alone(two):
    db, _ = two
    ids = _seed(db)
    facts, stage = _facts(db, ids)
    wrong = replace(facts, schedule_version=99)
    barrier = threading.Barrier(2)
    outcomes: dict = {}

    def post(name, f):
        barrier.wait()
        try:
            outcomes[name] = db.post_its.add(_post_it(ids, stage, name), f)[1]
        except Stale:
            outcomes[name] = "stale"

    threads = [threading.Thread(target=post, args=a) for a in (("ok", facts), ("bad", wrong))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == {"ok": True, "bad": "stale"}
    assert _count(db) == 1


# --- end to end -----------------------------------------------------------------------------


@pytest.fixture
def slack(tmp_path):
    with OfflineSlack(f"sqlite:///{tmp_path / 'e2e.db'}") as offline:
        offline.sandbox.add_user(FACILITATOR, "camille", locale="en-US", tz="Europe/Paris")
        offline.channel = offline.sandbox.add_channel("workshop", members=[FACILITATOR])
        yield offline


@pytest.fixture
def groups(slack):
    create_workshop(slack)
    return confirmed_groups(slack)


def _quick(slack, user, channel, text):
    reply = slack.driver.command(user, f"add {text}", channel_id=channel)
    slack.settle()
    return reply


def _stored(slack) -> list[PostIt]:
    with slack.services.db.sessions() as s:
        return list(s.scalars(select(PostIt).order_by(PostIt.id)))


def _warm(slack, user, channel):
    """Two quick-adds: the first reads and remembers the seat, the second uses it."""
    for n in range(2):
        reply = _quick(slack, user, channel, f"pain purchase: warm {n}")
        assert reply.status == 200 and "Added" in reply.body, reply.body
    assert slack.services.db.post_its.snapshots


def test_a_user_moved_to_another_group_is_seen_by_the_next_quick_add(slack, groups):
    user, channel = next(iter(groups.items()))
    other = next(c for c in groups.values() if c != channel)
    _warm(slack, user, channel)
    with slack.services.db.sessions() as s:  # e.g. another process moved them
        target = s.scalars(select(WorkGroup.id).where(WorkGroup.channel_id == other)).one()
        s.execute(update(Person).where(Person.user_id == user).values(group_id=target))
        s.commit()
    before = len(_stored(slack))
    reply = _quick(slack, user, channel, "pain purchase: after the move")
    assert "Added" not in reply.body
    assert len(_stored(slack)) == before  # not posted to the old group
    reply = _quick(slack, user, other, "pain purchase: in my new group")
    assert "Added" in reply.body
    assert _stored(slack)[-1].text == "in my new group"


def test_one_miss_warms_the_whole_group_and_a_warmed_member_moved_meanwhile_is_refused(
        slack, groups):
    channel = next(iter(groups.values()))
    first, second, third = [u for u, c in groups.items() if c == channel][:3]
    other = next(c for c in groups.values() if c != channel)
    _warm(slack, first, channel)
    team = slack.team_id
    assert {(team, u, channel) for u in (second, third)} <= set(
        slack.services.db.post_its.snapshots)
    reply = _quick(slack, second, channel, "step awareness: warmed by a teammate")
    assert "Added" in reply.body and _stored(slack)[-1].author_id == second
    with slack.services.db.sessions() as s:  # moved after the snapshot was taken
        target = s.scalars(select(WorkGroup.id).where(WorkGroup.channel_id == other)).one()
        s.execute(update(Person).where(Person.user_id == third).values(group_id=target))
        s.commit()
    before = len(_stored(slack))
    reply = _quick(slack, third, channel, "pain purchase: not my group any more")
    assert "Added" not in reply.body and len(_stored(slack)) == before


def test_stage_changes_are_seen_by_the_next_quick_add(slack, groups):
    user, channel = next(iter(groups.items()))
    _warm(slack, user, channel)
    group_id = _stored(slack)[-1].group_id
    with slack.services.db.sessions() as s:
        purchase = s.scalars(select(Stage).where(Stage.group_id == group_id,
                                                 Stage.key == "purchase")).one()
        purchase.name = "Checkout"
        s.add(Stage(group_id=group_id, position=9, name="Onboarding"))
        s.commit()
        checkout = purchase.id
    reply = _quick(slack, user, channel, "pain onboarding: a new stage")
    assert "Added" in reply.body, reply.body
    reply = _quick(slack, user, channel, "pain checkout: a renamed stage")
    assert "Added" in reply.body, reply.body
    assert _stored(slack)[-1].stage_id == checkout
    with slack.services.db.sessions() as s:
        s.execute(update(Stage).where(Stage.name == "Onboarding").values(
            removed_at=datetime.now(timezone.utc)))
        s.commit()
    before = len(_stored(slack))
    reply = _quick(slack, user, channel, "pain onboarding: a removed stage")
    assert "Added" not in reply.body  # not understood any more: the modal opens instead
    assert len(_stored(slack)) == before


def test_the_phase_gate_is_seen_by_the_next_quick_add(slack, groups):
    user, channel = next(iter(groups.items()))
    _warm(slack, user, channel)
    workshop_id = _stored(slack)[-1].group_id
    with slack.services.db.sessions() as s:
        workshop_id = s.get(WorkGroup, workshop_id).workshop_id
        run = s.get(WorkshopSchedule, workshop_id)
        if run is None:
            s.add(WorkshopSchedule(workshop_id=workshop_id, phase="done", run={}))
        else:
            run.phase = "done"  # e.g. the facilitator ended it from another process
        s.commit()
    before = len(_stored(slack))
    reply = _quick(slack, user, channel, "pain purchase: too late")
    assert "Added" not in reply.body
    assert len(_stored(slack)) == before


def test_a_retried_quick_add_is_stored_once_on_the_fast_path(slack, groups):
    user, channel = next(iter(groups.items()))
    _warm(slack, user, channel)
    first = _quick(slack, user, channel, "pain purchase: once")
    again = slack.driver.redeliver()
    slack.settle()
    assert "Added" in first.body and again.status == 200
    assert [p.text for p in _stored(slack)].count("once") == 1


def test_a_confirmed_group_is_remembered_so_its_first_quick_add_reads_nothing(
        slack, groups, monkeypatch):
    """Posting the group's board at confirmation remembers every member's seat: the first
    burst of a workshop does not start with one database read per group (the old p99)."""
    team = slack.team_id
    assert {(team, u, c) for u, c in groups.items()} <= set(
        slack.services.db.post_its.snapshots)
    import bot.listeners.commands as commands

    def no_reads(*_args, **_kwargs):
        raise AssertionError("the seat was read again")

    monkeypatch.setattr(commands, "seat_for", no_reads)
    user, channel = next(iter(groups.items()))
    reply = _quick(slack, user, channel, "pain purchase: first of the day")
    assert "Added" in reply.body, reply.body
    assert _stored(slack)[-1].author_id == user


@given(st.datetimes(timezones=st.none() | st.timezones()))
def test_the_sqlite_date_converter_writes_what_sqlalchemy_writes(moment):
    """The hot path formats dates itself (`datetime.isoformat`, in C): the same text as
    SQLAlchemy's SQLite DATETIME converter, which an ORM insert uses."""
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    impl = DateTime().dialect_impl(dialect)
    ours = fast_post_its._sqlite_datetime(impl, dialect)
    assert ours is not None
    assert ours(moment) == impl.bind_processor(dialect)(moment)
    assert ours(moment.date()) == impl.bind_processor(dialect)(moment.date())
