"""``/v2/images/{id}/file`` (upload, download) and ``/stage``.

The deserializer hands the request body stream to the service unread
(Content-Length or chunked, read until EOF) and parses the Range header;
the serializer answers 204 to uploads and streams downloads: 200 with
Content-Length and Content-MD5, or 206 with Content-Range.

Data from a file store goes to the socket by ``sendfile`` (no copy
through Python) when nothing stands between the body and eventlet.wsgi:
the first chunk is yielded as usual (eventlet writes the status line,
the headers and it), and if the one that asks for the next chunk is
eventlet.wsgi's own loop, the rest is sent by ``sendfile`` on the
connection's plain (not TLS) socket. A middleware that iterates the body
(a cache tee, gzip) gets every chunk as before.
"""
import contextlib
import io
import re
import sys

import webob.exc

from glance.common import exception
from glance.common import utils
from glance.common import wsgi
from glance.i18n import _
from glance.services import image_data as service

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

    def download(self, req, image_id, byte_range=None):
        return service.download(req.context, image_id, byte_range)


def body_stream(request):
    """The request body, unread: ``wsgi.input`` when there is a body
    (Content-Length or chunked), else an empty stream."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding",
                                               "").lower()
    if chunked or request.content_length:
        return request.environ["wsgi.input"]
    return io.BytesIO(b"")


def parse_range(header):
    """``(first, last)`` of a single ``bytes=`` range, None without one.

    ``first`` None is a suffix range (the last ``last`` bytes), ``last``
    None runs to the end. Several ranges are refused with 400, anything
    unparsable with 416, as Glance answers.
    """
    if header is None:
        return None
    if "," in header:
        raise webob.exc.HTTPBadRequest(explanation=_(
            "Requests for multiple ranges are not supported; make one "
            "request per range instead."))
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
        try:
            request.get_content_type((OCTET_STREAM,))
        except exception.InvalidContentType as e:
            # webob's 415 page ignores the explanation unless told to.
            raise webob.exc.HTTPUnsupportedMediaType(
                explanation=str(e), body_template="${explanation}") from e
        return {"data": body_stream(request),
                "size": request.content_length}

    def stage(self, request):
        return self.upload(request)

    def download(self, request):
        if request.content_length or "chunked" in request.headers.get(
                "Transfer-Encoding", "").lower():
            raise webob.exc.HTTPBadRequest(explanation=_(
                "A download request cannot have a body."))
        return {"byte_range": parse_range(request.headers.get("Range"))}


class ResponseSerializer(wsgi.JSONResponseSerializer):
    """204 for uploads; the data stream for downloads."""

    def upload(self, response, result):
        response.status_int = 204
        response.headers.pop("Content-Type", None)

    def stage(self, response, result):
        self.upload(response, result)

    def download(self, response, result):
        if result.chunks is None:
            response.status_int = 204
            response.headers.pop("Content-Type", None)
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
    """The response body: ``chunks``, sent by ``sendfile`` past the first
    one when possible (see the module's docstring)."""
    sock = _plain_socket(request)
    if sock is None or not hasattr(chunks, "sendfile"):
        return chunks
    # eventlet.wsgi then writes each chunk as it comes: once the first
    # one is asked for again, the head and the first chunk are sent.
    request.environ["eventlet.minimum_write_chunk_size"] = 0
    return _sendfile_body(chunks, sock)


def _plain_socket(request):
    if request is None:
        return None
    server_input = request.environ.get("eventlet.input")
    get_socket = getattr(server_input, "get_socket", None)
    sock = get_socket() if get_socket is not None else None
    if sock is None or hasattr(sock, "getpeercert"):
        return None  # no socket, or TLS: the bytes must be encrypted
    return sock


def _sendfile_body(chunks, sock):
    with contextlib.closing(chunks):
        first = next(chunks, b"")
        if not first:
            return
        yield first
        if not _asked_by_server():
            yield from chunks
            return
        chunks.sendfile(lambda fd, offset, count:
                        utils.sendfile(sock, fd, offset, count))


def _asked_by_server():
    """Whether the caller of the generator calling this is the WSGI
    server's response loop itself (nothing wraps the body)."""
    caller = sys._getframe(2)
    return caller.f_globals.get("__name__") == "eventlet.wsgi"


def create_resource():
    """The image data resource."""
    return wsgi.Resource(ImageDataController(), RequestDeserializer(),
                         ResponseSerializer())
