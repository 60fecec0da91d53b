"""The store's tables (SQLAlchemy Core). Times are epoch seconds: lease arithmetic is then the
same plain comparison on both backends. Changing a table means a new migration in migrations/."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid alias must be INTEGER

jobs = Table(
    "jobs",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("key", String(200), nullable=False, unique=True),  # a retry of the same thing
    Column("payload", Text, nullable=False),  # the kind's typed payload as JSON, redacted
    Column("state", String(10), nullable=False),  # queued | running | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("worker", String(120)),
    Column("lease_until", Double),
    Column("requested_by", String(120), nullable=False, default=""),
    Column("summary", String(200), nullable=False, default=""),
    Column("progress", Text, nullable=False, default="{}"),  # side effects done, as JSON
    Column("error", Text, nullable=False, default=""),
    Column("created_at", Double, nullable=False),
    Column("started_at", Double),
    Column("finished_at", Double),
    Index("jobs_state_id", "state", "id"),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(120), primary_key=True),
    Column("host", String(120), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Double, nullable=False),
    Column("seen_at", Double, nullable=False),
)

pace = Table(
    "slack_pace",
    metadata,
    Column("bucket", String(120), primary_key=True),  # a channel, or "chat.update"
    Column("tat", Double, nullable=False),  # when the next send is due (GCRA)
)

incidents = Table(
    "incidents",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),  # FM-<number>
    Column("prefix", String(10), nullable=False),
    Column("open_key", String(200), nullable=False, unique=True),  # the opening command's job
    Column("title", Text, nullable=False),
    Column("severity", String(2), nullable=False),
    Column("status", String(20), nullable=False),
    Column("env", String(80)),
    Column("lead", String(120)),
    Column("opened_by", String(120), nullable=False),
    Column("channel", String(40)),
    Column("channel_note", Text, nullable=False),
    Column("header_ts", String(40)),
    Column("announce_ts", String(40)),
    Column("report_file", String(40)),
    Column("started_at", Double, nullable=False),
    Column("resolved_at", Double),
    Column("updated_at", Double, nullable=False),
    Index("incidents_channel", "channel"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("incident", Integer, ForeignKey("incidents.number"), nullable=False),
    Column("key", String(200), nullable=False),  # the same event twice is one entry
    Column("kind", String(20), nullable=False),
    Column("at", Double, nullable=False),  # when it happened (a pin: when the message was sent)
    Column("recorded_at", Double, nullable=False),
    Column("author", String(120), nullable=False),
    Column("text", Text, nullable=False),  # redacted, as everything here
    Column("verdict", String(10)),
    Column("link", Text),
    Column("tag", String(10)),
    Column("lines", Text, nullable=False),  # JSON list of strings
    Column("command", Text, nullable=False),
    Column("by_integration", Boolean, nullable=False),
    UniqueConstraint("incident", "key", name="timeline_incident_key"),
    Index("timeline_incident_at", "incident", "at"),
)
