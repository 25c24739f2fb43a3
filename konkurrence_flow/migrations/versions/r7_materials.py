"""The materials bank: documents attached to tenders, their bytes stored once, and a search index.

`blob` names a document's bytes by their SHA-256 and `blob_chunk` holds them a chunk at a time;
`document` is a version of a tender's document, tied to the event that attached it. The search
index, `document_text`, is the database's own: an FTS5 table on SQLite, a table with a `tsvector`
(the `danish` configuration) and a GIN index on PostgreSQL (`materials.create_search_index`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from konkurrence_flow.materials import create_search_index

revision = "r7"
down_revision = "r6"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True).with_variant(sa.String(26), "sqlite")


def upgrade() -> None:
    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("stored_at", INSTANT, nullable=False),
    )
    op.create_table(
        "blob_chunk",
        sa.Column("sha256", sa.String(64), sa.ForeignKey("blob.sha256"), primary_key=True),
        sa.Column("n", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tender_id", sa.String(), sa.ForeignKey("tender.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("blob.sha256"), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("attached_by", sa.String(), nullable=False),
        sa.Column("attached_at", INSTANT, nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.UniqueConstraint("tender_id", "title", "version"),
    )
    op.create_index("ix_document_tender_id", "document", ["tender_id"])
    op.create_index("ix_document_sha256", "document", ["sha256"])
    create_search_index(op.get_bind())


def downgrade() -> None:
    op.execute("DROP TABLE document_text")
    op.drop_index("ix_document_sha256", table_name="document")
    op.drop_index("ix_document_tender_id", table_name="document")
    op.drop_table("document")
    op.drop_table("blob_chunk")
    op.drop_table("blob")
