"""Jobs, worker heartbeats and Slack's shared pace.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(120)),
        sa.Column("lease_until", sa.Double),
        sa.Column("requested_by", sa.String(120), nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("started_at", sa.Double),
        sa.Column("finished_at", sa.Double),
    )
    op.create_index("jobs_state_id", "jobs", ["state", "id"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("host", sa.String(120), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("seen_at", sa.Double, nullable=False),
    )
    op.create_table(
        "slack_pace",
        sa.Column("bucket", sa.String(120), primary_key=True),
        sa.Column("tat", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_pace")
    op.drop_table("workers")
    op.drop_index("jobs_state_id", "jobs")
    op.drop_table("jobs")
