"""SQLModel tables. Every change here needs an Alembic migration in migrations/versions/."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC. SQLModel's datetime columns (UTCDateTime) reject naive values and read back
    aware UTC, so every timestamp the bot compares is aware (PostgreSQL: timestamptz)."""
    return datetime.now(UTC)


class Installation(SQLModel, table=True):
    """A GitHub App installation (GitLab: one row per configured instance, id 0)."""

    __tablename__ = "installations"
    __table_args__ = (UniqueConstraint("platform", "installation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    installation_id: int = Field(sa_type=BigInteger)
    account: str = Field(default="", max_length=255)
    suspended: bool = False
    deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Repository(SQLModel, table=True):
    __tablename__ = "repositories"
    __table_args__ = (UniqueConstraint("platform", "full_name"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    full_name: str = Field(max_length=512)
    platform_id: int | None = Field(default=None, sa_type=BigInteger)  # GitHub repo id / GitLab project id
    installation_id: int | None = Field(default=None, sa_type=BigInteger)
    default_branch: str | None = Field(default=None, max_length=255)
    active: bool = True  # False once removed from the installation
    config_status: str = Field(default="none", max_length=16)  # none | valid | invalid | deleted
    config_error: str | None = Field(default=None, sa_column=Column(Text))
    # "monday 09:00 Europe/Berlin" from the last valid config, None when summaries are off: lets
    # the scheduler enqueue a summary only when one is due, without reading every config.
    summary_schedule: str | None = Field(default=None, max_length=100)
    # GitHub topics as a JSON list, from the last webhook that carried them (for `applies_when:
    # topics` on every sync, scheduled ones included, without an API call); None: never said
    topics: str | None = Field(default=None, sa_column=Column(Text))
    last_synced_commit: str | None = Field(default=None, max_length=64)
    last_synced_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """A verified webhook (or internal event) waiting for, or done with, the worker.

    `repo_key` ("github:owner/name") orders work: one repository at a time, in arrival order.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("platform", "delivery_id"),
        Index("ix_deliveries_claim", "status", "next_attempt_at"),
        Index("ix_deliveries_repo_key", "status", "repo_key", "id"),  # heads of unfinished work per repo
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    delivery_id: str = Field(max_length=128)
    event: str = Field(max_length=64)
    action: str | None = Field(default=None, max_length=64)
    installation_id: int | None = Field(default=None, sa_type=BigInteger)
    repo_key: str | None = Field(default=None, max_length=600)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # the event the receiver normalised, as versioned JSON (bot.core.stored_event); None: the
    # worker normalises `payload` (rows from before migration 0016, internal events)
    normalized: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    status: str = Field(default="pending", max_length=16)  # pending | running | done | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    received_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    covered_by: int | None = None  # done without its own sync: this delivery's sync covered it


class ItemStateRow(SQLModel, table=True):
    """The current state of one checklist item in one repository (see bot.core.state)."""

    __tablename__ = "item_states"
    __table_args__ = (UniqueConstraint("repository_id", "checklist", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id", index=True)
    checklist: str = Field(max_length=128)
    item_id: str = Field(max_length=128)
    status: str = Field(default="open", max_length=16)  # open | auto | done | skipped
    evidence: str | None = Field(default=None, sa_column=Column(Text))
    actor: str | None = Field(default=None, max_length=255)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    changed_at: datetime = Field(default_factory=utcnow)
    until: date | None = None  # a skip's last day
    approved_by: str | None = Field(default=None, max_length=255)  # who confirmed a governed skip
    approvers: str | None = Field(default=None, sa_column=Column(Text))  # "@a @org/t": who may (pending)


class ItemEvent(SQLModel, table=True):
    """History of item state changes: what weekly summaries and audits are made from."""

    __tablename__ = "item_events"
    __table_args__ = (Index("ix_item_events_repo_at", "repository_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id")
    checklist: str = Field(max_length=128)
    item_id: str = Field(max_length=128)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor: str | None = Field(default=None, max_length=255)
    evidence: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))  # why: a skip's reason, a note
    at: datetime = Field(default_factory=utcnow)


class OwnedIssue(SQLModel, table=True):
    """An issue the bot owns. A row is written (state "intent") *before* the create call, so a
    crash between create and record is repaired by adopting the marked issue, never duplicated."""

    __tablename__ = "owned_issues"
    __table_args__ = (UniqueConstraint("repository_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id", index=True)
    key: str = Field(max_length=300)  # "epic", "section:<checklist>:<section>", "config-error"
    number: int | None = None  # GitHub number / GitLab iid
    # GitHub database id / GitLab global id
    platform_issue_id: int | None = Field(default=None, sa_type=BigInteger)
    state: str = Field(default="intent", max_length=16)  # intent | open | closed
    body_hash: str | None = Field(default=None, max_length=64)
    # The body as the bot last wrote it: diffing it against the issue's current body shows which
    # boxes a person changed since, even when their webhook has not arrived yet.
    body: str | None = Field(default=None, sa_column=Column(Text))
    parent_linked: bool = False  # a section issue is linked under the epic (sub-issue / issue link)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SummaryPost(SQLModel, table=True):
    """A weekly summary posted (or being posted) on an epic: unique per repository and week, so
    two replicas cannot both post."""

    __tablename__ = "summary_posts"
    __table_args__ = (UniqueConstraint("repository_id", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id")
    week: str = Field(max_length=10)  # ISO week, "2026-W47"
    comment_id: int | None = Field(default=None, sa_type=BigInteger)
    posted_at: datetime = Field(default_factory=utcnow)


class CommandComment(SQLModel, table=True):
    """A `/readiness` comment the bot has answered: a redelivered or retried webhook finds the row
    and does not answer twice. Claimed (`replying`) right before the reply is posted and finished
    right after it, so only a retry of an interrupted reply looks for one already posted."""

    __tablename__ = "command_comments"
    __table_args__ = (UniqueConstraint("repository_id", "comment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id")
    comment_id: int = Field(sa_type=BigInteger)  # GitHub comment id / GitLab note id
    issue_number: int
    sender: str | None = Field(default=None, max_length=255)
    reply_id: int | None = Field(default=None, sa_type=BigInteger)  # our answer, if any
    processed_at: datetime = Field(default_factory=utcnow)
    # refused by the flood limit: recorded against redelivery, not counted as a command sent
    throttled: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # claimed before the reply was posted, not finished yet: the reply may or may not be out
    replying: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class StoredSecret(SQLModel, table=True):
    """A secret the bot obtained itself (setup flow, `gitlab connect`), Fernet-encrypted.

    `ciphertext` is a Fernet token under READINESS_ENCRYPTION_KEY; the name is not secret."""

    __tablename__ = "stored_secrets"

    name: str = Field(primary_key=True, max_length=200)
    ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class WritePacerRow(SQLModel, table=True):
    """One installation's write pacing, shared by every replica: the row is locked (`FOR
    UPDATE`) while a write slot is claimed, and holds a platform's `retry-after` for all."""

    __tablename__ = "write_pacers"

    platform: str = Field(primary_key=True, max_length=16)
    installation_id: int = Field(primary_key=True, sa_type=BigInteger)  # GitLab: 0 per instance
    paused_until: float = 0.0  # epoch seconds


class WriteSlot(SQLModel, table=True):
    """A write that went out (epoch seconds): the last hour of them sets when the next may go."""

    __tablename__ = "write_slots"
    __table_args__ = (Index("ix_write_slots_pacer", "platform", "installation_id", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    installation_id: int = Field(sa_type=BigInteger)
    sent_at: float


class OwnerMention(SQLModel, table=True):
    """An owner mentioned in a weekly summary for one open item: what reminder backoff counts."""

    __tablename__ = "owner_mentions"
    __table_args__ = (Index("ix_owner_mentions_repo", "repository_id", "owner"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id")
    owner: str = Field(max_length=255)  # "@alice" or "@org/team"
    checklist: str = Field(max_length=128)
    item_id: str = Field(max_length=128)
    at: datetime = Field(default_factory=utcnow)


class ItemOwners(SQLModel, table=True):
    """Who owns one item, as the last sync resolved it (templates, `.readiness.yml`, CODEOWNERS
    at that commit): the weekly summary mentions them without reading CODEOWNERS again."""

    __tablename__ = "item_owners"
    __table_args__ = (UniqueConstraint("repository_id", "checklist", "item_id", name="uq_item_owners"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id")
    checklist: str = Field(max_length=128)
    item_id: str = Field(max_length=128)
    owners: str = Field(sa_column=Column(Text, nullable=False))  # "@alice @org/sre", in order


class OrgDefaultRow(SQLModel, table=True):
    """What the bot last learnt of an organisation's default `.readiness.yml`, shared by every
    replica and kept across restarts: the validator (GitHub ETag, GitLab head commit) and text,
    or that it is missing, until when."""

    __tablename__ = "org_defaults"
    __table_args__ = (UniqueConstraint("platform", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    source: str = Field(max_length=512)  # the repository or project holding the default
    etag: str | None = Field(default=None, max_length=255)
    text: str | None = Field(default=None, sa_column=Column(Text))  # None: missing
    missing_until: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
