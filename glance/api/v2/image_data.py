"""``/v2/images/{id}/file`` (upload, download) and ``/stage``.

The deserializer hands the request body stream to the service unread
(Content-Length or chunked, read until EOF) and parses the Range header;
the serializer answers 204 to uploads and streams downloads: 200 with
Content-Length and Content-MD5, or 206 with Content-Range. As Glance, a
download without ``Range`` honours a ``Content-Range: bytes a-b/*``
request header (older clients sent it).

Data from a file store is handed to glance-api's ``wsgi.file_wrapper``
(``glance.common.file_body``): when nothing wraps the body on its way
back to the server, the server sends it with ``sendfile`` on a plain
(not TLS) connection. A middleware that iterates the body (a cache tee,
gzip) gets every chunk as before.
"""
import io
import re

import webob.byterange
import webob.exc

from glance.common import exception
from glance.common import file_body
from glance.common import request_body
from glance.common import wsgi
from glance.i18n import _
from glance.services import image_data as service
from glance.services import images as image_service

OCTET_STREAM = "application/octet-stream"

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$",
                       re.IGNORECASE)


class ImageDataController:
    """Calls one service function per action."""

    def upload(self, req, image_id, data, size):
        store_id = req.headers.get("x-image-meta-store")
        service.upload(req.context, image_id, data, size,
                       store_id=store_id)

    def stage(self, req, image_id, data, size):
        service.stage(req.context, image_id, data, size)

    def download(self, req, image_id, byte_range=None,
                 content_range=False):
        try:
            result = service.download(req.context, image_id, byte_range,
                                      cache=req.environ.get("glance.cache"))
        except exception.RequestedRangeNotSatisfiable:
            if not content_range:
                raise
            result = None
        if content_range and (result is None or (
                result.content_range is not None
                and byte_range[1] > result.content_range[1])):
            _close(result)
            size = image_service.find_image(req.context, image_id)["size"]
            raise exception.RequestedRangeNotSatisfiable(_(
                "Invalid stop position in Content-Range header. The stop "
                "position MUST be in the inclusive range [0, %d].")
                % ((size or 0) - 1))
        return result


def _close(result):
    close = getattr(getattr(result, "chunks", None), "close", None)
    if close is not None:
        close()


def body_stream(request):
    """The request body, unread: the server's input stream when there is
    a body (Content-Length or chunked), else an empty stream."""
    if request_body.is_chunked(request.environ) or request.content_length:
        return request_body.body_stream(request.environ)
    return io.BytesIO(b"")


MULTIPLE_RANGES = _("Requests with multiple ranges are not supported in "
                    "Glance. You may make multiple single-range requests "
                    "instead.")


def parse_content_range(header):
    """``(first, last)`` of a ``Content-Range: bytes first-last/total``
    request header (``total`` may be ``*``); 416 when it is not one."""
    parsed = webob.byterange.ContentRange.parse(header)
    if parsed is None or parsed.start is None:
        raise exception.RequestedRangeNotSatisfiable(
            _("Invalid Content-Range header."))
    return parsed.start, parsed.stop - 1


def parse_range(header):
    """``(first, last)`` of a single ``bytes=`` range, None without one.

    ``first`` None is a suffix range (the last ``last`` bytes), ``last``
    None runs to the end. Several ranges are refused with 400, anything
    unparsable with 416, as Glance answers.
    """
    if header is None:
        return None
    if "," in header:
        raise webob.exc.HTTPBadRequest(explanation=MULTIPLE_RANGES)
    match = _RANGE_RE.match(header)
    if not match or not (match.group(1) or match.group(2)):
        raise exception.RequestedRangeNotSatisfiable(
            _("Invalid Range header."))
    first, last = match.groups()
    if not first:
        return None, int(last)
    first, last = int(first), int(last) if last else None
    if last is not None and last < first:
        raise exception.RequestedRangeNotSatisfiable(
            _("Invalid Range header."))
    return first, last


class RequestDeserializer(wsgi.JSONRequestDeserializer):
    """Upload bodies stay streams; downloads take no body."""

    def upload(self, request):
        request.get_content_type((OCTET_STREAM,))   # else 415
        return {"data": body_stream(request),
                "size": request.content_length}

    def stage(self, request):
        return self.upload(request)

    def download(self, request):
        if request.content_length or "chunked" in request.headers.get(
                "Transfer-Encoding", "").lower():
            raise webob.exc.HTTPBadRequest(explanation=_(
                "A download request cannot have a body."))
        if "Range" not in request.headers and \
                "Content-Range" in request.headers:
            return {"byte_range": parse_content_range(
                request.headers["Content-Range"]), "content_range": True}
        return {"byte_range": parse_range(request.headers.get("Range"))}


class ResponseSerializer(wsgi.JSONResponseSerializer):
    """204 for uploads; the data stream for downloads."""

    def upload(self, response, result):
        response.status_int = 204   # headed as webob's default, as Glance

    def stage(self, response, result):
        self.upload(response, result)

    def download(self, response, result):
        if result.chunks is None:
            # as webob's HTTPNoContent: no Content-Type nor -Length
            response.status_int = 204
            response.headers.pop("Content-Type", None)
            del response.content_length
            return
        response.headers["Content-Type"] = OCTET_STREAM
        # webob resets Content-Length (and Content-MD5) when app_iter is
        # set, so the headers come after it.
        response.app_iter = body(result.chunks, response.request)
        response.content_length = result.length
        if result.content_range is not None:
            response.status_int = 206
            response.headers["Content-Range"] = "bytes %d-%d/%d" % (
                result.content_range)
        elif result.checksum:
            response.headers["Content-MD5"] = result.checksum


def body(chunks, request):
    """The response body: ``chunks``, handed to glance-api's file wrapper
    when they can go by ``sendfile`` (see the module's docstring)."""
    if request is None:
        return chunks
    return file_body.wrap(chunks, request.environ)


def create_resource():
    """The image data resource."""
    return wsgi.Resource(ImageDataController(), RequestDeserializer(),
                         ResponseSerializer())
