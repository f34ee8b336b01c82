"""Group commit for new post-its: the quick-add hot path.

Under a burst (200 people typing at once) every request used to take the process's write
lock for its own transaction (look up the request key, insert, commit). Each of those
steps releases and re-takes the GIL, so with a dozen request threads the lock holder
waited for the GIL between steps and the lock became the bottleneck (≈ 6 ms held per
post-it). Here the first request to reach the lock writes every post-it queued meanwhile
in one transaction — the seat check, one multi-row INSERT … RETURNING, one commit —
and the others, finding their post-it already committed, return at once. Nothing is
acknowledged before its post-it is committed.

De-duplication: a post-it whose `(group_id, request_key)` is already stored is not inserted
again (the unique constraint refuses it; the batch is then written one by one, each row
looking its key up) and the stored one is returned with `created=False`; the same key twice
in one batch is caught before the insert. If the batch fails for any other reason, it is
rolled back and every post-it of it is written on its own, so one bad row never loses the
others.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from storage.models import Person, PostIt, Stage, WorkGroup, Workshop, WorkshopSchedule

_TABLE = PostIt.__table__
# A stored request key refused by the unique constraint: through SQLAlchemy, or from the
# SQLite driver's cursor (the SQLite hot path inserts through it).
_INTEGRITY = (IntegrityError, sqlite3.IntegrityError)
_COLUMNS = [c.name for c in _TABLE.columns if c.name != "id"]
_DEFAULTS = [(c.name, c.default) for c in _TABLE.columns
             if c.default is not None and c.name != "id"]
# Built once: a batch runs them with lists bound (expanding IN), so SQLAlchemy neither
# rebuilds nor re-keys them on the hot path.
_SEATS = (select(WorkGroup.id, Person.user_id, WorkGroup.channel_id, WorkGroup.workshop_id,
                 Person.role, Person.group_id, Person.locale, Workshop.language,
                 Workshop.anonymous, WorkshopSchedule.version)
          .join(Workshop, Workshop.id == WorkGroup.workshop_id)
          .join(Person, Person.workshop_id == Workshop.id)
          .outerjoin(WorkshopSchedule, WorkshopSchedule.workshop_id == Workshop.id)
          .where(WorkGroup.id.in_(bindparam("groups", expanding=True)),
                 Person.user_id.in_(bindparam("users", expanding=True))))
_STAGES = (select(Stage.group_id, Stage.id, Stage.position, Stage.key, Stage.name)
           .where(Stage.group_id.in_(bindparam("groups", expanding=True)),
                  Stage.removed_at.is_(None))
           .order_by(Stage.group_id, Stage.position, Stage.id))
_EXISTING = select(_TABLE).where(_TABLE.c.group_id.in_(bindparam("groups", expanding=True)),
                                 _TABLE.c.request_key.in_(bindparam("keys", expanding=True)))
# SQLite: rows per INSERT statement (19 values each; SQLite takes up to 32766 per statement).
_ROWS_PER_INSERT = 500
_INSERT = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
# SQLite: what `_SEATS` and `_STAGES` read, as one row of three JSON arrays (SQLite's json1;
# booleans come back as 0/1, which compare equal to the ORM's): the groups with their
# workshop and run, the people of those workshops, the live stages of those groups.
_SQLITE_FACTS = """
SELECT
 (SELECT json_group_array(json_array(g.id, g.channel_id, g.workshop_id, w.language,
                                     w.anonymous, s.version))
  FROM work_group g JOIN workshop w ON w.id = g.workshop_id
  LEFT OUTER JOIN workshop_schedule s ON s.workshop_id = w.id
  WHERE g.id IN (SELECT value FROM json_each(?1))),
 (SELECT json_group_array(json_array(p.workshop_id, p.user_id, p.role, p.group_id, p.locale))
  FROM person p
  WHERE p.workshop_id IN (SELECT workshop_id FROM work_group
                          WHERE id IN (SELECT value FROM json_each(?1)))
    AND p.user_id IN (SELECT value FROM json_each(?2))),
 (SELECT json_group_array(json_array(group_id, id, position, key, name))
  FROM stage
  WHERE group_id IN (SELECT value FROM json_each(?1)) AND removed_at IS NULL)
"""
# SQLite: what changed since the last batch, and the largest id, in one statement.
_SQLITE_STATE = (f"SELECT data_version, (SELECT max(id) FROM {_TABLE.name}) "
                 "FROM pragma_data_version")


# SQLAlchemy's SQLite DATETIME storage format (its default), which `datetime.isoformat`
# writes the same, in C: `_sqlite_datetime` (a new post-it's creation time is converted on
# every quick-add; SQLAlchemy's own converter formats it field by field, in Python).
_SQLITE_DATETIME_FORMAT = ("%(year)04d-%(month)02d-%(day)02d "
                           "%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d")


def _sqlite_datetime(impl, dialect) -> Any:
    """The converter for a SQLite DATETIME column stored in the default format (else None:
    SQLAlchemy's own converter is used): datetimes as SQLAlchemy writes them, the time
    zone dropped as it does."""
    if getattr(impl, "_storage_format", None) != _SQLITE_DATETIME_FORMAT:
        return None
    fallback = impl.bind_processor(dialect)

    def convert(value):
        if type(value) is datetime:
            return value.isoformat(" ", "microseconds")[:26]
        return fallback(value)

    return convert


class Stale(Exception):
    """What a cached seat snapshot assumed no longer holds: read it again."""


@dataclass(frozen=True)
class SeatFacts:
    """Everything a quick-add decided from, as stored: the group (by its channel), the
    caller's person row, the workshop settings used, the group's live stages in board order
    and the version of the workshop's run (the phase gate). A post-it written with
    `expect=facts` is written only if all of these still hold, checked in the same batch
    transaction, just before the insert — so a per-process cache of them is safe across
    processes: a stale entry is refused (`Stale`), never written."""

    group_id: int
    channel_id: str
    workshop_id: int
    user_id: str
    person: tuple  # (role, group_id, locale)
    workshop: tuple  # (language, anonymous)
    stages: tuple  # ((id, position, key, name), ...) of the live stages, in board order
    schedule_version: int | None  # None: no stored run
    # Hashed once: every batch looks its requests' facts up among the verified ones.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(tuple(
            getattr(self, f.name) for f in fields(self) if f.compare)))

    def __hash__(self) -> int:
        return self._hash


def loaded_schedule(uow, workshop_id: int) -> WorkshopSchedule | None:
    """The workshop's run as this unit of work last read it (the phase gate just did):
    from the session's identity map, so no second query."""
    return uow.session.get(WorkshopSchedule, workshop_id)


def seat_facts(group, workshop, person, stages, schedule) -> SeatFacts:
    return SeatFacts(
        group.id, group.channel_id, workshop.id, person.user_id,
        (person.role, person.group_id, person.locale), (workshop.language, workshop.anonymous),
        tuple((s.id, s.position, s.key, s.name) for s in stages),
        schedule.version if schedule is not None else None)


class _Job:
    """One request's post-it, queued for the next batch."""

    __slots__ = ("row", "expect", "params", "done", "result", "error", "wake")

    def __init__(self, row: dict[str, Any], expect: SeatFacts | None = None,
                 params: tuple = ()) -> None:
        self.row = row
        self.expect = expect
        # SQLite: the row's values as the driver binds them (all but the id), converted by
        # the request itself before it queues, so that the batch's writer — which every
        # other request waits for — only joins them.
        self.params = params
        self.done = False
        self.result: tuple[PostIt, bool] | None = None
        self.error: BaseException | None = None
        # Released (by the request writing the batch) when this job is done or must lead.
        self.wake = threading.Lock()
        self.wake.acquire()

    def stored(self, new_id: int) -> PostIt:
        """The post-it as stored."""
        return _post_it({**self.row, "id": new_id})


_new_post_it = PostIt._sa_class_manager.new_instance


def _post_it(values: dict[str, Any]) -> PostIt:
    """A detached PostIt carrying the stored values (not attached to any session), built
    without the ORM's per-attribute events: a tenth of `PostIt(**values)`."""
    post_it = _new_post_it()
    post_it.__dict__.update(values)
    return post_it


class PostItWriter:
    """Writes new post-its in batches ("group commit"). One per Database."""

    def __init__(self, engine: Engine, lock: threading.Lock | None = None) -> None:
        self.engine = engine
        # SQLite: the Database's write lock, shared with other hot write paths.
        self._lock = lock or threading.Lock()
        self._queue: list[_Job] = []
        self._queue_lock = threading.Lock()
        self._leading = False  # a request is writing a batch (see `add`)
        self._conn: Connection | None = None
        self.batches = 0  # statistics, for benchmarks and tests
        self.written = 0
        self.checks = 0  # batches whose seat facts were read back from the database
        # SQLite: facts verified in an earlier batch still hold while no other connection
        # has committed anything since (`PRAGMA data_version` unchanged): see `_stale`.
        self._sqlite = engine.dialect.name == "sqlite"
        self._verified: set[SeatFacts] = set()
        self._verified_at: int | None = None
        # SQLite: the largest post-it id as this writer last stored or read it (None: read
        # it again), for the one-statement batch (`_write_unchanged`).
        self._last_id: int | None = None
        self.unchanged = 0  # batches written by that one statement (statistics)
        # Every column but the id, in insert order, each None until given or defaulted; the
        # Python-side defaults, as the ORM would apply them (constants, then callables);
        # on SQLite, the columns whose SQLAlchemy type converts what the driver binds (by
        # position in `_COLUMNS`). A row is then one dict update and a few checks.
        self._blank: dict[str, Any] = dict.fromkeys(_COLUMNS)
        self._constants = [(name, d.arg) for name, d in _DEFAULTS if not d.is_callable]
        self._callables = [(name, d.arg) for name, d in _DEFAULTS if d.is_callable]
        self._converts: list[tuple[int, Any]] = []
        for n, name in enumerate(_COLUMNS if self._sqlite else ()):
            impl = _TABLE.c[name].type.dialect_impl(engine.dialect)
            convert = impl.bind_processor(engine.dialect)
            if convert is not None:
                self._converts.append((n, _sqlite_datetime(impl, engine.dialect) or convert))
        # Hot-path snapshots (the caller's seat, stages, language) keyed by the caller's own
        # key; only ever used together with `expect=` facts, re-checked at write time.
        self.snapshots: dict[Any, Any] = {}
        # SQLite: the remembered facts of each workshop's members, checked all at once when
        # one of them must be (the first quick-adds of a burst would otherwise each be
        # checked in turn, a batch per person or group, while every other request waits).
        self._members: dict[int, set[SeatFacts]] = {}

    def remember(self, key: Any, snapshot: Any, facts: SeatFacts | None = None) -> None:
        """Keep a caller's snapshot; `facts`: what it assumes, checked together with the
        rest of its workshop's (see `_stale`)."""
        if len(self.snapshots) >= 50_000:
            self.snapshots.clear()
            self._members.clear()
        self.snapshots[key] = snapshot
        if facts is not None and self._sqlite:
            self._members.setdefault(facts.workshop_id, set()).add(facts)

    def add(self, values: Mapping[str, Any], expect: SeatFacts | None = None
            ) -> tuple[PostIt, bool]:
        """Store a new post-it (its column values), committed before this returns; returns
        the stored post-it and whether it was created (False: its request key was already
        used, and the earlier post-it is returned). `Stale` if `expect` no longer holds
        (nothing written). Values, not a PostIt: building an ORM instance and reading it
        back cost more than the rest of a request's own work."""
        row, params = self._row(values)
        job = _Job(row, expect, params)
        with self._queue_lock:
            self._queue.append(job)
            lead = not self._leading
            self._leading = True
        if not lead:
            # Another request is writing: it writes this post-it in its next batch, or
            # hands this request the lead. Each waiter is woken on its own (not one after
            # the other through a lock, where every wake-up waits for the GIL in turn).
            job.wake.acquire()
        if not job.done:
            self._lead(job)
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _lead(self, job: _Job) -> None:
        """Write everything queued (this request's post-it included), wake its requests,
        then hand the lead to the first request queued meanwhile, if any."""
        with self._queue_lock:
            batch, self._queue = self._queue, []
        try:
            with self._lock:
                self._write(batch)
        finally:
            for other in batch:
                if other is not job:
                    other.wake.release()
            with self._queue_lock:
                following = self._queue[0] if self._queue else None
                self._leading = following is not None
            if following is not None:
                following.wake.release()

    # --- under the lock --------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction on the writer's own connection. Kept for the life of the writer,
        used only under the lock: the batch leader never waits for the pool, where request
        threads holding a session's connection may themselves be waiting for this lock."""
        conn = self._connection()
        try:
            with conn.begin():
                if self._sqlite:
                    # Take SQLite's write lock now, not at the INSERT: nobody can commit
                    # between the checks below and the insert.
                    self._raw(conn).execute("BEGIN IMMEDIATE")
                yield conn
        except BaseException:
            self._last_id = None  # rolled back: read it again
            if self._conn is not None and self._conn.invalidated:
                self._conn.close()  # the connection broke: a fresh one next time
                self._conn = None
            raise

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
            self._verified_at = self._last_id = None  # data_version counts per connection
            if self._sqlite:
                # The writer's own connection, out of the pool for good, in the driver's
                # autocommit mode: a transaction is begun explicitly (BEGIN IMMEDIATE) and
                # a lone INSERT is a transaction of its own (`_write_unchanged`).
                self._conn.detach()
                self._raw(self._conn).isolation_level = None
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _write(self, batch: list[_Job]) -> None:
        try:
            try:
                # Request keys are not looked up first: the unique constraint on
                # (group, request key) refuses a replay, and the batch is then written
                # one by one, each looking its key up (a replay is rare; a query in
                # every batch of a burst is not).
                results = self._write_unchanged(batch) if self._sqlite else None
                if results is None:
                    with self._transaction() as conn:
                        results = self._insert(conn, batch, look_up=False)
                for job, result in zip(batch, results, strict=True):
                    if isinstance(result, Stale):
                        job.error = result
                    else:
                        job.result = result
                self.batches += 1
                self.written += len(batch)
            except _INTEGRITY:
                for job in batch:  # a request key already stored: its post-it answers
                    self._write_one(job)
            except Exception:
                if len(batch) == 1:
                    raise
                for job in batch:  # one by one: a failing row fails alone
                    self._write_one(job)
        except BaseException as error:  # noqa: BLE001 — handed to the waiting request
            for job in batch:
                if job.result is None and job.error is None:
                    job.error = error
        finally:
            for job in batch:
                job.done = True

    def _write_one(self, job: _Job) -> None:
        try:
            with self._transaction() as conn:
                result = self._insert(conn, [job])[0]
            if isinstance(result, Stale):
                job.error = result
                return
            job.result = result
            self.batches += 1
            self.written += 1
        except _INTEGRITY as error:
            # Another process stored the same request key after our lookup: its post-it
            # is the answer. Anything else (a vanished group or stage) is a real error.
            existing = None
            if job.row.get("request_key"):
                with self._transaction() as conn:
                    existing = self._existing(conn, [job]).get(
                        (job.row["group_id"], job.row["request_key"]))
            if existing is None:
                job.error = error
            else:
                job.result = (existing, False)
        except Exception as error:  # noqa: BLE001
            job.error = error

    @staticmethod
    def _existing(conn, jobs: list[_Job]) -> dict[tuple[int, str], PostIt]:
        keys = {(j.row["group_id"], j.row["request_key"]) for j in jobs if j.row["request_key"]}
        if not keys:
            return {}
        rows = conn.execute(_EXISTING, {"groups": list({g for g, _ in keys}),
                                        "keys": list({k for _, k in keys})}).mappings()
        return {(r["group_id"], r["request_key"]): _post_it(dict(r)) for r in rows
                if (r["group_id"], r["request_key"]) in keys}

    def _write_unchanged(self, batch: list[_Job]) -> list[tuple[PostIt, bool]] | None:
        """SQLite, in a burst: the whole batch in one statement, hence one transaction and
        one trip into SQLite (each trip releases the GIL, and taking it back waits behind
        every other thread of a busy process). Possible when every seat fact of the batch
        was verified by an earlier batch of this connection: the INSERT writes its rows
        only if `PRAGMA data_version` is still the one they were verified at — read inside
        the statement, which holds the write lock, so nobody can commit in between — and
        new ids follow the largest id this writer stored. Otherwise (or if another
        connection committed meanwhile: 0 rows written) None, and the batch takes the
        checked path (`_insert`)."""
        if self._last_id is None or self._verified_at is None or self._conn is None \
                or self._conn.invalidated or len(batch) > _ROWS_PER_INSERT \
                or any(j.expect is not None and j.expect not in self._verified for j in batch):
            return None
        keys = {(j.row["group_id"], j.row["request_key"]) for j in batch}
        if len(keys) != len(batch):
            return None  # the same request twice in one batch: `_insert` answers both
        first = self._last_id + 1
        try:
            written = self._insert_if_unchanged(self._conn, [j.params for j in batch], first)
        except BaseException:
            self._last_id = None  # nothing written (one statement): read it again
            raise
        if not written:
            return None  # another connection committed: check everything again
        self._last_id = first + len(batch) - 1
        self.unchanged += 1
        return [(job.stored(first + n), True) for n, job in enumerate(batch)]

    def _insert_if_unchanged(self, conn, rows: list[tuple], first_id: int) -> bool:
        """SQLite: one INSERT of `rows` (bound values, `_Job.params`), with ids from
        `first_id`, written only if `PRAGMA data_version` is still `_verified_at`. False if
        it wrote nothing."""
        params = []
        for n, row in enumerate(rows):
            params.append(first_id + n)
            params.extend(row)
        params.append(self._verified_at)
        cursor = self._raw(conn).execute(self._unchanged_sql(len(rows)), params)
        return cursor.rowcount == len(rows)

    @staticmethod
    @lru_cache(maxsize=64)  # a few batch sizes
    def _unchanged_sql(rows: int) -> str:
        row = f"({', '.join('?' * (len(_COLUMNS) + 1))})"
        return (f"INSERT INTO {_TABLE.name} (id, {', '.join(_COLUMNS)}) "
                f"SELECT * FROM (VALUES {', '.join([row] * rows)}) "
                "WHERE (SELECT data_version FROM pragma_data_version) = ?")

    def _row(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], tuple]:
        """A new post-it's row (every column but the id, Python-side defaults applied) and,
        on SQLite, its values as the driver binds them, each converted by its column's
        SQLAlchemy type, as an ORM insert would."""
        row = self._blank.copy()
        row.update(values)  # the columns keep their insert order
        if len(row) != len(self._blank):
            raise TypeError(f"not columns of post_it: {sorted(set(row) - set(self._blank))}")
        for name, value in self._constants:
            if row[name] is None:
                row[name] = value
        for name, make in self._callables:
            if row[name] is None:
                row[name] = make(None)
        if not self._sqlite:
            return row, ()
        params = list(row.values())
        for n, convert in self._converts:
            if params[n] is not None:
                params[n] = convert(params[n])
        return row, tuple(params)

    def _read_state(self, conn) -> None:
        """SQLite: forget the verified facts if another connection committed since they
        were checked (`PRAGMA data_version`), and read the largest post-it id (one SELECT,
        in the batch's transaction)."""
        version, last_id = self._raw(conn).execute(_SQLITE_STATE).fetchone()
        if version != self._verified_at or len(self._verified) > 50_000:
            self._verified.clear()
            self._verified_at = version
        self._last_id = last_id or 0

    def _stale(self, conn, jobs: list[_Job]) -> set[int]:
        """Indexes of the jobs whose `expect` facts no longer hold (SQLite: one statement,
        one row; PostgreSQL: 2 queries a batch).

        On SQLite, facts already verified by an earlier batch are not read again while
        `PRAGMA data_version` is unchanged: it changes whenever another connection (of
        this process or another) commits, and the batch holds the write lock (BEGIN
        IMMEDIATE), so nothing can change between this check and the insert. In a burst,
        where only this writer writes, a batch then reads one pragma instead of every
        seat and stage of its groups."""
        checked = [(n, j.expect) for n, j in enumerate(jobs)
                   if j.expect is not None and j.expect not in self._verified]
        if not checked:
            return set()
        self.checks += 1
        groups = list({e.group_id for _, e in checked})
        if self._sqlite:
            # Every remembered member of these workshops is checked too (one statement):
            # the first quick-adds of a burst then read nothing, instead of each taking a
            # checked batch in turn while every other request waits.
            # (Copied with tuple(): request threads add to these sets meanwhile.)
            members = [f for w in {e.workshop_id for _, e in checked}
                       for f in tuple(self._members.get(w, ())) if f not in self._verified]
            groups = list(set(groups) | {f.group_id for f in members})
            users = list({e.user_id for _, e in checked} | {f.user_id for f in members})
            group_rows, person_rows, stage_rows = (
                json.loads(rows) for rows in self._raw(conn).execute(
                    _SQLITE_FACTS, (json.dumps(groups), json.dumps(users))).fetchone())
            by_id = {g[0]: g for g in group_rows}  # (id, channel, workshop, language, ...)
            people = {(r[0], r[1]): tuple(r[2:]) for r in person_rows}
            seats = {}
            for e in [e for _, e in checked] + members:  # only the seats asked about
                group = by_id.get(e.group_id)
                person = people.get((group[2], e.user_id)) if group else None
                if person is not None:
                    seats[(e.group_id, e.user_id)] = (*group[1:3], *person, *group[3:])
            stage_rows.sort(key=lambda r: (r[0], r[2], r[1]))  # board order
        else:
            members = []
            users = list({e.user_id for _, e in checked})
            seats = {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(
                _SEATS, {"groups": groups, "users": users})}
            stage_rows = conn.execute(_STAGES, {"groups": groups}).all()
        stages: dict[int, list[tuple]] = {}
        for r in stage_rows:
            stages.setdefault(r[0], []).append(tuple(r[1:]))

        def holds(e: SeatFacts) -> bool:
            return seats.get((e.group_id, e.user_id)) == (
                e.channel_id, e.workshop_id, *e.person, *e.workshop, e.schedule_version) \
                and tuple(stages.get(e.group_id, ())) == e.stages

        stale = set()
        for n, e in checked:
            if not holds(e):
                stale.add(n)
            elif self._sqlite:
                self._verified.add(e)
        for e in members:  # the rest of their workshops: their first quick-adds read nothing
            if holds(e):
                self._verified.add(e)
            else:  # outdated (its snapshot was replaced, or will be): not checked again
                self._members.get(e.workshop_id, set()).discard(e)
        return stale

    def _insert_rows(self, conn, jobs: list[_Job]) -> list[int]:
        """Insert the jobs' rows, returning their ids in the same order."""
        if not self._sqlite:
            return list(conn.execute(_INSERT, [j.row for j in jobs]).scalars().all())
        rows = [j.params for j in jobs]
        # SQLite gives a new row the largest id + 1 and the batch holds the write lock
        # (BEGIN IMMEDIATE): the next ids are known without RETURNING (which SQLAlchemy
        # can only order on SQLite by inserting one row per statement). One INSERT per
        # chunk; data_version was read in this transaction, so the condition holds.
        first = self._last_id + 1
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start:start + _ROWS_PER_INSERT]
            if not self._insert_if_unchanged(conn, chunk, first + start):
                raise RuntimeError(f"a chunk of {len(chunk)} post-its was not inserted")
        self._last_id = first + len(rows) - 1  # forgotten if the transaction rolls back
        return list(range(first, first + len(rows)))

    @staticmethod
    def _raw(conn):
        """The driver's own connection under `conn` (same transaction)."""
        return conn.connection.dbapi_connection

    def _insert(self, conn, jobs: list[_Job], *, look_up: bool = True
                ) -> list[tuple[PostIt, bool] | Stale]:
        if self._sqlite:
            self._read_state(conn)
        stale = self._stale(conn, jobs)
        existing = self._existing(conn, [j for n, j in enumerate(jobs) if n not in stale]) \
            if look_up else {}
        results: list[Any] = [None] * len(jobs)
        fresh: list[int] = []
        first_of: dict[tuple[int, str], int] = {}
        for n, job in enumerate(jobs):
            key = (job.row["group_id"], job.row["request_key"])
            if n in stale:
                results[n] = Stale(f"seat of {job.row['author_id']} changed")
            elif job.row["request_key"] and key in existing:
                results[n] = (existing[key], False)
            elif job.row["request_key"] and key in first_of:
                results[n] = first_of[key]  # type: ignore[assignment] — resolved below
            else:
                if job.row["request_key"]:
                    first_of[key] = n
                fresh.append(n)
        if fresh:
            ids = self._insert_rows(conn, [jobs[n] for n in fresh])
            for n, new_id in zip(fresh, ids, strict=True):
                results[n] = (jobs[n].stored(new_id), True)
        for n, result in enumerate(results):
            if isinstance(result, int):  # the same request twice in one batch
                results[n] = (results[result][0], False)  # type: ignore[index]
        return results  # type: ignore[return-value]
