"""The request body as the client sent it, whichever server hosts the app.

Servers hand a chunked body (``Transfer-Encoding: chunked``, how the
``glance`` CLI, openstacksdk and glance-direct staging send files) to the
application in different ways:

* glance-api's own eventlet server and gunicorn dechunk ``wsgi.input``
  themselves (gunicorn says so with ``wsgi.input_terminated``; eventlet's
  body object has ``chunked_input``);
* uwsgi leaves ``wsgi.input`` empty and offers ``uwsgi.chunked_read()``;
* a server that does neither (wsgiref, for one) would give the raw chunk
  framing or nothing at all.

:func:`body_stream` returns a stream of the body's bytes in every case it
can read, and refuses the request with 411 otherwise: an upload read as
empty would make an image ``active`` with no data.
"""
import webob.exc

from glance.i18n import _


def is_chunked(environ):
    """Whether the request body is sent with chunked transfer coding."""
    coding = environ.get("HTTP_TRANSFER_ENCODING", "")
    return "chunked" in coding.lower()


def body_stream(environ):
    """A file-like object over the request body's bytes (dechunked)."""
    stream = environ["wsgi.input"]
    if not is_chunked(environ):
        return stream
    if "uwsgi.version" in environ:
        return UwsgiChunkedInput(_uwsgi_module())
    if environ.get("wsgi.input_terminated") or \
            getattr(stream, "chunked_input", False):
        return stream
    raise webob.exc.HTTPLengthRequired(explanation=_(
        "This server cannot read a chunked request body; send the body "
        "with a Content-Length header."))


def _uwsgi_module():
    # only importable inside a uwsgi process
    import uwsgi
    return uwsgi


class UwsgiChunkedInput:
    """A chunked body read with ``uwsgi.chunked_read()``.

    uwsgi hands over one HTTP chunk per call, whatever its size, so the
    part of a chunk a read did not take is kept for the next one. A
    malformed body, a client that stops sending, or a timeout raise
    OSError, as a cut-off body does under the other servers.
    """

    def __init__(self, uwsgi):
        self._uwsgi = uwsgi
        self._pending = memoryview(b"")
        self._done = False

    def _next_chunk(self):
        if not self._pending and not self._done:
            chunk = self._uwsgi.chunked_read()
            if chunk:
                self._pending = memoryview(chunk)
            else:
                self._done = True
        return self._pending

    def readinto(self, buffer):
        """Up to ``len(buffer)`` bytes into ``buffer``; 0 at the end."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            pending = self._next_chunk()
            if not pending:
                break
            count = min(len(pending), len(view) - filled)
            view[filled:filled + count] = pending[:count]
            self._pending = pending[count:]
            filled += count
        return filled

    def read(self, size=-1):
        """Up to ``size`` bytes (all that is left when negative)."""
        if size is None or size < 0:
            parts = []
            while self._next_chunk():
                parts.append(bytes(self._pending))
                self._pending = memoryview(b"")
            return b"".join(parts)
        buffer = bytearray(size)
        return bytes(buffer[:self.readinto(buffer)])
