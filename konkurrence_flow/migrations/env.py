"""Alembic's entry point: run the migrations on the connection `konkurrence_flow.migrate` hands in.

There is no alembic.ini: `migrate` builds the configuration in code and passes an open connection
(inside its one transaction) as `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from konkurrence_flow import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from konkurrence_flow.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    transactional_ddl=True,
    version_table=VERSION_TABLE,
)
with context.begin_transaction():
    context.run_migrations()
