"""Per-person access tokens for the shared service (`kflow token create`, `kflow serve`).

Only a SHA-256 of each token's secret is kept: a copy of the store gives nobody a way in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r4"
down_revision = "r3"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True).with_variant(sa.String(26), "sqlite")


def upgrade() -> None:
    op.create_table(
        "token",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column("last_used_at", INSTANT, nullable=True),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
    )
    op.create_index("ix_token_person_id", "token", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_token_person_id", "token")
    op.drop_table("token")
