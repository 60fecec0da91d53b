"""Incidents and their timelines.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("prefix", sa.String(10), nullable=False),
        sa.Column("open_key", sa.String(200), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.String(2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("env", sa.String(80)),
        sa.Column("lead", sa.String(120)),
        sa.Column("opened_by", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(40)),
        sa.Column("channel_note", sa.Text, nullable=False),
        sa.Column("header_ts", sa.String(40)),
        sa.Column("announce_ts", sa.String(40)),
        sa.Column("report_file", sa.String(40)),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("resolved_at", sa.Double),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_index("incidents_channel", "incidents", ["channel"])
    op.create_table(
        "timeline",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("incident", sa.Integer, sa.ForeignKey("incidents.number"), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("recorded_at", sa.Double, nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(10)),
        sa.Column("link", sa.Text),
        sa.Column("tag", sa.String(10)),
        sa.Column("lines", sa.Text, nullable=False),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("by_integration", sa.Boolean, nullable=False),
        sa.UniqueConstraint("incident", "key", name="timeline_incident_key"),
    )
    op.create_index("timeline_incident_at", "timeline", ["incident", "at"])


def downgrade() -> None:
    op.drop_index("timeline_incident_at", "timeline")
    op.drop_table("timeline")
    op.drop_index("incidents_channel", "incidents")
    op.drop_table("incidents")
