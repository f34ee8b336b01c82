"""A lease row in the database: which process may run the scheduled jobs.

Not workspace data (it scopes processes, not Slack teams), so it lives outside the unit of
work. Taking or renewing the lease is one conditional UPDATE (or the first INSERT), atomic
on SQLite and PostgreSQL alike: of two processes racing for an expired lease, exactly one
gets a row count of 1.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import SchedulerLease

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def acquire(sessions: sessionmaker[Session], name: str, holder: str, *, seconds: float,
            now: datetime | None = None) -> bool:
    """Take the lease `name` for `holder` (or renew it) until now + `seconds`. True if
    `holder` holds it afterwards; False if someone else holds an unexpired lease (or the
    database is busy: try again at the next renewal)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    expires = now + timedelta(seconds=seconds)
    try:
        with sessions() as session:
            taken = session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == name,
                       or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now))
                .values(holder=holder, expires_at=expires)
                .execution_options(synchronize_session=False)).rowcount
            if taken == 1:
                session.commit()
                return True
            if session.get(SchedulerLease, name) is not None:
                session.rollback()
                return False
            session.add(SchedulerLease(name=name, holder=holder, expires_at=expires))
            session.commit()
            return True
    except (IntegrityError, OperationalError):
        return False


def release(sessions: sessionmaker[Session], name: str, holder: str) -> None:
    """Give the lease up at once (on a clean stop) so another process takes over."""
    try:
        with sessions() as session:
            session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
                .values(expires_at=_EPOCH).execution_options(synchronize_session=False))
            session.commit()
    except OperationalError:
        pass  # it expires by itself


def holder(sessions: sessionmaker[Session], name: str,
           now: datetime | None = None) -> str | None:
    """Who holds the unexpired lease `name`, if anyone."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    with sessions() as session:
        row = session.get(SchedulerLease, name)
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else \
            row.expires_at.replace(tzinfo=timezone.utc)
        return row.holder if expires >= now else None
