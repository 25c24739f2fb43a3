"""A tamper-evident history: every event's hash, each tender's head, the secretariat's checkpoints.

Existing events are hashed in `seq` order, tender by tender, in chunks (bounded memory), so a
store made by v0.1.0 verifies as soon as it is upgraded. Then the hashes become NOT NULL: a
kflow v0.1.0 still running against the upgraded store cannot add an event without one.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from konkurrence_flow.chain import GENESIS, Content, event_hash
from konkurrence_flow.tables import UTCDateTime

revision = "r2"
down_revision = "r1"
branch_labels = None
depends_on = None

CHUNK = 500  # tenders per read

INSTANT = sa.DateTime(timezone=True).with_variant(sa.String(26), "sqlite")

EVENT = sa.table(
    "event",
    *(sa.column(name, sa.String()) for name in ("tender_id", "kind", "trigger", "source", "dest")),
    sa.column("seq", sa.Integer()),
    sa.column("actor", sa.String()),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("recorded_at", UTCDateTime()),
    sa.column("note", sa.Text()),
    sa.column("data", sa.JSON()),
    sa.column("prev_hash", sa.String(64)),
    sa.column("hash", sa.String(64)),
)
TENDER = sa.table("tender", sa.column("id", sa.String()), sa.column("chain_head", sa.String(64)))


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    with op.batch_alter_table("tender") as batch:
        batch.add_column(sa.Column("chain_head", sa.String(64), nullable=True))
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("taken_at", INSTANT, nullable=False),
        sa.Column("covers_until", INSTANT, nullable=True),
        sa.Column("tenders", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("heads", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    backfill(op.get_bind())
    with op.batch_alter_table("event") as batch:  # a writer that does not hash now fails loudly
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)


def backfill(conn: Any) -> None:
    """Hash every stored event, tender by tender, and record each tender's head."""
    ids = list(conn.execute(sa.select(TENDER.c.id).order_by(TENDER.c.id)).scalars())
    for start in range(0, len(ids), CHUNK):
        _hash_chunk(conn, ids[start : start + CHUNK])


def _hash_chunk(conn: Any, ids: list[str]) -> None:
    query = (
        sa.select(EVENT).where(EVENT.c.tender_id.in_(ids)).order_by(EVENT.c.tender_id, EVENT.c.seq)
    )
    events: list[dict[str, Any]] = []
    heads: dict[str, str] = {}
    for row in conn.execute(query):
        before = heads.get(row.tender_id, GENESIS)
        content = Content(
            row.tender_id, row.seq, row.kind, row.trigger, row.source, row.dest, row.actor,
            row.occurred_at, row.recorded_at, row.note, row.data or {},
        )  # fmt: skip
        digest = heads[row.tender_id] = event_hash(before, content)
        events.append({"t": row.tender_id, "s": row.seq, "p": before, "h": digest})
    if events:
        conn.execute(
            sa.update(EVENT)
            .where(EVENT.c.tender_id == sa.bindparam("t"), EVENT.c.seq == sa.bindparam("s"))
            .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h")),
            events,
        )
        conn.execute(
            sa.update(TENDER)
            .where(TENDER.c.id == sa.bindparam("t"))
            .values(chain_head=sa.bindparam("h")),
            [{"t": t, "h": h} for t, h in heads.items()],
        )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("tender") as batch:
        batch.drop_column("chain_head")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
