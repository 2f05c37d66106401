"""SQLAlchemy models of the image metadata tables.

The tables follow Glance's shape so an operator can read them the same way.
Rows are never removed by the API: a delete sets ``deleted`` and
``deleted_at`` ("soft delete"). Datetimes are naive and in UTC. The schema is
created by the alembic migrations in ``glance/db/migrations``; a test checks
that the two agree.
"""
import datetime
import json

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy import orm

# Microsecond precision everywhere: MySQL's plain DATETIME drops fractions,
# which would reorder images created within one second.
DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")

MYSQL_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def CaseSensitiveString(length):  # noqa: N802 - used like a type
    """A VARCHAR that compares case-sensitively on MySQL too, as on the
    other backends (MySQL's default collation would make the tags 'a' and
    'A' one and the same)."""
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"),
        "mysql", "mariadb")


def utcnow():
    """The current UTC time as a naive datetime."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class JSONText(sa.types.TypeDecorator):
    """A JSON document stored in a TEXT column."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class Base(orm.DeclarativeBase):
    """Declarative base of the metadata tables."""


class SoftDeleteMixin:
    """Timestamps and the soft-delete flag shared by most tables."""

    created_at = sa.Column(DateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(DateTime, nullable=True, default=utcnow)
    deleted_at = sa.Column(DateTime, nullable=True)
    deleted = sa.Column(sa.Boolean, nullable=False, default=False)


class Image(SoftDeleteMixin, Base):
    """An image record: its base attributes."""

    __tablename__ = "images"
    __table_args__ = (
        sa.Index("ix_images_status", "status"),
        sa.Index("ix_images_os_hash_value", "os_hash_value"),
        # Listing (glance.db.image_query): each index is one part of what a
        # viewer sees (all live images, an owner's, a visibility's) in a
        # sort order (created_at or name, then the tie-breakers), so a
        # page reads ``limit`` rows of it, not every visible image.
        # Made by the migration 0003_list_indexes.
        sa.Index("ix_images_live_created_at", "deleted", "os_hidden",
                 "created_at", "id"),
        sa.Index("ix_images_live_name", "deleted", "os_hidden", "name",
                 "created_at", "id"),
        sa.Index("ix_images_owner_created_at", "owner", "deleted",
                 "os_hidden", "created_at", "id"),
        sa.Index("ix_images_owner_name", "owner", "deleted", "os_hidden",
                 "name", "created_at", "id"),
        sa.Index("ix_images_visibility_created_at", "visibility", "deleted",
                 "os_hidden", "created_at", "id"),
        sa.Index("ix_images_visibility_name", "visibility", "deleted",
                 "os_hidden", "name", "created_at", "id"),
        MYSQL_TABLE_ARGS,
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255))
    size = sa.Column(sa.BigInteger)
    virtual_size = sa.Column(sa.BigInteger)
    status = sa.Column(sa.String(30), nullable=False)
    visibility = sa.Column(sa.String(20), nullable=False)
    checksum = sa.Column(sa.String(32))
    os_hash_algo = sa.Column(sa.String(64))
    os_hash_value = sa.Column(sa.String(128))
    min_disk = sa.Column(sa.Integer, nullable=False, default=0)
    min_ram = sa.Column(sa.Integer, nullable=False, default=0)
    owner = sa.Column(sa.String(255))
    protected = sa.Column(sa.Boolean, nullable=False, default=False)
    os_hidden = sa.Column(sa.Boolean, nullable=False, default=False)
    disk_format = sa.Column(sa.String(20))
    container_format = sa.Column(sa.String(20))


class ImageProperty(SoftDeleteMixin, Base):
    """A free-form property of an image; one row per (image, name)."""

    __tablename__ = "image_properties"
    __table_args__ = (
        sa.Index("ix_image_properties_image_id_name", "image_id", "name",
                 unique=True),
        MYSQL_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    image_id = sa.Column(sa.String(36), sa.ForeignKey("images.id"),
                         nullable=False)
    name = sa.Column(CaseSensitiveString(255), nullable=False)
    value = sa.Column(sa.Text)


class ImageTag(SoftDeleteMixin, Base):
    """A tag of an image; tags keep their insertion order (by id)."""

    __tablename__ = "image_tags"
    __table_args__ = (
        sa.Index("ix_image_tags_image_id_value", "image_id", "value"),
        MYSQL_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    image_id = sa.Column(sa.String(36), sa.ForeignKey("images.id"),
                         nullable=False)
    value = sa.Column(CaseSensitiveString(255), nullable=False)


class ImageLocation(SoftDeleteMixin, Base):
    """Where a copy of an image's data lives in a store."""

    __tablename__ = "image_locations"
    __table_args__ = (
        sa.Index("ix_image_locations_image_id", "image_id"),
        MYSQL_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    image_id = sa.Column(sa.String(36), sa.ForeignKey("images.id"),
                         nullable=False)
    value = sa.Column(sa.Text, nullable=False)
    meta_data = sa.Column(JSONText)
    status = sa.Column(sa.String(30), nullable=False,
                       server_default="active")


class ImageMember(SoftDeleteMixin, Base):
    """A project an image is shared with, and its answer."""

    __tablename__ = "image_members"
    __table_args__ = (
        sa.Index("ix_image_members_image_id_member_deleted_at",
                 "image_id", "member", "deleted_at", unique=True),
        sa.Index("ix_image_members_member", "member"),
        MYSQL_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    image_id = sa.Column(sa.String(36), sa.ForeignKey("images.id"),
                         nullable=False)
    member = sa.Column(sa.String(255), nullable=False)
    can_share = sa.Column(sa.Boolean, nullable=False, default=False)
    status = sa.Column(sa.String(20), nullable=False,
                       server_default="pending")


class Task(SoftDeleteMixin, Base):
    """An asynchronous task (e.g. an import) and its state."""

    __tablename__ = "tasks"
    __table_args__ = (
        sa.Index("ix_tasks_owner", "owner"),
        sa.Index("ix_tasks_status", "status"),
        sa.Index("ix_tasks_image_id", "image_id"),
        sa.Index("ix_tasks_expires_at", "expires_at"),
        MYSQL_TABLE_ARGS,
    )

    id = sa.Column(sa.String(36), primary_key=True)
    type = sa.Column(sa.String(30), nullable=False)
    status = sa.Column(sa.String(30), nullable=False)
    owner = sa.Column(sa.String(255))
    expires_at = sa.Column(DateTime)
    image_id = sa.Column(sa.String(36))
    request_id = sa.Column(sa.String(64))
    user_id = sa.Column(sa.String(64))


class TaskInfo(Base):
    """The bulky part of a task: its input, result and message."""

    __tablename__ = "task_info"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    task_id = sa.Column(sa.String(36), sa.ForeignKey("tasks.id"),
                        primary_key=True)
    input = sa.Column(JSONText)
    result = sa.Column(JSONText)
    message = sa.Column(sa.Text)


# --- Metadata definitions (the /v2/metadefs catalog) ------------------------
# Same tables, columns and constraint names as Glance's, so a catalog made
# by Glance is read as is. Rows are deleted for real (no soft delete), and
# the datetimes are plain DATETIME as in Glance.

METADEF_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


class MetadefTimestamps:
    """created_at/updated_at of the metadef tables (no soft delete)."""

    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(sa.DateTime, nullable=True, default=utcnow,
                           onupdate=utcnow)


class MetadefNamespace(MetadefTimestamps, Base):
    """A namespace of metadata definitions, known by its unique name."""

    __tablename__ = "metadef_namespaces"
    __table_args__ = (
        sa.UniqueConstraint("namespace",
                            name="uq_metadef_namespaces_namespace"),
        sa.Index("ix_metadef_namespaces_owner", "owner"),
        METADEF_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, nullable=False)
    namespace = sa.Column(sa.String(80), nullable=False)
    display_name = sa.Column(sa.String(80))
    description = sa.Column(sa.Text)
    visibility = sa.Column(sa.String(32))
    protected = sa.Column(sa.Boolean)
    owner = sa.Column(sa.String(255), nullable=False)


class MetadefObject(MetadefTimestamps, Base):
    """An object (a named group of properties) of a namespace."""

    __tablename__ = "metadef_objects"
    __table_args__ = (
        sa.UniqueConstraint("namespace_id", "name",
                            name="uq_metadef_objects_namespace_id_name"),
        sa.Index("ix_metadef_objects_name", "name"),
        METADEF_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, nullable=False)
    namespace_id = sa.Column(sa.Integer, sa.ForeignKey(
        "metadef_namespaces.id"), nullable=False)
    name = sa.Column(sa.String(80), nullable=False)
    description = sa.Column(sa.Text)
    # the names of the required properties, joined with commas
    required = sa.Column(sa.Text)
    json_schema = sa.Column(JSONText, nullable=False)


class MetadefProperty(MetadefTimestamps, Base):
    """A property definition (a small JSON schema) of a namespace."""

    __tablename__ = "metadef_properties"
    __table_args__ = (
        sa.UniqueConstraint("namespace_id", "name",
                            name="uq_metadef_properties_namespace_id_name"),
        sa.Index("ix_metadef_properties_name", "name"),
        METADEF_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, nullable=False)
    namespace_id = sa.Column(sa.Integer, sa.ForeignKey(
        "metadef_namespaces.id"), nullable=False)
    name = sa.Column(sa.String(80), nullable=False)
    json_schema = sa.Column(JSONText, nullable=False)


class MetadefTag(MetadefTimestamps, Base):
    """A tag definition of a namespace."""

    __tablename__ = "metadef_tags"
    __table_args__ = (
        sa.UniqueConstraint("namespace_id", "name",
                            name="uq_metadef_tags_namespace_id_name"),
        sa.Index("ix_metadef_tags_name", "name"),
        METADEF_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, nullable=False)
    namespace_id = sa.Column(sa.Integer, sa.ForeignKey(
        "metadef_namespaces.id"), nullable=False)
    name = sa.Column(sa.String(80), nullable=False)


class MetadefResourceType(MetadefTimestamps, Base):
    """A kind of resource (e.g. OS::Glance::Image) namespaces apply to."""

    __tablename__ = "metadef_resource_types"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uq_metadef_resource_types_name"),
        METADEF_TABLE_ARGS,
    )

    id = sa.Column(sa.Integer, primary_key=True, nullable=False)
    name = sa.Column(sa.String(80), nullable=False)
    protected = sa.Column(sa.Boolean, nullable=False, default=False)


class MetadefNamespaceResourceType(MetadefTimestamps, Base):
    """That a namespace applies to a resource type, with which prefix."""

    __tablename__ = "metadef_namespace_resource_types"
    __table_args__ = (
        sa.Index("ix_metadef_ns_res_types_namespace_id", "namespace_id"),
        METADEF_TABLE_ARGS,
    )

    resource_type_id = sa.Column(sa.Integer, sa.ForeignKey(
        "metadef_resource_types.id"), primary_key=True, nullable=False)
    namespace_id = sa.Column(sa.Integer, sa.ForeignKey(
        "metadef_namespaces.id"), primary_key=True, nullable=False)
    properties_target = sa.Column(sa.String(80))
    prefix = sa.Column(sa.String(80))


# --- the tables of the ``centralized_db`` image cache driver ---
# Which node caches
# which image (Glance's ``node_reference`` and ``cached_images``, same
# names, columns and constraints, so a database adopted from Glance keeps
# them as they are).
#
# Each glance-api node records itself (its ``worker_self_reference_url``)
# in ``node_reference``; ``cached_images`` holds a row per image a node
# has in its cache, with the size, hits and access times its pruner
# goes by. Made by the migration 0004_cache_nodes.

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class NodeReference(Base):
    """A glance-api node, by the URL its peers reach it at."""

    __tablename__ = "node_reference"
    __table_args__ = (
        sa.UniqueConstraint("node_reference_url",
                            name="uq_node_reference_node_reference_url"),
        MYSQL_TABLE_ARGS,
    )

    node_reference_id = sa.Column(BigId, primary_key=True,
                                  autoincrement=True, nullable=False)
    node_reference_url = sa.Column(sa.String(255), nullable=False)


class CachedImage(Base):
    """An image in one node's cache."""

    __tablename__ = "cached_images"
    __table_args__ = (
        sa.UniqueConstraint(
            "image_id", "node_reference_id",
            name="ix_cached_images_image_id_node_reference_id"),
        MYSQL_TABLE_ARGS,
    )

    id = sa.Column(BigId, primary_key=True, autoincrement=True,
                   nullable=False)
    image_id = sa.Column(sa.String(36), nullable=False)
    last_accessed = sa.Column(DateTime, nullable=False)
    last_modified = sa.Column(DateTime, nullable=False)
    size = sa.Column(sa.BigInteger, nullable=False)
    hits = sa.Column(sa.Integer, nullable=False)
    checksum = sa.Column(sa.String(32), nullable=True)
    node_reference_id = sa.Column(
        BigId, sa.ForeignKey("node_reference.node_reference_id"),
        nullable=False)
