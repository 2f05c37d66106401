"""Image cache middleware (the ``caching`` paste flavors).

``GET /v2/images/{id}/file`` of an image in the node's cache is answered
from the cache file (whole or a single byte range), after the same checks
an uncached download makes: the image must be visible to the caller
(else 404), ``download_image`` must pass (else 403), and only ``active``
images are served from the cache (a deactivated one goes on to the API,
which answers it as it always does). On a miss, a full 200 download is
teed into the cache: the same chunks that go to the client are written,
and the file is put in place only if the whole image went by with the
right checksum. ``DELETE /v2/images/{id}`` that succeeded drops the image
from the cache and the queue.
"""
import re

import webob
import webob.exc
from oslo_log import log as logging

from glance.common import exception
from glance.common import file_body
from glance.common import wsgi
from glance import notifier
from glance.services import cache as service

LOG = logging.getLogger(__name__)

_FILE_RE = re.compile(r"^/v2/images/([^/]+)/file/?$")
_IMAGE_RE = re.compile(r"^/v2/images/([^/]+)/?$")
OCTET_STREAM = "application/octet-stream"


class CacheFilter(wsgi.Middleware):
    """Serves downloads from the image cache and fills it."""

    def __init__(self, application):
        super().__init__(application)
        self.cache = service.get_cache()

    def process_request(self, req):
        if req.method == "DELETE":
            match = _IMAGE_RE.match(req.path_info)
            if match is not None:
                req.environ["glance.cache.deleted_image_id"] = match.group(1)
            return None
        if req.method != "GET":
            return None
        match = _FILE_RE.match(req.path_info)
        if match is None:
            return None
        image_id = match.group(1)
        req.environ["glance.cache.image_id"] = image_id
        if req.content_length or req.headers.get("Transfer-Encoding"):
            return None  # the API refuses a download with a body
        if "Content-Range" in req.headers and "Range" not in req.headers:
            return None  # the API answers that old form of a range
        try:
            return self._serve_from_cache(req, image_id)
        except webob.exc.HTTPException as e:
            return e
        except exception.GlanceException as e:
            return _error_response(e)

    def _serve_from_cache(self, req, image_id):
        context = req.environ.get("glance.context")
        if context is None:
            return None
        image = service.cached_image_for_download(context, image_id)
        if image is None:
            return None
        from glance.api.v2 import image_data as data_api
        byte_range = data_api.parse_range(req.headers.get("Range"))
        if byte_range is None:
            offset, length, content_range = 0, None, None
        else:
            from glance.services import image_data
            first, last = image_data.resolve_range(byte_range,
                                                   image["size"] or 0)
            offset, length = first, last - first + 1
            content_range = (first, last, image["size"])
        try:
            chunks, length = self.cache.read_iter(image_id, offset, length)
        except FileNotFoundError:
            return None  # evicted meanwhile: the API serves it
        chunks = notifier.image_send(context, image, chunks, length)
        LOG.debug("Serving image %s from the cache", image_id)
        req.environ["glance.cache.hit"] = True
        return _data_response(file_body.wrap(chunks, req.environ), length,
                              content_range, image["checksum"])

    def process_response(self, resp):
        req = resp.request
        if req.method == "GET" and resp.status_int == 200:
            image_id = req.environ.get("glance.cache.image_id")
            if image_id and resp.app_iter is not None and \
                    not req.environ.get("glance.cache.hit"):
                self._tee(resp, image_id)
        elif req.method == "DELETE" and resp.status_int == 204:
            image_id = req.environ.get("glance.cache.deleted_image_id")
            if image_id:
                self._forget(image_id)
        return resp

    def _tee(self, resp, image_id):
        length = resp.content_length
        checksum = resp.headers.get("Content-MD5")
        try:
            if not self.cache.driver.is_cacheable(image_id):
                return
        except Exception:  # noqa: BLE001 - never fail the download
            LOG.exception("Cannot tee image %s into the cache", image_id)
            return
        tee = self.cache.cache_tee_iter(image_id, resp.app_iter, checksum,
                                        image_size=length)
        # webob drops Content-Length and Content-MD5 with a new app_iter
        resp.app_iter = _done_before_last_chunk(tee)
        resp.content_length = length
        if checksum:
            resp.headers["Content-MD5"] = checksum

    def _forget(self, image_id):
        try:
            self.cache.delete_cached_image(image_id)
            self.cache.delete_queued_image(image_id)
        except Exception:  # noqa: BLE001 - the image is deleted anyway
            LOG.exception("Cannot remove deleted image %s from the cache",
                          image_id)


def _done_before_last_chunk(chunks):
    """``chunks``, one behind: what the iterator does after its last chunk
    (the tee puts the file in the cache) is done before the client has
    the whole body, so its next request finds the image cached."""
    it = iter(chunks)
    try:
        held = next(it, None)
        if held is None:
            return
        for chunk in it:
            yield held
            held = chunk
        yield held
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()   # a client gone mid-body: the tee cleans up


def _data_response(chunks, length, content_range, checksum):
    resp = webob.Response(content_type=OCTET_STREAM)
    resp.app_iter = chunks
    resp.content_length = length
    if content_range is not None:
        resp.status_int = 206
        resp.headers["Content-Range"] = "bytes %d-%d/%d" % content_range
    elif checksum:
        resp.headers["Content-MD5"] = checksum
    return resp


def _error_response(e):
    return wsgi.exception_response(e)
