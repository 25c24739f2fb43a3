"""Token kinds for the dashboard: `api` (a person's bearer token, as before), `session` (a browser's
sign-in, ending after hours) and `link` (a one-time sign-in link); `expires_at` ends a token to the
second (sessions and links), where `expires` ends one at a day's end; `parent_id` is the API token a
session was started with (revoking that ends the session too).

`milestone.sequence` counts the times a milestone's date or label changed: calendars (iCalendar
SEQUENCE) take the new version over the old one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r5"
down_revision = "r4"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True).with_variant(sa.String(26), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("token") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="api"))
        batch.add_column(sa.Column("expires_at", INSTANT, nullable=True))
        batch.add_column(sa.Column("parent_id", sa.String(32), nullable=True))
    with op.batch_alter_table("milestone") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("milestone") as batch:
        batch.drop_column("sequence")
    with op.batch_alter_table("token") as batch:
        batch.drop_column("parent_id")
        batch.drop_column("expires_at")
        batch.drop_column("kind")
