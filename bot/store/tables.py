"""The store's tables (SQLAlchemy Core). Times are epoch seconds: lease arithmetic is then the
same plain comparison on both backends. Changing a table means a new migration in migrations/."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
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
