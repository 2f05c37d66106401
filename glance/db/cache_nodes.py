"""Queries of the ``centralized_db`` image cache driver: each node's
cached images, and which nodes cache an image.

A node is named by its URL (``worker_self_reference_url``); its row in
``node_reference`` is made once (:func:`node_reference_create`). Times
are naive UTC datetimes in the database and epoch seconds outside, as
the cache drivers count them.
"""
import datetime

import sqlalchemy as sa

from glance.db import models
from glance.db import session as db_session

NODE = models.NodeReference.__table__
CACHED = models.CachedImage.__table__
COLUMNS = (CACHED.c.image_id, CACHED.c.last_accessed, CACHED.c.last_modified,
           CACHED.c.size, CACHED.c.hits, CACHED.c.checksum)


def _node_id(url):
    return (sa.select(NODE.c.node_reference_id)
            .where(NODE.c.node_reference_url == url).scalar_subquery())


def _datetime(epoch):
    return datetime.datetime.fromtimestamp(
        epoch, datetime.timezone.utc).replace(tzinfo=None)


def _epoch(value):
    return value.replace(tzinfo=datetime.timezone.utc).timestamp()


def _row(row):
    return {"image_id": row.image_id,
            "last_accessed": _epoch(row.last_accessed),
            "last_modified": _epoch(row.last_modified),
            "size": row.size, "hits": row.hits, "checksum": row.checksum}


def node_reference_create(url):
    """Record the node ``url`` (nothing if it is recorded already)."""
    query = sa.select(NODE.c.node_reference_id).where(
        NODE.c.node_reference_url == url)
    with db_session.connection(write=False) as conn:
        if conn.execute(query).first() is not None:
            return
    try:
        with db_session.connection(write=True) as conn:
            conn.execute(sa.insert(NODE).values(node_reference_url=url))
    except sa.exc.IntegrityError:
        pass   # another worker of the node recorded it first


def cached_images(url):
    """The index rows of node ``url``'s cached images."""
    with db_session.connection(write=False) as conn:
        rows = conn.execute(sa.select(*COLUMNS).where(
            CACHED.c.node_reference_id == _node_id(url)))
        return [_row(r) for r in rows]


def cached_image(url, image_id):
    """The index row of one image in node ``url``'s cache, or None."""
    with db_session.connection(write=False) as conn:
        row = conn.execute(sa.select(*COLUMNS).where(
            CACHED.c.node_reference_id == _node_id(url),
            CACHED.c.image_id == image_id)).first()
        return _row(row) if row is not None else None


def cached_nodes(image_id):
    """URLs of the nodes that cache ``image_id``."""
    with db_session.connection(write=False) as conn:
        rows = conn.execute(
            sa.select(NODE.c.node_reference_url)
            .join(CACHED, CACHED.c.node_reference_id ==
                  NODE.c.node_reference_id)
            .where(CACHED.c.image_id == image_id)
            .order_by(NODE.c.node_reference_url))
        return [r.node_reference_url for r in rows]


def insert_cache_details(url, image_id, size, checksum=None, when=None):
    """Record ``image_id`` as newly cached on node ``url`` (0 hits)."""
    stamp = _datetime(when) if when is not None else \
        datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with db_session.connection(write=True) as conn:
        node = conn.execute(sa.select(NODE.c.node_reference_id).where(
            NODE.c.node_reference_url == url)).scalar_one()
        conn.execute(sa.delete(CACHED).where(
            CACHED.c.node_reference_id == node,
            CACHED.c.image_id == image_id))
        conn.execute(sa.insert(CACHED).values(
            image_id=image_id, node_reference_id=node, size=size, hits=0,
            checksum=checksum, last_accessed=stamp, last_modified=stamp))


def update_hit_count(url, image_id, when):
    with db_session.connection(write=True) as conn:
        conn.execute(sa.update(CACHED).where(
            CACHED.c.node_reference_id == _node_id(url),
            CACHED.c.image_id == image_id).values(
                hits=CACHED.c.hits + 1, last_accessed=_datetime(when)))


def delete_cached_images(url, image_ids=None):
    """Forget ``image_ids`` (all when None) in node ``url``'s cache."""
    with db_session.connection(write=True) as conn:
        query = sa.delete(CACHED).where(
            CACHED.c.node_reference_id == _node_id(url))
        if image_ids is not None:
            query = query.where(CACHED.c.image_id.in_(list(image_ids)))
        conn.execute(query)
