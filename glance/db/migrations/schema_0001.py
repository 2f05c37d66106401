"""The schema of revision 0001, frozen: the tables as that revision made them.

Revision 0001 creates these tables; the adoption of a database written by
OpenStack Glance (``glance.db.migrations.from_glance``) reshapes Glance's
tables into exactly these. Later revisions change the schema from here, so
this module must never follow ``glance.db.models``.
"""
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

REVISION = "0001"
MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")
# Children after their parents.
TABLE_NAMES = ("images", "image_properties", "image_tags",
               "image_locations", "image_members", "tasks", "task_info")


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


def _images(metadata):
    table = sa.Table(
        "images", metadata,
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
        sa.Index("ix_images_%s" % column, table.c[column])


def _child(metadata, name, *columns):
    """A table of rows belonging to an image."""
    return sa.Table(
        name, metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"),
                  nullable=False),
        *columns,
        *_soft_delete_columns(),
        **MYSQL)


def _image_children(metadata):
    table = _child(metadata, "image_properties",
                   sa.Column("name", _case_sensitive(255), nullable=False),
                   sa.Column("value", sa.Text))
    sa.Index("ix_image_properties_image_id_name", table.c.image_id,
             table.c.name, unique=True)
    table = _child(metadata, "image_tags",
                   sa.Column("value", _case_sensitive(255), nullable=False))
    sa.Index("ix_image_tags_image_id_value", table.c.image_id,
             table.c.value)
    table = _child(metadata, "image_locations",
                   sa.Column("value", sa.Text, nullable=False),
                   sa.Column("meta_data", sa.Text),
                   sa.Column("status", sa.String(30), nullable=False,
                             server_default="active"))
    sa.Index("ix_image_locations_image_id", table.c.image_id)
    table = _child(metadata, "image_members",
                   sa.Column("member", sa.String(255), nullable=False),
                   sa.Column("can_share", sa.Boolean, nullable=False),
                   sa.Column("status", sa.String(20), nullable=False,
                             server_default="pending"))
    sa.Index("ix_image_members_image_id_member_deleted_at", table.c.image_id,
             table.c.member, table.c.deleted_at, unique=True)
    sa.Index("ix_image_members_member", table.c.member)


def _tasks(metadata):
    table = sa.Table(
        "tasks", metadata,
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
        sa.Index("ix_tasks_%s" % column, table.c[column])
    sa.Table(
        "task_info", metadata,
        sa.Column("task_id", sa.String(36), sa.ForeignKey("tasks.id"),
                  primary_key=True),
        sa.Column("input", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("message", sa.Text),
        **MYSQL)


def metadata():
    """A new MetaData holding the tables of revision 0001."""
    md = sa.MetaData()
    _images(md)
    _image_children(md)
    _tasks(md)
    return md
