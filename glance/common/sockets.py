"""Listening sockets and TLS for glance-api.

``get_socket`` binds ``bind_host``:``bind_port`` (IPv4 or IPv6) with the
backlog and keepalive options; ``ssl_wrap_socket`` turns it into HTTPS
when ``cert_file``/``key_file`` (and ``ca_file`` for client certificates)
are set.
"""
import errno
import os
import socket
import struct
import time

import eventlet.patcher
from eventlet.green import socket as green_socket
from eventlet.green import ssl as green_ssl
from oslo_config import cfg

from glance.common import server_opts
from glance.i18n import _

CONF = cfg.CONF
_time = eventlet.patcher.original("time")
_BIND_RETRY_SECONDS = 5

# the options are read without eventlet (glance.opts, the WSGI app)
bind_opts = server_opts.bind_opts
socket_opts = server_opts.socket_opts


def get_bind_addr(default_port=None):
    """(host, port) to listen on: bind_host and bind_port or default_port."""
    port = CONF.bind_port if CONF.bind_port is not None else default_port
    return CONF.bind_host, port


def get_socket(default_port):
    """A listening TCP socket on :func:`get_bind_addr` (IPv4 or IPv6).

    SO_REUSEADDR is on; SO_REUSEPORT is not, so a second server on the same
    port fails instead of silently sharing it. An address still in use is
    retried for a few seconds (a previous server shutting down).
    """
    host, port = get_bind_addr(default_port)
    try:
        family, _t, _p, _c, addr = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
            socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        raise RuntimeError(_("Cannot resolve bind_host %(host)s: %(err)s")
                           % {"host": host, "err": e}) from e
    deadline = time.monotonic() + _BIND_RETRY_SECONDS
    while True:
        sock = green_socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            break
        except OSError as e:
            sock.close()
            if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise RuntimeError(
                    _("Could not bind to %(host)s:%(port)s: %(err)s")
                    % {"host": host, "port": port, "err": e}) from e
            _time.sleep(0.1)
    tune_socket(sock)
    return sock


def tune_socket(sock):
    """Apply backlog, TCP keepalive and no-delay settings to a listening
    socket (its connections inherit them)."""
    sock.listen(CONF.backlog)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    # A response goes out in two writes when its body is larger than the
    # write buffer (the head, then the body): with Nagle's algorithm the
    # body waits for the client's delayed ACK of the head, 40 ms a time.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE,
                        CONF.tcp_keepidle)


# struct tcp_info (linux/tcp.h): on a listening socket, tcpi_unacked (a
# u32 after eight u8 fields and four u32 ones) is its accept queue length
_TCP_INFO_UNACKED = 24


def accept_queue_length(sock):
    """How many connections wait to be accepted on the listening
    ``sock`` (Linux); 0 where the system does not say."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
    except (OSError, AttributeError):
        return 0
    if not isinstance(info, bytes) or len(info) < _TCP_INFO_UNACKED + 4:
        return 0
    return struct.unpack_from("I", info, _TCP_INFO_UNACKED)[0]


def format_addr(sockaddr):
    """'host:port', with brackets around an IPv6 host."""
    host, port = sockaddr[:2]
    return "[%s]:%s" % (host, port) if ":" in host else "%s:%s" % (host,
                                                                    port)


def is_ssl_enabled():
    """Whether HTTPS is configured; RuntimeError when half configured."""
    cert, key = CONF.cert_file, CONF.key_file
    if cert and not os.path.exists(cert):
        raise RuntimeError(_("Unable to find cert_file %s") % cert)
    if key and not os.path.exists(key):
        raise RuntimeError(_("Unable to find key_file %s") % key)
    if CONF.ca_file and not os.path.exists(CONF.ca_file):
        raise RuntimeError(_("Unable to find ca_file %s") % CONF.ca_file)
    if bool(cert) != bool(key) or (CONF.ca_file and not cert):
        raise RuntimeError(_("HTTPS needs both cert_file and key_file "
                             "(ca_file only adds client certificates)."))
    return bool(cert)


def make_ssl_context():
    """The server's TLS context from cert_file, key_file and ca_file."""
    ctx = green_ssl.SSLContext(green_ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(CONF.cert_file, CONF.key_file)
        if CONF.ca_file:
            ctx.load_verify_locations(cafile=CONF.ca_file)
            ctx.verify_mode = green_ssl.CERT_REQUIRED
    except (OSError, ValueError) as e:
        raise RuntimeError(_("Cannot use the TLS certificate or key: %s")
                           % e) from e
    return ctx


def ssl_wrap_socket(sock, context=None):
    """``sock`` as a server-side TLS socket (the handshake happens here)."""
    context = context or make_ssl_context()
    return context.wrap_socket(sock, server_side=True)
