"""The common request head, parsed without the email package.

eventlet's server parses a request head with ``http.server``, which joins
the header lines and hands them to the email package's feed parser: a
twentieth of the CPU of a GET of one image. A head of the common shape (a
request line ``METHOD /path HTTP/1.x`` with single spaces, header lines
that passed :func:`glance.common.connections.check_framing`) is parsed
here into the same ``http.client.HTTPMessage``; any other head is
replayed (:class:`Replay`) to ``http.server``'s parser, so its answers to
odd input (400, 431, 505, HTTP/0.9) stay the standard library's.
"""
import http.client
import re

VERSIONS = ("HTTP/1.1", "HTTP/1.0")
# characters the email package also ends a line at (str.splitlines)
_LINE_BREAKS = re.compile(rb"[\x0b\x0c\x1c-\x1e\x85]")
# headers the standard library acts on, or parses as a multi-part body
_ODD_NAMES = frozenset(("expect",))
_ODD_TYPES = ("multipart/", "message/")


def read_lines(rfile):
    """The header lines up to the empty line, read as ``http.client``
    reads them (the same sizes, stopping where it would stop)."""
    # its limits, read when used as it reads them: a library may change
    # them (python-swiftclient allows 256 headers)
    max_line = getattr(http.client, "_MAXLINE", 65536)
    max_headers = getattr(http.client, "_MAXHEADERS", 100)
    lines = []
    while True:
        line = rfile.readline(max_line + 1)
        lines.append(line)
        if len(line) > max_line or len(lines) > max_headers:
            return lines
        if line in (b"\r\n", b"\n", b""):
            return lines


class Head:
    """A parsed head: what ``http.server``'s ``parse_request`` sets."""

    __slots__ = ("requestline", "command", "path", "version", "headers")

    def __init__(self, requestline, command, path, version, headers):
        self.requestline = requestline
        self.command = command
        self.path = path
        self.version = version
        self.headers = headers


def parse_plain(raw_requestline, lines, message_class):
    """The :class:`Head` of a head of the common shape, else None.

    ``lines`` must have passed ``check_framing`` (CRLF line ends, token
    names, no folding, no NUL, the empty line last).
    """
    requestline = raw_requestline.decode("iso-8859-1").rstrip("\r\n")
    words = requestline.split()
    if len(words) != 3 or " ".join(words) != requestline:
        return None
    command, path, version = words
    if version not in VERSIONS or path.startswith("//"):
        return None
    block = b"".join(lines[:-1])
    if _LINE_BREAKS.search(block):
        return None
    text = block.decode("iso-8859-1")
    parts = [line.partition(":") for line in text.split("\r\n")[:-1]]
    lowered = text.lower()
    if ("expect" in lowered or "content-type" in lowered) and any(
            _odd(name.lower(), value) for name, _colon, value in parts):
        return None
    # the email package's compat32 policy: value as sent, less the
    # whitespace after the colon (and the line end)
    fields = [(name, value.lstrip(" \t")) for name, _colon, value in parts]
    headers = message_class()
    headers._headers = fields
    headers.set_payload("")
    return Head(requestline, command, path, version, headers)


def _odd(lower_name, value):
    """Whether the standard library acts on this field (see _ODD_NAMES
    and _ODD_TYPES)."""
    return lower_name in _ODD_NAMES or (
        lower_name == "content-type" and value.strip(" \t\r\n").lower()
        .startswith(_ODD_TYPES))


class Replay:
    """A reader handing out ``lines`` again, then reading ``fp``."""

    def __init__(self, lines, fp):
        self.fp = fp
        self._lines = list(reversed(lines))

    def readline(self, size=-1):
        if self._lines:
            return self._lines.pop()
        return self.fp.readline(size)
