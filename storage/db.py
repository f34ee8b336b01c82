"""Engine and session factory, SQLite tuned for a multi-threaded bot, and migrations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply schema migrations up to `revision` (idempotent)."""
    command.upgrade(alembic_config(url), revision)


class Database:
    """One engine and session factory per process."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        # SQLite allows one writer at a time; writers queueing on its busy handler sleep in
        # growing steps (up to 100 ms). Hot write paths take this lock instead.
        self._write_lock = threading.Lock() if url.startswith("sqlite") else None
        if migrate:
            upgrade(url)
        self.engine = make_engine(url)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        from storage.fast_post_its import PostItWriter

        # New post-its from the hot paths, committed in groups (see storage/fast_post_its.py).
        self.post_its = PostItWriter(self.engine, self._write_lock)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Serialise a short write transaction in this process (SQLite only)."""
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            yield

    def team_of(self, workshop_id: int) -> str | None:
        """The Slack workspace a workshop belongs to (operator tools only: the command line
        acts for the server's owner, across workspaces)."""
        from storage.models import Workshop

        with self.sessions() as session:
            workshop = session.get(Workshop, workshop_id)
            return workshop.team_id if workshop else None

    def dispose(self) -> None:
        self.post_its.close()
        self.engine.dispose()
