"""Initial schema: images and their side tables, tasks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
# Frozen copies of the column types of glance.db.models at this revision.
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")


def _case_sensitive(length):
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"),
        "mysql", "mariadb")


def _soft_delete_columns():
    return [
        sa.Column("created_at", DATETIME, nullable=False),
        sa.Column("updated_at", DATETIME, nullable=True),
        sa.Column("deleted_at", DATETIME, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
    ]


def _create_images():
    op.create_table(
        "images",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255)),
        sa.Column("size", sa.BigInteger),
        sa.Column("virtual_size", sa.BigInteger),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("checksum", sa.String(32)),
        sa.Column("os_hash_algo", sa.String(64)),
        sa.Column("os_hash_value", sa.String(128)),
        sa.Column("min_disk", sa.Integer, nullable=False),
        sa.Column("min_ram", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("os_hidden", sa.Boolean, nullable=False),
        sa.Column("disk_format", sa.String(20)),
        sa.Column("container_format", sa.String(20)),
        *_soft_delete_columns(),
        **MYSQL)
    for column in ("owner", "visibility", "status", "created_at",
                   "os_hash_value"):
        op.create_index("ix_images_%s" % column, "images", [column])


def _create_image_children():
    op.create_table(
        "image_properties",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"),
                  nullable=False),
        sa.Column("name", _case_sensitive(255), nullable=False),
        sa.Column("value", sa.Text),
        *_soft_delete_columns(),
        **MYSQL)
    op.create_index("ix_image_properties_image_id_name", "image_properties",
                    ["image_id", "name"], unique=True)
    op.create_table(
        "image_tags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"),
                  nullable=False),
        sa.Column("value", _case_sensitive(255), nullable=False),
        *_soft_delete_columns(),
        **MYSQL)
    op.create_index("ix_image_tags_image_id_value", "image_tags",
                    ["image_id", "value"])
    op.create_table(
        "image_locations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"),
                  nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("meta_data", sa.Text),
        sa.Column("status", sa.String(30), nullable=False,
                  server_default="active"),
        *_soft_delete_columns(),
        **MYSQL)
    op.create_index("ix_image_locations_image_id", "image_locations",
                    ["image_id"])


def _create_image_members():
    op.create_table(
        "image_members",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"),
                  nullable=False),
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("can_share", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False,
                  server_default="pending"),
        *_soft_delete_columns(),
        **MYSQL)
    op.create_index("ix_image_members_image_id_member_deleted_at",
                    "image_members", ["image_id", "member", "deleted_at"],
                    unique=True)
    op.create_index("ix_image_members_member", "image_members", ["member"])


def _create_tasks():
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("expires_at", DATETIME),
        sa.Column("image_id", sa.String(36)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("user_id", sa.String(64)),
        *_soft_delete_columns(),
        **MYSQL)
    for column in ("owner", "status", "image_id", "expires_at"):
        op.create_index("ix_tasks_%s" % column, "tasks", [column])
    op.create_table(
        "task_info",
        sa.Column("task_id", sa.String(36), sa.ForeignKey("tasks.id"),
                  primary_key=True),
        sa.Column("input", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("message", sa.Text),
        **MYSQL)


def upgrade():
    _create_images()
    _create_image_children()
    _create_image_members()
    _create_tasks()
