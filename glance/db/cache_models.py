"""Tables of the ``centralized_db`` image cache driver: which node caches
which image (Glance's ``node_reference`` and ``cached_images``, same
names, columns and constraints, so a database adopted from Glance keeps
them as they are).

Each glance-api node records itself (its ``worker_self_reference_url``)
in ``node_reference``; ``cached_images`` holds a row per image a node
has in its cache, with the size, hits and access times its pruner
goes by. Made by the migration 0004_cache_nodes.
"""
import sqlalchemy as sa

from glance.db import models

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class NodeReference(models.Base):
    """A glance-api node, by the URL its peers reach it at."""

    __tablename__ = "node_reference"
    __table_args__ = (
        sa.UniqueConstraint("node_reference_url",
                            name="uq_node_reference_node_reference_url"),
        models.MYSQL_TABLE_ARGS,
    )

    node_reference_id = sa.Column(BigId, primary_key=True,
                                  autoincrement=True, nullable=False)
    node_reference_url = sa.Column(sa.String(255), nullable=False)


class CachedImage(models.Base):
    """An image in one node's cache."""

    __tablename__ = "cached_images"
    __table_args__ = (
        sa.UniqueConstraint(
            "image_id", "node_reference_id",
            name="ix_cached_images_image_id_node_reference_id"),
        models.MYSQL_TABLE_ARGS,
    )

    id = sa.Column(BigId, primary_key=True, autoincrement=True,
                   nullable=False)
    image_id = sa.Column(sa.String(36), nullable=False)
    last_accessed = sa.Column(models.DateTime, nullable=False)
    last_modified = sa.Column(models.DateTime, nullable=False)
    size = sa.Column(sa.BigInteger, nullable=False)
    hits = sa.Column(sa.Integer, nullable=False)
    checksum = sa.Column(sa.String(32), nullable=True)
    node_reference_id = sa.Column(
        BigId, sa.ForeignKey("node_reference.node_reference_id"),
        nullable=False)
