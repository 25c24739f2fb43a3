"""v0.1.0: the schema as released (commit ab917cd), the base every store upgrades from.

A store made by v0.1.0 has these tables but no `kflow_version`; `kflow init` recognises it by its
`meta.schema_version = 1` row and stamps it r1 before upgrading.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True).with_variant(sa.String(26), "sqlite")
"""An instant: `timestamp with time zone` on PostgreSQL, fixed-width UTC ISO text on SQLite."""

TABLES = (
    "tender_municipality", "step", "programme_municipality", "milestone", "event", "tender",
    "programme", "person", "notification", "meta", "definition",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "definition",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("loaded_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("name", "version"),
    )
    op.create_index("ix_definition_sha256", "definition", ["sha256"], unique=False)
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("tender_id", sa.String(), nullable=True),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=True),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index(
        ("ix_notification_next_attempt_at"), "notification", ["next_attempt_at"], unique=False
    )
    op.create_index("ix_notification_status", "notification", ["status"], unique=False)
    op.create_index("ix_notification_tender_id", "notification", ["tender_id"], unique=False)
    op.create_table(
        "person",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("municipality", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_person_municipality", "person", ["municipality"], unique=False)
    op.create_table(
        "programme",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("regime", sa.String(), nullable=True),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("loaded_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "tender",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("definition", sa.String(), nullable=False),
        sa.Column("definition_version", sa.Integer(), nullable=False),
        sa.Column("programme", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("state_entered_at", INSTANT, nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("timer_at", INSTANT, nullable=True),
        sa.Column("next_check_at", INSTANT, nullable=True),
        sa.Column("leader", sa.String(), nullable=True),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("procedure", sa.String(), nullable=True),
        sa.Column("regime", sa.String(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("signoffs", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("last_event_at", INSTANT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("overdue_flagged_at", INSTANT, nullable=True),
        sa.Column("reminded", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tender_next_check_at", "tender", ["next_check_at"], unique=False)
    op.create_index("ix_tender_programme", "tender", ["programme"], unique=False)
    op.create_index("ix_tender_state", "tender", ["state"], unique=False)
    op.create_table(
        "event",
        sa.Column("tender_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("dest", sa.String(), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.Column("recorded_at", INSTANT, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tender.id"],
        ),
        sa.PrimaryKeyConstraint("tender_id", "seq"),
    )
    op.create_table(
        "milestone",
        sa.Column("programme", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme"],
            ["programme.name"],
        ),
        sa.PrimaryKeyConstraint("programme", "name"),
    )
    op.create_table(
        "programme_municipality",
        sa.Column("programme", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("iku_year", sa.Integer(), nullable=True),
        sa.Column("iku_exposable", sa.Integer(), nullable=True),
        sa.Column("iku_exposed", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["programme"],
            ["programme.name"],
        ),
        sa.PrimaryKeyConstraint("programme", "code"),
    )
    op.create_table(
        "step",
        sa.Column("tender_id", sa.String(), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("entered_at", INSTANT, nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("timer_at", INSTANT, nullable=True),
        sa.Column("left_at", INSTANT, nullable=True),
        sa.Column("overdue_flagged_at", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tender.id"],
        ),
        sa.PrimaryKeyConstraint("tender_id", "visit"),
    )
    op.create_table(
        "tender_municipality",
        sa.Column("tender_id", sa.String(), nullable=False),
        sa.Column("municipality", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tender.id"],
        ),
        sa.PrimaryKeyConstraint("tender_id", "municipality"),
    )
    op.create_index(
        ("ix_tender_municipality_municipality"),
        "tender_municipality",
        ["municipality"],
        unique=False,
    )

    op.bulk_insert(
        sa.table("meta", sa.column("key", sa.String()), sa.column("value", sa.String())),
        [{"key": "schema_version", "value": "1"}],
    )


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
