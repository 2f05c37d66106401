"""Image cache middleware (the ``caching`` paste flavors).

It only puts the node's :class:`~glance.image_cache.ImageCache` in the
request's environment (``glance.cache``): the download service
(``glance.services.image_data.download``) then serves an active image
from the cache, after the same checks as any download, and tees a whole
image read from a store into it. So a cache hit goes through the one
HTTP path for image data (the same errors, headers and ranges). A
``DELETE /v2/images/{id}`` that succeeded drops the image from the cache
and the queue.
"""
import re

from oslo_log import log as logging

from glance.common import wsgi
from glance.services import cache as service

LOG = logging.getLogger(__name__)

_IMAGE_RE = re.compile(r"^/v2/images/([^/]+)/?$")
ENVIRON_KEY = "glance.cache"
DELETED_KEY = "glance.cache.deleted_image_id"


class CacheFilter(wsgi.Middleware):
    """Offers the node's image cache to the download service."""

    def __init__(self, application):
        super().__init__(application)
        self.cache = service.get_cache()

    def process_request(self, req):
        req.environ[ENVIRON_KEY] = self.cache
        if req.method == "DELETE":
            # the path as it is here: the router moves it on its way
            match = _IMAGE_RE.match(req.path_info)
            if match is not None:
                req.environ[DELETED_KEY] = match.group(1)
        return None

    def process_response(self, resp):
        image_id = resp.request.environ.get(DELETED_KEY)
        if image_id and resp.status_int == 204:
            self._forget(image_id)
        return resp

    def _forget(self, image_id):
        try:
            self.cache.delete_cached_image(image_id)
            self.cache.delete_queued_image(image_id)
        except Exception:  # noqa: BLE001 - the image is deleted anyway
            LOG.exception("Cannot remove deleted image %s from the cache",
                          image_id)
