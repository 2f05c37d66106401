"""The common exchange, served without eventlet.wsgi's general path.

Most of what glance-api answers is a request without a body (showing an
image, a page of a list, a delete) whose answer has a known length.
For it, eventlet.wsgi's ``get_environ`` and ``handle_one_response`` cost
about a tenth of a worker's CPU: closures made per request, the header
list scanned several times, a write and a flush per chunk.
:class:`~glance.common.connections.HttpProtocol` uses this module for
that case:

* :func:`environ` builds the environ eventlet.wsgi would build, for any
  parsed head (the tests compare the two on the heads of
  ``tests/unit/test_request_head.py``);
* :func:`answer` calls the application and, when its answer is a list
  of chunks (a webob response, as metered by the worker), writes the
  head eventlet.wsgi would write and the body in one send. Any other
  answer (a streamed or file body, sendfile, ``write()``, an exception)
  is handed to eventlet.wsgi's ``handle_one_response`` as the
  application gave it, so it is served exactly as before.

eventlet.wsgi's websocket hook (``already_handled``) is not looked at:
glance-api serves no websocket. The tests send the same requests through
both paths and compare the bytes of the answers.
"""
import time
import traceback
import urllib.parse

import eventlet.wsgi

__all__ = ["answer", "environ"]

_SKIPPED = frozenset(("CONTENT_TYPE", "CONTENT_LENGTH"))


def _latin1_header_line(header):
    return ("%s: %s\r\n" % header).encode("latin-1")


# how eventlet.wsgi encodes a header line (its own function in recent
# releases; the same bytes for any latin-1 header)
_encode_header_line = getattr(eventlet.wsgi, "_encode_header_line",
                              _latin1_header_line)
_CONTINUE_LINE = b"HTTP/1.1 100 Continue\r\n"


def environ(proto, base):
    """eventlet.wsgi's environ for the request ``proto`` has parsed;
    ``base`` is its server's (``Server.get_environ``), copied.

    Sets ``proto.plain``: the request has no body, so :func:`answer`
    may serve it.
    """
    env = dict(base)
    headers = proto.headers
    env["REQUEST_METHOD"] = proto.command
    env["SCRIPT_NAME"] = ""
    path, mark, query = proto.path.partition("?")
    env["RAW_PATH_INFO"] = path
    env["PATH_INFO"] = urllib.parse.unquote(path, encoding="latin1")
    if mark:
        env["QUERY_STRING"] = query
    content_type = headers.get("content-type")
    env["CONTENT_TYPE"] = (headers.get_content_type()
                           if content_type is None else content_type)
    length = headers.get("content-length")
    if length:
        env["CONTENT_LENGTH"] = length
    env["SERVER_PROTOCOL"] = "HTTP/1.0"   # (sic) eventlet.wsgi's
    env["SERVER_NAME"], env["SERVER_PORT"] = proto.local_host_port
    env["REMOTE_ADDR"], env["REMOTE_PORT"] = proto.remote_host_port
    env["GATEWAY_INTERFACE"] = "CGI/1.1"
    env["headers_raw"] = raw = tuple(
        (name, value.strip(" \t\n\r")) for name, value in headers._headers)
    for name, value in raw:
        if "_" in name:
            continue   # eventlet.wsgi drops them: HTTP_X_A would be ambiguous
        key = name.replace("-", "_").upper()
        if key in _SKIPPED:
            continue
        key = "HTTP_" + key
        if key in env:
            env[key] += "," + value
        else:
            env[key] = value
    expects = env.get("HTTP_EXPECT", "").lower() == "100-continue"
    chunked = env.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    if not chunked and length is None:
        length = "0"
    body = eventlet.wsgi.Input(
        proto.rfile, length, proto.connection,
        wfile=proto.wfile if expects else None,
        wfile_line=_CONTINUE_LINE if expects else None,
        chunked_input=chunked)
    env["wsgi.input"] = env["eventlet.input"] = body
    env["eventlet.posthooks"] = []
    env["eventlet.set_idle"] = proto.set_idle
    proto.plain = length == "0" and not chunked and not expects
    return env


class _Start:
    """The application's ``start_response``: holds the status, the
    headers and what ``write()`` was given until the server writes them,
    or hands them on to eventlet.wsgi's (``forward``)."""

    __slots__ = ("status", "headers", "written", "forward", "forward_write")

    def __init__(self):
        self.status = self.headers = None
        self.written = []
        self.forward = self.forward_write = None

    def __call__(self, status, headers, exc_info=None):
        if self.forward is not None:
            return self.forward(status, headers, exc_info)
        # nothing is written yet: exc_info needs no re-raise (PEP 3333)
        self.status, self.headers = status, headers
        return self.write

    def write(self, data):
        """PEP 3333's ``write()``: held, then written by eventlet.wsgi."""
        if self.forward_write is not None:
            return self.forward_write(data)
        self.written.append(data)

    def replay(self, forward):
        """Give eventlet.wsgi's ``start_response`` what was held."""
        self.forward = forward
        if self.status is not None:
            self.forward_write = forward(self.status, self.headers)
            for data in self.written:
                self.forward_write(data)


def answer(proto):
    """Serve ``proto.environ`` with ``proto.application``: the number of
    body bytes sent when answered here (0 if the send failed), None when
    eventlet.wsgi served the answer."""
    start = _Start()
    try:
        result = proto.application(proto.environ, start)
    except (Exception, eventlet.Timeout) as e:  # eventlet.wsgi answers it
        _hand_on(proto, start, None, e)
        return None
    chunks = None
    if start.status is not None and not start.written:
        try:
            chunks = _chunks(result)
        except (Exception, eventlet.Timeout):
            # a list iterates again from its start: eventlet.wsgi serves
            # it (and its failure) as it would have
            chunks = None
    if chunks is None:
        _hand_on(proto, start, result)
        return None
    try:
        sent = _send(proto, start.status, start.headers, chunks)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    for hook, args, kwargs in proto.environ["eventlet.posthooks"]:
        hook(proto.environ, *args, **kwargs)
    return sent


def _chunks(result):
    """The answer's non-empty chunks, as bytes, if it is a list (or the
    worker's metered list); else None."""
    body = result if type(result) is list else getattr(result, "body", None)
    if type(body) is not list:
        return None
    return [chunk.encode("ascii") if isinstance(chunk, str) else chunk
            for chunk in result if len(chunk)]


def _hand_on(proto, start, result, error=None):
    """Let eventlet.wsgi serve ``result`` (or the application's
    ``error``) and the head ``start`` holds, as it serves any answer."""
    def replay(environ, start_response):
        start.replay(start_response)
        if error is not None:
            raise error
        return result

    application, proto.application = proto.application, replay
    try:
        eventlet.wsgi.HttpProtocol.handle_one_response(proto)
    finally:
        # the replay holds the answer, whose meter holds the protocol,
        # and the error's traceback holds both: cycles that would wait
        # for the garbage collector
        proto.application = application
        start.forward = start.forward_write = None
        if error is not None:
            error.__traceback__ = None   # its frames hold the protocol


def _send(proto, status, headers, chunks):
    """Write the head eventlet.wsgi would write for this answer, then
    ``chunks``, in one send; the body bytes sent."""
    code = int(status.split(" ", 1)[0])
    bodyless = code in (204, 304) or 100 <= code < 200 or \
        proto.command == "HEAD"
    if proto.capitalize_response_headers:
        headers = [("-".join([part.capitalize() for part in name.split(
            "-")]), value) for name, value in headers]
    length = sum(map(len, chunks))
    if not bodyless and "Content-Length" not in [
            name for name, _value in headers]:
        headers.append(("Content-Length", str(length)))
    try:
        proto.wfile.write(_head(proto, status, headers) + b"".join(chunks))
        proto.wfile.flush()
    except (Exception, eventlet.Timeout):
        # as eventlet.wsgi when a write fails (a header that is not
        # latin-1 included): logged, the connection ended
        proto.close_connection = 1
        proto.server.log.info(traceback.format_exc())
        return 0
    return length


def _head(proto, status, headers):
    names = [name.lower() for name, _value in headers]
    head = [("%s %s\r\n" % (proto.protocol_version, status)).encode()]
    head += [_encode_header_line(h) for h in headers]
    if "date" not in names:
        head.append(("Date: %s\r\n" % eventlet.wsgi.format_date_time(
            time.time())).encode())
    head.append(_connection(proto))
    head.append(b"\r\n")
    return b"".join(head)


def _connection(proto):
    """eventlet.wsgi's Connection header line (possibly none), deciding
    whether the connection ends after this answer
    (``proto.close_connection``). The answer always has a length (or no
    body), so no HTTP/1.0 client needs the connection's end to find it."""
    asked = proto.headers.get("Connection", "").lower()
    keep_alive = False
    if proto.close_connection == 0 and proto.server.keepalive and (
            asked == "keep-alive" or (proto.request_version == "HTTP/1.1"
                                      and asked != "close")):
        keep_alive = asked == "keep-alive"
    else:
        proto.close_connection = 1
    if proto.close_connection:
        return b"Connection: close\r\n"
    if not keep_alive:
        return b""
    line = b"Connection: keep-alive\r\n"
    timeout = proto.server.keepalive
    if not isinstance(timeout, bool) and int(timeout or 0):
        line += b"Keep-Alive: timeout=%d\r\n" % int(timeout)
    return line
