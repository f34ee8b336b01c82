"""Unit of work: one session per request, rolled back unless `commit()` is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from storage.errors import Conflict
from storage.repositories import (
    BoardRepository,
    CustomerRepository,
    GroupRepository,
    PersonRepository,
    ScheduleRepository,
    WorkshopRepository,
)


class UnitOfWork:
    """Scopes every repository to one Slack workspace (`team_id`).

    >>> with UnitOfWork(db.sessions, team_id="T123") as uow:
    ...     uow.workshops.add(workshop)
    ...     uow.commit()
    """

    workshops: WorkshopRepository
    people: PersonRepository
    groups: GroupRepository
    board: BoardRepository
    schedule: ScheduleRepository

    def __init__(self, sessions: sessionmaker[Session], team_id: str,
                 enterprise_id: str | None = None) -> None:
        if not team_id:
            raise ValueError("a unit of work needs the Slack team id it is scoped to")
        self._sessions = sessions
        self.team_id = team_id
        self.enterprise_id = enterprise_id

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self.workshops = WorkshopRepository(self.session, self.team_id)
        self.people = PersonRepository(self.session, self.team_id)
        self.groups = GroupRepository(self.session, self.team_id)
        self.board = BoardRepository(self.session, self.team_id)
        self.schedule = ScheduleRepository(self.session, self.team_id)
        self.customers = CustomerRepository(self.session, self.team_id)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        try:
            self.session.commit()
        except StaleDataError as error:
            self.session.rollback()
            raise Conflict(str(error)) from error

    def flush(self) -> None:
        try:
            self.session.flush()
        except StaleDataError as error:
            self.session.rollback()
            raise Conflict(str(error)) from error

    def rollback(self) -> None:
        self.session.rollback()
