"""Alembic migrations of the store, shipped inside the package (see `konkurrence_flow.migrate`).

Each file in `versions/` is one revision, named r1, r2, …; r1 is exactly the v0.1.0 schema. A
revision, once released, never changes: a schema change is a new revision.
"""
