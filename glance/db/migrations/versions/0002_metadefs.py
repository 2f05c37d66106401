"""Metadata definitions catalog: the six metadef_* tables.

Same table, column, index and constraint names and column types as
Glance's, so a catalog written by Glance is read as is. A table that
already exists (a database first made by Glance) is left alone.

Revision ID: 0002_metadefs
Revises: 0001
Create Date: 2025-02-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_metadefs"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _timestamps():
    return [sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=True)]


def _namespace_fk():
    return sa.Column("namespace_id", sa.Integer,
                     sa.ForeignKey("metadef_namespaces.id"), nullable=False)


def _namespaces():
    op.create_table(
        "metadef_namespaces",
        sa.Column("id", sa.Integer, primary_key=True, nullable=False),
        sa.Column("namespace", sa.String(80), nullable=False),
        sa.Column("display_name", sa.String(80)),
        sa.Column("description", sa.Text),
        sa.Column("visibility", sa.String(32)),
        sa.Column("protected", sa.Boolean),
        sa.Column("owner", sa.String(255), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("namespace",
                            name="uq_metadef_namespaces_namespace"),
        **MYSQL)
    op.create_index("ix_metadef_namespaces_owner", "metadef_namespaces",
                    ["owner"])


def _resource_types():
    op.create_table(
        "metadef_resource_types",
        sa.Column("id", sa.Integer, primary_key=True, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("name", name="uq_metadef_resource_types_name"),
        **MYSQL)


def _associations():
    op.create_table(
        "metadef_namespace_resource_types",
        sa.Column("resource_type_id", sa.Integer,
                  sa.ForeignKey("metadef_resource_types.id"),
                  primary_key=True, nullable=False),
        sa.Column("namespace_id", sa.Integer,
                  sa.ForeignKey("metadef_namespaces.id"),
                  primary_key=True, nullable=False),
        sa.Column("properties_target", sa.String(80)),
        sa.Column("prefix", sa.String(80)),
        *_timestamps(),
        **MYSQL)
    op.create_index("ix_metadef_ns_res_types_namespace_id",
                    "metadef_namespace_resource_types", ["namespace_id"])


def _named_child(table, *columns):
    op.create_table(
        table,
        sa.Column("id", sa.Integer, primary_key=True, nullable=False),
        _namespace_fk(),
        sa.Column("name", sa.String(80), nullable=False),
        *columns,
        *_timestamps(),
        sa.UniqueConstraint("namespace_id", "name",
                            name="uq_%s_namespace_id_name" % table),
        **MYSQL)
    op.create_index("ix_%s_name" % table, table, ["name"])


def _objects():
    _named_child("metadef_objects",
                 sa.Column("description", sa.Text),
                 sa.Column("required", sa.Text),
                 sa.Column("json_schema", sa.Text, nullable=False))


def _properties():
    _named_child("metadef_properties",
                 sa.Column("json_schema", sa.Text, nullable=False))


def _tags():
    _named_child("metadef_tags")


def upgrade():
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    steps = [("metadef_namespaces", _namespaces),
             ("metadef_resource_types", _resource_types),
             ("metadef_namespace_resource_types", _associations),
             ("metadef_objects", _objects),
             ("metadef_properties", _properties),
             ("metadef_tags", _tags)]
    for table, create in steps:
        if table not in existing:
            create()
