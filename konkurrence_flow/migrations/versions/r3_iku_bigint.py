"""IKU amounts as 64-bit integers: a municipality's exposable spend passes 2^31 DKK.

v0.1.0 kept them in 32-bit INTEGER columns: on PostgreSQL, loading the forum-2007-2008 programme
(Aarhus: 5,200,000,000 DKK) failed with "integer out of range". SQLite's INTEGER was always 64-bit;
there the table is copied with the new declared type (batch mode).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r3"
down_revision = "r2"
branch_labels = None
depends_on = None

AMOUNTS = ("iku_exposable", "iku_exposed")


def upgrade() -> None:
    with op.batch_alter_table("programme_municipality") as batch:
        for name in AMOUNTS:
            batch.alter_column(name, existing_type=sa.Integer(), type_=sa.BigInteger())


def downgrade() -> None:
    with op.batch_alter_table("programme_municipality") as batch:
        for name in AMOUNTS:
            batch.alter_column(name, existing_type=sa.BigInteger(), type_=sa.Integer())
