"""Connection-level pieces of glance-api's eventlet.wsgi server.

:mod:`glance.common.server` runs the processes and
:mod:`glance.common.worker` accepts the connections; this module is what
each connection is served with (through ``eventlet.wsgi.Server``):

* :class:`HttpProtocol` (one subclass per server, from
  :func:`make_protocol`): eventlet.wsgi's HTTP protocol with the TLS
  handshake in the connection's green thread and a drain that drops no
  request.
* the environ, and the answer to a request without a body, made by
  :mod:`glance.common.plain_exchange` as eventlet.wsgi makes them, for
  less.
* :class:`RequestBody`: the request body with ``readinto``, so uploads
  are received into the caller's reused buffer.
* :class:`ResponseMeter`: the status and the body bytes actually sent,
  for the access log line the protocol writes after each response.
* :data:`http_date`: eventlet.wsgi's ``Date`` header, made once a second
  rather than per response (installed by
  :func:`glance.common.eventlet_setup.apply_wsgi_globals`).

Request framing is checked before a request reaches the application
(:func:`check_framing`, RFC 9112): a head whose message length two
parties could read differently is refused with 400 (501 for a transfer
coding other than chunked) and the connection is closed, so nothing
after it can be taken for a second request. Refused are: bare CR or LF
in the request line or a header line, obsolete line folding, a field
name that is not a token (whitespace before the colon), NUL in a value,
a Content-Length that is not digits, more than one Content-Length (even
with equal values: RFC 9112 section 6.3 lets a server refuse them, and
no real client sends two), Transfer-Encoding together with
Content-Length or in an HTTP/1.0 request, and a Transfer-Encoding whose
last coding is not chunked. The lines of a chunked body are checked as
they are read (:class:`ChunkLines`): a size line that is not hex digits
(and an extension) ending in CRLF, anything but CRLF after a chunk's
data, a trailer line with a bare CR or LF refuse the body (400) and
close the connection.

This module is the one place that relies on eventlet.wsgi's private
parts; :func:`check_internals` (run by the unit tests) names any an
eventlet upgrade removed.
"""
import http.server
import re
import socket
import time

import eventlet
import eventlet.greenio
import eventlet.patcher
import eventlet.wsgi
from oslo_log import log as logging

from glance.common import log_format
from glance.common import plain_exchange
from glance.common import request_head
from glance.common.sockets import ssl_wrap_socket

__all__ = ["BadFraming", "HttpProtocol", "METER_KEY",
           "MeteredBody", "RequestBody", "ResponseMeter", "check_framing",
           "make_protocol"]

LOG = logging.getLogger(__name__)
_select = eventlet.patcher.original("select")

METER_KEY = "glance.response_meter"   # the environ key of the meter
_LINGER_SECONDS = 2.0     # a refused client's unread bytes are drained
_LINGER_BYTES = 1 << 20   # for this long, up to this much, then closed
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DIGITS = re.compile(rb"[0-9]+")
# header lines ending in CRLF, each a token, a colon and a value without
# CR, LF or NUL, then the empty line (what check_framing's field by field
# rules accept, less the fields it looks into)
_PLAIN_FIELDS = re.compile(
    rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n\x00]*\r\n)*\r\n")


class PerSecond:
    """A text that depends only on a timestamp's whole second
    (``make(second)``), made once a second: the dates of every response's
    ``Date`` header and access line."""

    def __init__(self, make):
        self.make = make
        self._last = (None, "")   # (second, its text), swapped whole

    def __call__(self, timestamp):
        second = int(timestamp)
        cached, text = self._last
        if cached != second:
            text = self.make(second)
            self._last = (second, text)
        return text


def _access_date(second):
    """``http.server``'s ``log_date_time_string`` for ``second``."""
    year, month, day, hh, mm, ss = time.localtime(second)[:6]
    return "%02d/%3s/%04d %02d:%02d:%02d" % (
        day, http.server.BaseHTTPRequestHandler.monthname[month], year,
        hh, mm, ss)


_EVENTLET_HTTP_DATE = eventlet.wsgi.format_date_time
# eventlet.wsgi's Date header (format_date_time, called per response)
http_date = PerSecond(_EVENTLET_HTTP_DATE)
access_date = PerSecond(_access_date)


class HttpProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP protocol with TLS and a drain that drops no request.

    * With ``ssl_context`` set, the TLS handshake happens here, in the
      connection's green thread, so a slow client never blocks accept().
    * The drain (:meth:`start_draining`, when the server stops accepting)
      never cuts a connection a client may be sending a request on: a
      request read while draining is answered with ``Connection: close``
      (so is one whose response had not started); after a response that
      went out promising keep-alive the connection waits for the
      client's next request and answers it with ``Connection: close``;
      only a connection that has been waiting for a request for the
      drain's grace, with nothing received, is closed
      (:meth:`close_idle`).
    * A request head that fails :func:`check_framing` is answered 400
      (or 501) with the reason, and the connection closed.
    * The access log line (eventlet's format) is written here, with the
      body bytes actually sent as counted by a :class:`ResponseMeter`.
    * Keep-alive connections spread over the workers again when they
      piled onto one (a burst that arrived while a sibling was still
      closing its last clients' connections: all 16 of a benchmark's
      clients on one worker, half the throughput): a response of a
      worker its ``balancer`` finds over its share ends its connection
      (``Connection: close``), and the client's next connection goes to
      a less loaded sibling (accept throttling).

    :func:`make_protocol` makes a subclass per server for the class state
    (``connections``: the open ones; ``draining``).
    """

    ssl_context = None
    draining = False
    drain_started = None
    connections = frozenset()
    # the worker (``over_share(ending)``), None: no balancing; and the
    # connections it is ending so, not yet closed
    balancer = None
    shedding = 0
    shed = False     # this connection is one of them

    def setup(self):
        # eventlet's access line counts the head and misses what went by
        # sendfile: this protocol writes its own (log_access); the
        # server's log stays for eventlet's other messages.
        self.server.log_output = False
        self.tls_failed = False
        self.waiting_since = time.monotonic()   # for the first request
        self.connections.add(self)
        if self.ssl_context is not None:
            try:
                self.request = ssl_wrap_socket(self.request,
                                               self.ssl_context)
            except (OSError, ValueError) as e:
                LOG.info("TLS handshake with %s failed: %s",
                         self.client_address[0], e)
                self.tls_failed = True
                return
            self.conn_state[1] = self.request
        remember_local_address(self.request)
        super().setup()
        # what every request's environ has (plain_exchange.environ)
        self.base_environ = self.server.get_environ()
        self.local_host_port = _host_port(self.request.getsockname())
        self.remote_host_port = _host_port(self.client_address)
        self.plain = False

    def set_idle(self):
        """The environ's ``eventlet.set_idle`` (for websockets)."""
        self.conn_state[2] = eventlet.wsgi.STATE_IDLE

    def handle(self):
        if self.tls_failed:
            return
        self.close_connection = True
        while True:
            self.handle_one_request()
            if self.close_connection:
                break
            self.conn_state[2] = eventlet.wsgi.STATE_IDLE
            # A keep-alive client's next request is often in the socket
            # already: read at once, it would be served without a return
            # to the hub, and one connection could hold the worker while
            # the others' requests wait (p99 of hundreds of ms). Let the
            # hub poll the others first.
            eventlet.sleep(0)

    def _read_request_line(self):
        if self.waiting_since is None:
            self.waiting_since = time.monotonic()
        try:
            return super()._read_request_line()
        finally:
            self.waiting_since = None

    def response_starting(self):
        """The application is about to answer (the head is not out):
        while draining, or for the balance of the workers, the answer
        ends the connection."""
        if self.draining:
            self.close_connection = 1
        elif not self.close_connection and self.balancer is not None and \
                self.balancer.over_share(self.shedding):
            self.close_connection = 1
            self.shed = True
            type(self).shedding += 1

    def finish(self):
        self.connections.discard(self)
        if self.shed:
            self.shed = False
            type(self).shedding -= 1
        if not self.tls_failed:
            super().finish()

    # framing

    def parse_request(self):
        """The head parsed, then :func:`check_framing` on it as read.

        A head of the common shape is parsed by
        :func:`request_head.parse_plain`; any other is replayed to
        eventlet's (``http.server``'s) parser. The raw header lines are
        checked, because parsed headers no longer show folding, bare CRs
        or duplicates.
        """
        if b"\r" in self.raw_requestline.replace(b"\r\n", b""):
            # eventlet's own parser would refuse it without a status line
            self.requestline = self.raw_requestline.rstrip(b"\r\n").decode(
                "latin-1").replace("\r", "\\r")  # one line in the log
            self.refuse(BadFraming(_line_problem(self.raw_requestline,
                                                 "the request line")))
            return False
        lines = request_head.read_lines(self.rfile)
        head = self._plain_head(lines)
        if head is not None:
            self._take(head)
        elif not self._parse_replayed(lines):
            return False
        if self.draining:
            self.close_connection = True
        return True

    def _plain_head(self, lines):
        """The parsed head if it is of the common shape and well framed."""
        head = request_head.parse_plain(self.raw_requestline, lines,
                                        self.MessageClass)
        if head is None:
            return None
        try:
            check_framing(self.raw_requestline, lines, head.version)
        except BadFraming:
            return None   # refused below, after the standard parse
        return head

    def _take(self, head):
        """Set what ``http.server``'s ``parse_request`` sets."""
        self.requestline = head.requestline
        self.command, self.path = head.command, head.path
        self.request_version = head.version
        self.headers = head.headers
        keep_alive = self.protocol_version >= "HTTP/1.1"
        close = not (keep_alive and head.version == "HTTP/1.1")
        connection = head.headers.get("Connection", "").lower()
        if connection == "close":
            close = True
        elif connection == "keep-alive" and keep_alive:
            close = False
        self.close_connection = close

    def _parse_replayed(self, lines):
        """The standard parse of the head, then :func:`check_framing`."""
        replay = request_head.Replay(lines, self.rfile)
        self.rfile = replay
        try:
            if not super().parse_request():
                return False
        finally:
            self.rfile = replay.fp
        try:
            check_framing(self.raw_requestline, lines, self.request_version)
        except BadFraming as e:
            self.refuse(e)
            return False
        return True

    def refuse(self, problem):
        """Answer ``problem`` (a :class:`BadFraming`), then close."""
        body = (problem.reason + "\n").encode("utf-8")
        head = ("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=UTF-8"
                "\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % (problem.status, problem.phrase, len(body)))
        self.close_connection = True
        LOG.info("Refused a request from %(client)s: %(reason)s",
                 {"client": self.client_address[0],
                  "reason": problem.reason})
        try:
            self.wfile.write(head.encode("latin-1") + body)
            self.wfile.flush()
        except OSError:
            return
        self.log_access(problem.status, len(body), 0.0)
        self._linger()

    def _linger(self):
        """Let the client read the answer: stop sending, then discard
        what it still sends (a close with unread bytes resets the
        connection, and a reset can destroy the answer in transit)."""
        sock = self.connection
        deadline = time.monotonic() + _LINGER_SECONDS
        drained = 0
        try:
            sock.shutdown(socket.SHUT_WR)
            while drained < _LINGER_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                sock.settimeout(left)
                data = sock.recv(65536)
                if not data:
                    return
                drained += len(data)
        except (OSError, ValueError):
            return

    # the access log

    def get_environ(self):
        environ = plain_exchange.environ(self, self.base_environ)
        environ[METER_KEY] = ResponseMeter(self.response_starting)
        return environ

    def handle_one_response(self):
        """The answer (:mod:`glance.common.plain_exchange`'s for a request
        without a body, else eventlet's), then the access log line with
        the bytes sent; then the request's environ is emptied.

        The environ is in reference cycles (routes' ``URLGenerator`` holds
        it, for one), so without that each request's objects would wait
        for the garbage collector, whose collections pause every request
        of the worker: emptied, they go as soon as the response has."""
        started = time.time()
        meter = self.environ[METER_KEY]
        try:
            if not self.plain:
                super().handle_one_response()
            else:
                sent = plain_exchange.answer(self)
                if sent is not None:
                    meter.sent = sent
        finally:
            self.log_access(meter.status_code, meter.sent,
                            time.time() - started)
            self.environ.clear()

    def log_date_time_string(self):
        """``http.server``'s date of the access log, made once a second."""
        return access_date(time.time())

    def log_access(self, status, sent, seconds):
        """One access log line in eventlet's format; ``sent`` is the
        number of body bytes the client was sent."""
        if getattr(self, "headers", None) is None:  # refused unparsed
            client_ip, client_port = self.client_address[:2]
        else:
            client_ip, client_port = self.get_client_address()
        log_format.quick_info(self.server.log, self.server.log_format % {
            "client_ip": client_ip, "client_port": client_port,
            "date_time": self.log_date_time_string(),
            "request_line": self.requestline, "status_code": status,
            "body_length": sent, "wall_seconds": seconds})

    # the drain

    @classmethod
    def start_draining(cls):
        """The server stopped accepting: from now on every answer ends
        its connection."""
        if not cls.draining:
            cls.draining = True
            cls.drain_started = time.monotonic()

    @classmethod
    def close_idle(cls, grace):
        """While draining, close the connections that have waited for a
        request for ``grace`` seconds (counted from the drain's start at
        the earliest) and have received nothing: their clients were
        silent long enough that none is likely to be sending. The number
        closed."""
        if not cls.draining:
            return 0
        now = time.monotonic()
        closed = 0
        for proto in list(cls.connections):
            since = proto.waiting_since
            if since is None or now - max(since, cls.drain_started) < grace:
                continue
            if proto.has_input():
                continue   # a request is arriving: it will be answered
            eventlet.greenio.shutdown_safe(proto.conn_state[1])
            closed += 1
        return closed

    def has_input(self):
        """Whether the client sent bytes not read yet (or hung up)."""
        sock = self.conn_state[1]
        pending = getattr(sock, "pending", None)
        if pending is not None and pending():
            return True   # TLS: decrypted bytes buffered
        try:
            readable, _w, _x = _select.select([sock.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(readable)


class RequestBody(eventlet.wsgi.Input):
    """eventlet's request body, with ``readinto``: an upload is received
    straight into the caller's (reused) buffer instead of a new bytes
    object per read that is then copied; and with the lines of a chunked
    body checked (:class:`ChunkLines`). eventlet.wsgi makes its bodies
    from the module's ``Input``, which the server sets to this class."""

    _chunk_lines = None

    def _chunked_read(self, rfile, length=None, use_readline=False):
        # eventlet reads the chunks' data from self.rfile and their lines
        # (size, the CRLF after the data, trailers) from ``rfile``
        if self._chunk_lines is None:
            self._chunk_lines = ChunkLines(rfile)
        return super()._chunked_read(self._chunk_lines, length,
                                     use_readline)

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        if self.chunked_input:
            data = self.read(len(view))
            view[:len(data)] = data
            return len(data)
        got = self._do_read(
            lambda n: view[:self.rfile.readinto(view[:n])], len(view))
        return len(got)


class ChunkLines:
    """The lines of a chunked body, checked as RFC 9112 (section 7.1)
    writes them: eventlet's reader would take ``5\\n`` or `` +5`` for a
    size and skip whatever follows a chunk's data up to the next LF, so
    a body could end where a proxy in front of us reads on, and the rest
    be taken for another request (request smuggling). A line that is not
    as it must be raises eventlet's ChunkReadError: the body is refused
    (400) and the connection closed.
    """

    SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}(?:[ \t]*;[^\r\n]*)?\r\n")

    def __init__(self, rfile):
        self.rfile = rfile
        self.expect = "size"   # then "crlf" (after data) or "trailer"

    def readline(self, size=-1):
        line = self.rfile.readline(eventlet.wsgi.MAX_HEADER_LINE)
        if self.expect == "size":
            if not self.SIZE.fullmatch(line):
                raise eventlet.wsgi.ChunkReadError(
                    "invalid chunk size line %r" % line[:40])
            length = int(line.split(b";", 1)[0], 16)
            self.expect = "crlf" if length else "trailer"
        elif self.expect == "crlf":
            if line != b"\r\n":
                raise eventlet.wsgi.ChunkReadError(
                    "chunk data longer than its size (%r)" % line[:40])
            self.expect = "size"
        elif self.expect == "trailer":
            if not line.endswith(b"\r\n") or b"\r" in line[:-2] or \
                    b"\n" in line[:-2]:
                raise eventlet.wsgi.ChunkReadError(
                    "invalid trailer line %r" % line[:40])
            if line == b"\r\n":
                self.expect = "done"
        return line


class ResponseMeter:
    """The status and the body bytes one response actually sent.

    :class:`HttpProtocol` puts one in each request's environ
    (:data:`METER_KEY`) and logs it when the response is over; the
    server's WSGI entry point records the status the application gives
    (:meth:`started`) and hands the body through :class:`MeteredBody`.
    """

    def __init__(self, on_start=None):
        self.status = None
        self.sent = 0
        self.failed = False      # the application raised
        self.head_sent = False   # a non-empty chunk went: the head with it
        self.on_start = on_start

    def started(self, status):
        """The application called start_response with ``status`` (the
        head is not written yet)."""
        self.status = int(status.split(None, 1)[0])
        if self.on_start is not None:
            self.on_start()

    @property
    def status_code(self):
        """The status the client got: eventlet.wsgi answers 500 itself
        when the application fails before the head went out."""
        if self.status is None or (self.failed and not self.head_sent):
            return 500
        return self.status

    def count(self, chunks, region=None):
        """Yield ``chunks``, counting each once eventlet.wsgi asks for the
        next one: it has written it by then, provided its
        ``eventlet.minimum_write_chunk_size`` is 0. ``region`` is a
        ``FileRegion`` that may send bytes itself (sendfile); its
        ``sent`` then gives the total, less a chunk not yet written.
        """
        self.sent, self.failed, self.head_sent = 0, False, False
        pending = 0
        try:
            while True:
                self.sent += pending
                pending = 0
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except Exception:
                    self.failed = True
                    raise
                if chunk:
                    self.head_sent = True
                    pending = len(chunk)
                yield chunk
        finally:
            if region is not None:
                self.sent = region.sent - pending


class MeteredBody:
    """A response body counted into a :class:`ResponseMeter` as it goes.

    Each iteration starts the count again: eventlet.wsgi iterates a body
    with a length (a list) once to measure it, then once to send it.
    ``close`` closes the body, as eventlet.wsgi would have.
    """

    def __init__(self, body, meter, region=None):
        self.body = body
        self.meter = meter
        self.region = region
        self._chunks = None

    @classmethod
    def wrap(cls, body, meter, region=None):
        """``body`` metered, keeping its length if it has one."""
        kind = _SizedMeteredBody if hasattr(body, "__len__") else cls
        return kind(body, meter, region)

    def __iter__(self):
        if self._chunks is not None:
            self._chunks.close()
        self._chunks = self.meter.count(iter(self.body), self.region)
        return self._chunks

    def close(self):
        if self._chunks is not None:
            self._chunks.close()
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


class _SizedMeteredBody(MeteredBody):
    """A metered body whose length eventlet.wsgi may use."""

    def __len__(self):
        return len(self.body)


class BadFraming(ValueError):
    """A request head whose message length cannot be trusted."""

    PHRASES = {400: "Bad Request", 501: "Not Implemented"}

    def __init__(self, reason, status=400):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.phrase = self.PHRASES[status]


def check_framing(request_line, header_lines, version):
    """Raise :class:`BadFraming` unless the head is unambiguous.

    ``request_line`` and ``header_lines`` are the raw lines as read
    (the last header line is the empty line ending the head), see the
    module docstring for the rules.
    """
    _check_line_end(request_line, "the request line")
    if _plain_fields(header_lines):
        return
    end = header_lines[-1] if header_lines else b""
    if end != b"\r\n":
        raise BadFraming(_line_problem(end, "the end of the header section"))
    fields = [_field(line) for line in header_lines[:-1]]
    lengths = [v for name, v in fields if name == b"content-length"]
    codings = [v for name, v in fields if name == b"transfer-encoding"]
    if len(lengths) > 1:
        raise BadFraming("More than one Content-Length header.")
    if lengths and not _DIGITS.fullmatch(lengths[0]):
        raise BadFraming("Invalid Content-Length: %r."
                         % lengths[0].decode("latin-1"))
    if codings:
        _check_codings(codings, bool(lengths), version)


def _plain_fields(header_lines):
    """Whether the header section is well framed and has no field that
    sets the body's length: the common head, checked in one match (the
    field by field check took a tenth of the protocol's CPU)."""
    block = b"".join(header_lines)
    if not _PLAIN_FIELDS.fullmatch(block):
        return False
    lowered = block.lower()
    return b"content-length" not in lowered and \
        b"transfer-encoding" not in lowered


def _check_line_end(line, what):
    if not line.endswith(b"\r\n") or b"\r" in line[:-2] or \
            b"\n" in line[:-2]:
        raise BadFraming(_line_problem(line, what))


def _line_problem(line, what):
    if not line:
        return "The request ended inside its header section."
    if b"\r" in line.replace(b"\r\n", b""):
        return "Bare CR in %s." % what
    return "Bare LF in %s: lines must end with CRLF." % what


def _field(line):
    """(lower-case name, value without the surrounding whitespace)."""
    _check_line_end(line, "a header line")
    if line[:1] in (b" ", b"\t"):
        raise BadFraming("Obsolete line folding (a header line starting "
                         "with whitespace) is not accepted.")
    name, colon, value = line[:-2].partition(b":")
    if not colon or not _TOKEN.fullmatch(name):
        raise BadFraming("Invalid header field name: %r."
                         % name[:64].decode("latin-1"))
    if b"\0" in value:
        raise BadFraming("NUL in the value of header %s."
                         % name.decode("latin-1"))
    return name.lower(), value.strip(b" \t")


def _check_codings(values, has_length, version):
    if has_length:
        raise BadFraming("Transfer-Encoding and Content-Length are not "
                         "allowed together.")
    if version == "HTTP/1.0":
        raise BadFraming("Transfer-Encoding is not allowed in an HTTP/1.0 "
                         "request.")
    codings = [c.strip(b" \t").lower() for c in b",".join(values).split(
        b",")]
    if codings[-1] != b"chunked":
        raise BadFraming("Transfer-Encoding must end with chunked, not %r."
                         % b", ".join(codings).decode("latin-1"))
    if len(codings) > 1:
        raise BadFraming("Transfer-Encoding other than chunked is not "
                         "supported: %r." % b", ".join(codings).decode(
                             "latin-1"), status=501)


def make_protocol(ssl_context=None):
    """An :class:`HttpProtocol` subclass with its own state."""
    return type("HttpProtocol", (HttpProtocol,),
                {"ssl_context": ssl_context, "draining": False,
                 "drain_started": None, "connections": set(),
                 "balancer": None, "shedding": 0})


def _host_port(address):
    """eventlet.wsgi's (host, port) of an environ, the port as text."""
    host, port = eventlet.wsgi.addr_to_host_port(address)
    return host, str(port)


def remember_local_address(sock):
    """Have ``sock`` answer ``getsockname`` from memory: eventlet asks it
    for every request's environ (a system call, through the green
    socket's attribute lookup: 2% of a GET), and a connection's own
    address does not change. A socket whose class takes no attribute
    (slots) is left to ask."""
    try:
        address = sock.getsockname()
        sock.getsockname = lambda: address
    except (OSError, AttributeError):
        pass


def check_internals():
    """RuntimeError naming each private part of eventlet.wsgi this module
    relies on that is gone."""
    wanted = [
        (eventlet.wsgi.HttpProtocol, "_read_request_line"),
        (eventlet.wsgi.HttpProtocol, "handle_one_request"),
        (eventlet.wsgi.HttpProtocol, "handle_one_response"),
        (eventlet.wsgi.Input, "_do_read"),
        (eventlet.wsgi.Input, "_chunked_read"),
        (eventlet.wsgi, "ChunkReadError"),
        (eventlet.wsgi, "STATE_IDLE"),
        (eventlet.wsgi, "MAX_HEADER_LINE"),
        (eventlet.wsgi, "Input"),
        (eventlet.wsgi, "format_date_time"),
        (eventlet.wsgi, "addr_to_host_port"),
        (eventlet.wsgi.Server, "get_environ"),
        (eventlet.greenio, "shutdown_safe"),
    ]
    missing = ["%s.%s" % (getattr(owner, "__name__", owner), name)
               for owner, name in wanted if not hasattr(owner, name)]
    if missing:
        raise RuntimeError("eventlet.wsgi changed: %s" % ", ".join(missing))
