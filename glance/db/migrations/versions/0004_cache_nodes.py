"""The tables of the centralized_db image cache driver.

``node_reference`` and ``cached_images``, as Glance 2024.1 made them
(``glance.db.models``; frozen here). A database adopted from
Glance has them already: they are left as they are.

Revision ID: 0004_cache_nodes
Revises: 0003_list_indexes
Create Date: 2025-03-10
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "0004_cache_nodes"
down_revision = "0003_list_indexes"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")
MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _node_reference():
    op.create_table(
        "node_reference",
        sa.Column("node_reference_id", BIG_ID, autoincrement=True,
                  nullable=False),
        sa.Column("node_reference_url", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("node_reference_id"),
        sa.UniqueConstraint("node_reference_url",
                            name="uq_node_reference_node_reference_url"),
        **MYSQL)


def _cached_images():
    op.create_table(
        "cached_images",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("last_accessed", DATETIME, nullable=False),
        sa.Column("last_modified", DATETIME, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(32), nullable=True),
        sa.Column("node_reference_id", BIG_ID, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["node_reference_id"],
                                ["node_reference.node_reference_id"]),
        sa.UniqueConstraint(
            "image_id", "node_reference_id",
            name="ix_cached_images_image_id_node_reference_id"),
        **MYSQL)


def upgrade():
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "node_reference" not in existing:
        _node_reference()
    if "cached_images" not in existing:
        _cached_images()


def downgrade():
    op.drop_table("cached_images")
    op.drop_table("node_reference")
