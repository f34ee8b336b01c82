"""Repositories: the only place that queries. Each is bound to one Slack workspace, so a
workshop of another workspace can never be read or written through it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from storage.errors import Conflict
from storage.models import (
    Customer,
    CustomerAnswer,
    Grouping,
    Person,
    PhaseTransition,
    PostIt,
    Stage,
    Vote,
    WorkGroup,
    Workshop,
    WorkshopSchedule,
)


class WorkshopRepository:
    def __init__(self, session: Session, team_id: str) -> None:
        self.session = session
        self.team_id = team_id

    def add(self, workshop: Workshop) -> Workshop:
        if workshop.team_id != self.team_id:
            raise ValueError("workshop belongs to another workspace")
        self.session.add(workshop)
        self.session.flush()
        return workshop

    def get(self, workshop_id: int) -> Workshop | None:
        return self.session.scalars(
            select(Workshop)
            .where(Workshop.id == workshop_id, Workshop.team_id == self.team_id)
            .options(selectinload(Workshop.people), selectinload(Workshop.objectives))
        ).first()

    def get_plain(self, workshop_id: int) -> Workshop | None:
        """The workshop row alone (no people or objectives loaded): for hot paths."""
        return self.session.scalars(
            select(Workshop).where(Workshop.id == workshop_id, Workshop.team_id == self.team_id)
        ).first()

    def latest_in_channel(self, channel_id: str) -> Workshop | None:
        return self.session.scalars(
            select(Workshop)
            .where(Workshop.team_id == self.team_id, Workshop.channel_id == channel_id)
            .order_by(Workshop.id.desc())
        ).first()

    def for_user(self, user_id: str) -> list[tuple[Workshop, Person]]:
        rows = self.session.execute(
            select(Workshop, Person)
            .join(Person, Person.workshop_id == Workshop.id)
            .where(Workshop.team_id == self.team_id, Person.user_id == user_id)
            .order_by(Workshop.id.desc())
        ).all()
        return [(w, p) for w, p in rows]

    def count(self) -> int:
        return self.session.scalar(
            select(func.count()).select_from(Workshop).where(Workshop.team_id == self.team_id)
        ) or 0


class PersonRepository:
    def __init__(self, session: Session, team_id: str) -> None:
        self.session = session
        self.team_id = team_id

    def get(self, workshop_id: int, user_id: str) -> Person | None:
        return self.session.scalars(
            select(Person)
            .join(Workshop, Workshop.id == Person.workshop_id)
            .where(Person.workshop_id == workshop_id, Person.user_id == user_id,
                   Workshop.team_id == self.team_id)
        ).first()

    def add(self, person: Person) -> Person:
        self.session.add(person)
        self.session.flush()
        return person

    def in_workshop(self, workshop_id: int, role: str | None = None) -> list[Person]:
        query = (
            select(Person)
            .join(Workshop, Workshop.id == Person.workshop_id)
            .where(Person.workshop_id == workshop_id, Workshop.team_id == self.team_id)
            .order_by(Person.id)
        )
        if role is not None:
            query = query.where(Person.role == role)
        return list(self.session.scalars(query))

    def lock(self, workshop_id: int, user_id: str) -> Person | None:
        """Lock a person's row until commit (PostgreSQL; SQLite serialises writers anyway)."""
        return self.session.scalars(
            select(Person).where(Person.workshop_id == workshop_id, Person.user_id == user_id)
            .with_for_update()).first()

    def department_counts(self, workshop_id: int) -> dict[str, int]:
        rows = self.session.execute(
            select(Person.department, func.count())
            .join(Workshop, Workshop.id == Person.workshop_id)
            .where(Person.workshop_id == workshop_id, Workshop.team_id == self.team_id,
                   Person.role == "participant")
            .group_by(Person.department)
        ).all()
        return {dept or "other": n for dept, n in rows}


class GroupRepository:
    """Group plans and confirmed groups, scoped to the workspace through their workshop."""

    def __init__(self, session: Session, team_id: str) -> None:
        self.session = session
        self.team_id = team_id

    def _owned(self, workshop_id: int) -> bool:
        return self.session.scalar(
            select(func.count()).select_from(Workshop)
            .where(Workshop.id == workshop_id, Workshop.team_id == self.team_id)) == 1

    def grouping(self, workshop_id: int, *, for_update: bool = False) -> Grouping | None:
        query = select(Grouping).join(Workshop, Workshop.id == Grouping.workshop_id).where(
            Grouping.workshop_id == workshop_id, Workshop.team_id == self.team_id)
        if for_update:
            query = query.with_for_update(of=Grouping)
        return self.session.scalars(query).first()

    def add_grouping(self, grouping: Grouping) -> Grouping:
        if not self._owned(grouping.workshop_id):
            raise ValueError("workshop belongs to another workspace")
        self.session.add(grouping)
        self.session.flush()
        return grouping

    def groups(self, workshop_id: int) -> list[WorkGroup]:
        return list(self.session.scalars(
            select(WorkGroup).join(Workshop, Workshop.id == WorkGroup.workshop_id)
            .where(WorkGroup.workshop_id == workshop_id, Workshop.team_id == self.team_id)
            .options(selectinload(WorkGroup.members))
            .order_by(WorkGroup.number)))

    def add_group(self, group: WorkGroup) -> WorkGroup:
        if not self._owned(group.workshop_id):
            raise ValueError("workshop belongs to another workspace")
        self.session.add(group)
        self.session.flush()
        return group

    def board_count(self) -> int:
        """Groups of this workspace that have a live board message."""
        return self.session.scalar(
            select(func.count()).select_from(WorkGroup)
            .join(Workshop, Workshop.id == WorkGroup.workshop_id)
            .where(Workshop.team_id == self.team_id, WorkGroup.board_ts.is_not(None))) or 0

    def channel_names(self) -> set[str]:
        return set(self.session.scalars(
            select(WorkGroup.channel_name).join(Workshop, Workshop.id == WorkGroup.workshop_id)
            .where(Workshop.team_id == self.team_id, WorkGroup.channel_name.is_not(None))))


class BoardRepository:
    """Stages, post-its and votes of the workspace's groups."""

    def __init__(self, session: Session, team_id: str) -> None:
        self.session = session
        self.team_id = team_id

    def _scoped(self, query, group_column):
        return (query.join(WorkGroup, WorkGroup.id == group_column)
                .join(Workshop, Workshop.id == WorkGroup.workshop_id)
                .where(Workshop.team_id == self.team_id))

    def _groups(self):
        return select(WorkGroup).join(Workshop, Workshop.id == WorkGroup.workshop_id).where(
            Workshop.team_id == self.team_id)

    def group(self, group_id: int) -> WorkGroup | None:
        return self.session.scalars(self._groups().where(WorkGroup.id == group_id)).first()

    def group_by_channel(self, channel_id: str) -> WorkGroup | None:
        return self.session.scalars(
            self._groups().where(WorkGroup.channel_id == channel_id)).first()

    def seat(self, user_id: str, *, channel_id: str | None = None, group_id: int | None = None
             ) -> tuple[WorkGroup, Workshop, Person] | None:
        """The group (by its channel or id), its workshop and the user's person, in one query."""
        query = (select(WorkGroup, Workshop, Person)
                 .join(Workshop, Workshop.id == WorkGroup.workshop_id)
                 .join(Person, (Person.workshop_id == Workshop.id) & (Person.user_id == user_id))
                 .where(Workshop.team_id == self.team_id))
        if group_id is not None:
            query = query.where(WorkGroup.id == group_id)
        else:
            query = query.where(WorkGroup.channel_id == channel_id)
        row = self.session.execute(query).first()
        return tuple(row) if row else None

    def stages(self, group_id: int) -> list[Stage]:
        return list(self.session.scalars(self._scoped(
            select(Stage).where(Stage.group_id == group_id, Stage.removed_at.is_(None)),
            Stage.group_id).order_by(Stage.position, Stage.id)))

    def add(self, item):
        self.session.add(item)
        self.session.flush()
        return item

    def post_its(self, group_id: int, *, include_deleted: bool = False) -> list[PostIt]:
        query = select(PostIt).where(PostIt.group_id == group_id)
        if not include_deleted:
            query = query.where(PostIt.deleted_at.is_(None))
        return list(self.session.scalars(self._scoped(query, PostIt.group_id)
                                          .order_by(PostIt.position, PostIt.id)))

    def post_it(self, post_it_id: int) -> PostIt | None:
        return self.session.scalars(self._scoped(
            select(PostIt).where(PostIt.id == post_it_id), PostIt.group_id)).first()

    def by_request(self, group_id: int, request_key: str) -> PostIt | None:
        return self.session.scalars(select(PostIt).where(
            PostIt.group_id == group_id, PostIt.request_key == request_key)).first()

    def workshop_post_its(self, workshop_id: int, kinds: tuple[str, ...]) -> list[PostIt]:
        return list(self.session.scalars(self._scoped(
            select(PostIt).where(WorkGroup.workshop_id == workshop_id, PostIt.kind.in_(kinds),
                                 PostIt.deleted_at.is_(None)), PostIt.group_id)
            .order_by(WorkGroup.number, PostIt.id)))

    def votes_on(self, post_it_ids: list[int]) -> dict[int, int]:
        if not post_it_ids:
            return {}
        rows = self.session.execute(
            select(Vote.post_it_id, func.sum(Vote.count)).where(Vote.post_it_id.in_(post_it_ids))
            .group_by(Vote.post_it_id)).all()
        return {post_it_id: int(total) for post_it_id, total in rows}

    def votes_of(self, workshop_id: int, user_id: str) -> dict[int, int]:
        rows = self.session.execute(select(Vote.post_it_id, Vote.count).join(
            Workshop, Workshop.id == Vote.workshop_id).where(
            Vote.workshop_id == workshop_id, Vote.user_id == user_id,
            Workshop.team_id == self.team_id)).all()
        return {post_it_id: count for post_it_id, count in rows}

    def vote(self, post_it_id: int, user_id: str) -> Vote | None:
        return self.session.scalars(select(Vote).where(
            Vote.post_it_id == post_it_id, Vote.user_id == user_id)).first()

    def delete(self, item) -> None:
        self.session.delete(item)
        self.session.flush()


class ScheduleRepository:
    """Workshop runs and the transitions applied to them (see `workflows.schedule`)."""

    def __init__(self, session: Session, team_id: str) -> None:
        self.session = session
        self.team_id = team_id

    def get(self, workshop_id: int, *, for_update: bool = False) -> WorkshopSchedule | None:
        """The stored run; `for_update` locks its row until commit (PostgreSQL: a second
        process ticking the same workshop waits, then reads the new run)."""
        query = select(WorkshopSchedule).join(
            Workshop, Workshop.id == WorkshopSchedule.workshop_id).where(
            WorkshopSchedule.workshop_id == workshop_id, Workshop.team_id == self.team_id)
        if for_update:
            query = query.with_for_update(of=WorkshopSchedule)
        return self.session.scalars(query).first()

    def add(self, schedule: WorkshopSchedule) -> WorkshopSchedule:
        """Store a workshop's first run; Conflict if another writer stored one meanwhile."""
        owned = self.session.scalar(select(func.count()).select_from(Workshop).where(
            Workshop.id == schedule.workshop_id, Workshop.team_id == self.team_id))
        if owned != 1:
            raise ValueError("workshop belongs to another workspace")
        self._flush(schedule)
        return schedule

    def record(self, transition: PhaseTransition) -> PhaseTransition:
        """Record an applied transition. Conflict if its (workshop, key) is already there:
        another process, or a retried job, applied it first."""
        self._flush(transition)
        return transition

    def _flush(self, row) -> None:
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError as error:
            self.session.rollback()
            raise Conflict(str(error.orig)) from error

    def transitions(self, workshop_id: int) -> list[PhaseTransition]:
        return list(self.session.scalars(
            select(PhaseTransition).join(Workshop, Workshop.id == PhaseTransition.workshop_id)
            .where(PhaseTransition.workshop_id == workshop_id, Workshop.team_id == self.team_id)
            .order_by(PhaseTransition.id)))

    def running(self) -> list[int]:
        """Workshops of this workspace whose run is not over (the scheduler's catch-up)."""
        return list(self.session.scalars(
            select(WorkshopSchedule.workshop_id)
            .join(Workshop, Workshop.id == WorkshopSchedule.workshop_id)
            .where(Workshop.team_id == self.team_id, WorkshopSchedule.phase != "done")
            .order_by(WorkshopSchedule.workshop_id)))

    def unscheduled(self) -> list[int]:
        """Workshops of this workspace without a stored run yet."""
        return list(self.session.scalars(
            select(Workshop.id).outerjoin(
                WorkshopSchedule, WorkshopSchedule.workshop_id == Workshop.id)
            .where(Workshop.team_id == self.team_id, WorkshopSchedule.workshop_id.is_(None))
            .order_by(Workshop.id)))

    def authors_since(self, workshop_id: int, since) -> set[str]:
        """Who created a post-it in this workshop at or after `since` (deleted ones count:
        they did post)."""
        return set(self.session.scalars(
            select(PostIt.author_id).join(WorkGroup, WorkGroup.id == PostIt.group_id)
            .join(Workshop, Workshop.id == WorkGroup.workshop_id)
            .where(WorkGroup.workshop_id == workshop_id, Workshop.team_id == self.team_id,
                   PostIt.created_at >= since)))


class CustomerRepository:
    """The workspace's customers (day-2 validation) and their answers."""

    def __init__(self, session: Session, team_id: str) -> None:
        self.session = session
        self.team_id = team_id

    def _customers(self):
        return select(Customer).join(Workshop, Workshop.id == Customer.workshop_id).where(
            Workshop.team_id == self.team_id)

    def get(self, customer_id: int) -> Customer | None:
        return self.session.scalars(self._customers().where(Customer.id == customer_id)).first()

    def of_user(self, workshop_id: int, user_id: str) -> Customer | None:
        return self.session.scalars(self._customers().where(
            Customer.workshop_id == workshop_id, Customer.user_id == user_id)).first()

    def in_workshop(self, workshop_id: int) -> list[Customer]:
        return list(self.session.scalars(self._customers().where(
            Customer.workshop_id == workshop_id).order_by(Customer.id)))

    def add(self, customer: Customer) -> Customer:
        if self.session.get(Workshop, customer.workshop_id).team_id != self.team_id:
            raise ValueError("customer of another workspace's workshop")
        self.session.add(customer)
        self.session.flush()
        return customer

    def answers(self, customer_id: int) -> list[CustomerAnswer]:
        return list(self.session.scalars(select(CustomerAnswer).where(
            CustomerAnswer.customer_id == customer_id).order_by(CustomerAnswer.id)))

    def answer(self, customer_id: int, key: str) -> CustomerAnswer | None:
        return self.session.scalars(select(CustomerAnswer).where(
            CustomerAnswer.customer_id == customer_id, CustomerAnswer.key == key)).first()

    def add_answer(self, answer: CustomerAnswer) -> CustomerAnswer:
        self.session.add(answer)
        self.session.flush()
        return answer

    def group_answers(self, group_id: int) -> list[CustomerAnswer]:
        """Every answer about one group's map (scoped through the group's workshop)."""
        return list(self.session.scalars(
            select(CustomerAnswer).join(WorkGroup, WorkGroup.id == CustomerAnswer.group_id)
            .join(Workshop, Workshop.id == WorkGroup.workshop_id)
            .where(CustomerAnswer.group_id == group_id, Workshop.team_id == self.team_id)
            .order_by(CustomerAnswer.id)))


def workspaces(session: Session) -> list[str]:
    """Every workspace with a workshop. Crosses workspaces on purpose: only the scheduler's
    catch-up uses it, to open one workspace-scoped unit of work per team."""
    return list(session.scalars(select(Workshop.team_id).distinct().order_by(Workshop.team_id)))
