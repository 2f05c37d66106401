"""Initial schema: images and their side tables, tasks.

The tables are those of ``glance.db.migrations.schema_0001``, the frozen
definition this revision creates (and that a database written by OpenStack
Glance is reshaped into).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from alembic import op
from alembic.operations import ops

from glance.db.migrations import schema_0001

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    tables = schema_0001.metadata().tables
    for name in schema_0001.TABLE_NAMES:
        table = tables[name]
        op.invoke(ops.CreateTableOp.from_table(table))
        for index in sorted(table.indexes, key=lambda i: i.name):
            op.invoke(ops.CreateIndexOp.from_index(index))
