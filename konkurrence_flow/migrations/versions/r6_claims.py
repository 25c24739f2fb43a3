"""Claims, so that several schedulers and dispatchers share the work instead of racing for it.

A tick claims the due tenders it will catch up (`tender.claimed_by`, `tender.claimed_until`), a
dispatch the messages it will send (the same two columns on `notification`, where the claim used
to live inside `data`); a claim lapses at `claimed_until` on the real clock, so a crashed
claimant's work is taken up by another. An index on `tender (due, id)` serves the overdue lists,
which are read in that order a chunk at a time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r6"
down_revision = "r5"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True).with_variant(sa.String(26), "sqlite")


def upgrade() -> None:
    for table in ("tender", "notification"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
            batch.add_column(sa.Column("claimed_until", INSTANT, nullable=True))
    op.create_index("ix_tender_due_id", "tender", ["due", "id"])


def downgrade() -> None:
    op.drop_index("ix_tender_due_id", table_name="tender")
    for table in ("notification", "tender"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claimed_until")
            batch.drop_column("claimed_by")
