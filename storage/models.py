"""Typed SQLAlchemy models. Every workshop row carries its Slack team (and enterprise)."""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Role(str, enum.Enum):
    FACILITATOR = "facilitator"
    PARTICIPANT = "participant"
    LEADERSHIP = "leadership"
    CUSTOMER = "customer"


class Workshop(Base):
    __tablename__ = "workshop"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(150))
    language: Mapped[str] = mapped_column(String(5), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    day1_start: Mapped[datetime]
    day2_start: Mapped[datetime]
    channel_id: Mapped[str] = mapped_column(String(32))
    kickoff_ts: Mapped[str | None] = mapped_column(String(32))
    customer_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    channel_focuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_group_size: Mapped[int] = mapped_column(Integer, default=4)
    max_group_size: Mapped[int] = mapped_column(Integer, default=6)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    vote_budget: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    vote_stacking: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Where leadership summaries go (a channel chosen at set-up); None: DMs to leadership.
    leadership_channel_id: Mapped[str | None] = mapped_column(String(32))

    objectives: Mapped[list[Objective]] = relationship(
        back_populates="workshop", cascade="all, delete-orphan", order_by="Objective.position"
    )
    people: Mapped[list[Person]] = relationship(
        back_populates="workshop", cascade="all, delete-orphan", order_by="Person.id"
    )


class Objective(Base):
    __tablename__ = "objective"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(300))
    kpi: Mapped[str] = mapped_column(String(100))

    workshop: Mapped[Workshop] = relationship(back_populates="objectives")


class Person(Base):
    """Somebody's part in one workshop: one role per workshop and Slack user."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("workshop_id", "user_id", name="uq_person_workshop_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_group.id", ondelete="SET NULL", name="fk_person_group_id"), index=True)

    workshop: Mapped[Workshop] = relationship(back_populates="people")
    group: Mapped[WorkGroup | None] = relationship(back_populates="members")


class Grouping(Base):
    """The facilitator's group plan for a workshop: a draft until confirmed.

    `plan` holds {"groups": [[user_id, ...], ...], "focuses": [[customer_type, channel_focus]],
    "score": int, "optimum": int, "warnings": [...]} as shown in the preview.
    """

    __tablename__ = "grouping"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshop.id", ondelete="CASCADE"), unique=True)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    plan: Mapped[dict] = mapped_column(JSON, default=dict)
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(32))
    announced_ts: Mapped[str | None] = mapped_column(String(32))


class WorkGroup(Base):
    """A confirmed working group with its focus and its private Slack channel."""

    __tablename__ = "work_group"
    __table_args__ = (UniqueConstraint("workshop_id", "number", name="uq_group_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"),
                                             index=True)
    number: Mapped[int]
    customer_type: Mapped[str | None] = mapped_column(String(100))
    channel_focus: Mapped[str | None] = mapped_column(String(32))
    channel_name: Mapped[str | None] = mapped_column(String(80))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    welcomed_ts: Mapped[str | None] = mapped_column(String(32))
    invited: Mapped[list[str]] = mapped_column(JSON, default=list)
    board_ts: Mapped[str | None] = mapped_column(String(32))

    members: Mapped[list[Person]] = relationship(back_populates="group", order_by="Person.id")


class Stage(Base):
    """A column of a group's board, in the group's order."""

    __tablename__ = "stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("work_group.id", ondelete="CASCADE"),
                                          index=True)
    position: Mapped[int]
    key: Mapped[str | None] = mapped_column(String(32))   # a default stage, translated on display
    name: Mapped[str | None] = mapped_column(String(80))  # set when renamed or custom
    removed_at: Mapped[datetime | None]


class PostIt(Base):
    """One post-it on a group's board. `version` guards concurrent edits; `request_key`
    makes a retried or double-submitted creation a no-op."""

    __tablename__ = "post_it"
    __table_args__ = (UniqueConstraint("group_id", "request_key", name="uq_post_it_request"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (group_id, request_key) index starts with it.
    group_id: Mapped[int] = mapped_column(ForeignKey("work_group.id", ondelete="CASCADE"))
    # No index either: nothing looks post-its up by stage alone, and stages are removed
    # softly (`Stage.removed_at`); one B-tree fewer to write per new post-it (0007).
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str | None] = mapped_column(String(40))
    score: Mapped[int | None]
    author_id: Mapped[str] = mapped_column(String(32))
    position: Mapped[float] = mapped_column(default=0.0)
    origin: Mapped[str] = mapped_column(String(16), default="participant")
    status: Mapped[str] = mapped_column(String(16), default="visible")  # visible/pending/hidden
    # Customer-flagged post-its (origin "customer", day 2): "proposed" until the group
    # decides during consolidation, then "accepted" or "rejected". None for the groups' own.
    review: Mapped[str | None] = mapped_column(String(16))
    # A customer's correction points at the post-it it corrects.
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("post_it.id", ondelete="SET NULL", name="fk_post_it_corrects_id"))
    owner: Mapped[str | None] = mapped_column(String(120))  # opportunities: who follows up
    request_key: Mapped[str | None] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}


class Vote(Base):
    """Dot votes of one person on one post-it (`count` > 1 only when stacking is allowed)."""

    __tablename__ = "vote"
    __table_args__ = (UniqueConstraint("post_it_id", "user_id", name="uq_vote_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"),
                                             index=True)
    post_it_id: Mapped[int] = mapped_column(ForeignKey("post_it.id", ondelete="CASCADE"),
                                            index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer, default=1)


# --- schedule ---------------------------------------------------------------------------------


class WorkshopSchedule(Base):
    """A workshop's run (`workflows.phases.Run.to_dict()`), stored with the workshop (older
    workshops get theirs when the clock first sees them).
    `version` guards concurrent writers (another process ticking the same workshop);
    `phase` mirrors `run["phase"]` for queries; `message` is where the latest phase
    controls were posted ({"channel", "ts"})."""

    __tablename__ = "workshop_schedule"

    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshop.id", ondelete="CASCADE"), primary_key=True)
    phase: Mapped[str] = mapped_column(String(32))
    run: Mapped[dict] = mapped_column(JSON)
    message: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class PhaseTransition(Base):
    """Every transition applied to a workshop's run, once: `key` is `Transition.key`, unique
    per workshop, inserted in the same transaction as the new run. `outcome`: "run" (its
    hooks fired) or "skip" (too late when computed; see `workflows.phases.missed_policy`)."""

    __tablename__ = "phase_transition"
    __table_args__ = (UniqueConstraint("workshop_id", "key", name="uq_phase_transition_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"),
                                             index=True)
    key: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(32))
    moment: Mapped[str] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(8), default="run")
    by: Mapped[str | None] = mapped_column(String(32))  # the facilitator, None for the clock


class SchedulerLease(Base):
    """Which process runs the scheduled jobs (see `bot.scheduling`): one row per lease,
    held by `holder` until `expires_at` unless renewed."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


# --- customer validation (day 2) --------------------------------------------------------------


class Customer(Base):
    """A real customer invited to review the map(s) of their customer type on day 2: a Slack
    user (a guest, Slack Connect: `user_id`) or someone without Slack (`name`, `email`), who
    reviews through a signed web link. Every link carries `link_nonce`: a new nonce revokes
    the links given before. `done_at`: the customer reached the end of the review."""

    __tablename__ = "customer"
    __table_args__ = (UniqueConstraint("workshop_id", "user_id", name="uq_customer_user"),
                      UniqueConstraint("workshop_id", "email", name="uq_customer_email"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    customer_type: Mapped[str] = mapped_column(String(100))
    channel_focus: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(5), default="en")
    link_nonce: Mapped[str | None] = mapped_column(String(32))
    link_expires_at: Mapped[datetime | None]
    added_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    invited_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]


class CustomerAnswer(Base):
    """One answer of one customer, saved as they go (a new answer to the same question
    replaces it). `key` names the question: "p:<post-it id>" (a verdict on a step or
    touchpoint: yes / not_quite with `text` / never), "m:<stage id>" (what is missing in
    the stage: `text`), "f:<stage id>" (how they felt: `score` -2..+2, `text`).
    `proposal_id`: the customer-flagged post-it a correction or a missing step became."""

    __tablename__ = "customer_answer"
    __table_args__ = (UniqueConstraint("customer_id", "key", name="uq_customer_answer_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"),
                                             index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("work_group.id", ondelete="CASCADE"),
                                          index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"))
    post_it_id: Mapped[int | None] = mapped_column(
        ForeignKey("post_it.id", ondelete="CASCADE", name="fk_customer_answer_post_it_id"))
    key: Mapped[str] = mapped_column(String(40))
    item: Mapped[str] = mapped_column(String(16))  # post_it / missing / feeling
    verdict: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(String(500))
    score: Mapped[int | None]
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("post_it.id", ondelete="SET NULL", name="fk_customer_answer_proposal_id"))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
