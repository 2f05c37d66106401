"""The ``centralized_db`` index of the image cache: in the main database.

As Glance's driver of that name: the cache files stay on each node's
disk (``image_cache_dir``, the layout and locking of
:mod:`glance.image_cache.drivers.base`), and the index of each node's
cached images (size, hits, access times) is kept in the database every
node shares (``node_reference`` and ``cached_images``,
:mod:`glance.db.cache_nodes`), under the node's
``worker_self_reference_url``, which is then required. Any node can so
tell which nodes cache an image (``GET /v2/cache/nodes/{image_id}``),
while ``/v2/cache`` of a node lists and changes that node's cache only.
"""
import time

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import exception
from glance.db import cache_nodes
from glance.i18n import _
from glance.image_cache.drivers import base

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class Driver(base.Driver):
    """Cache files plus an index in the main database, per node."""

    def __init__(self, base_dir, max_size=0):
        super().__init__(base_dir, max_size)
        self.node_url = None

    def _index_configure(self):
        self.node_url = CONF.worker_self_reference_url
        if not self.node_url:
            raise exception.InvalidConfiguration(_(
                "'worker_self_reference_url' needs to be set if "
                "`centralized_db` is defined as cache driver for "
                "image_cache_driver config option."))
        cache_nodes.node_reference_create(self.node_url)

    def get_cached_nodes(self, image_id):
        """URLs of the nodes whose cache holds ``image_id``."""
        return cache_nodes.cached_nodes(image_id)

    def _index_rows(self):
        return cache_nodes.cached_images(self.node_url)

    def _index_get(self, image_id):
        return cache_nodes.cached_image(self.node_url, image_id)

    def _index_add(self, image_id, size, checksum):
        cache_nodes.insert_cache_details(self.node_url, image_id, size,
                                         checksum, time.time())

    def _index_hit(self, image_id, when):
        cache_nodes.update_hit_count(self.node_url, image_id, when)

    def _index_delete(self, image_id):
        cache_nodes.delete_cached_images(self.node_url, [image_id])

    def _index_delete_many(self, image_ids):
        cache_nodes.delete_cached_images(self.node_url, image_ids)

    def _index_clear(self):
        # rows whose file is gone; a file written meanwhile keeps its row
        present = {name for name, _st in self._entries()}
        gone = [row["image_id"] for row in self._index_rows()
                if row["image_id"] not in present]
        if gone:
            self._index_delete_many(gone)
