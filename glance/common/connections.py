"""Connection-level pieces of glance-api's eventlet.wsgi server.

:mod:`glance.common.server` runs the processes; this module is what each
serving process hands to ``eventlet.wsgi.server`` for the connections:

* :class:`HttpProtocol` (one subclass per server, from
  :func:`make_protocol`): eventlet.wsgi's HTTP protocol with the TLS
  handshake in the connection's green thread and a drain that drops no
  request.
* :class:`ConnectionPool`: the request pool; it marks a connection busy
  the moment it is accepted, so a drain does not cut it.
* :class:`RequestBody`: the request body with ``readinto``, so uploads
  are received into the caller's reused buffer.
"""
import eventlet
import eventlet.greenio
import eventlet.wsgi
from oslo_log import log as logging

from glance.common.sockets import ssl_wrap_socket

__all__ = ["ConnectionPool", "HttpProtocol", "RequestBody", "make_protocol"]

LOG = logging.getLogger(__name__)


class HttpProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP protocol with TLS and a drain that drops no request.

    * With ``ssl_context`` set, the TLS handshake happens here, in the
      connection's green thread, so a slow client never blocks accept().
    * A new connection counts as busy until its first request is read:
      eventlet closes idle connections when the server stops accepting,
      which would cut one accepted a moment before. :meth:`close_if_silent`
      closes those still silent after a grace period.
    * Once the server is ``draining``, a connection closes after the
      request it is serving instead of waiting for another one.

    :func:`make_protocol` makes a subclass per server for the class state.
    """

    ssl_context = None
    draining = False
    fresh = frozenset()

    def setup(self):
        self.tls_failed = False
        self.conn_state[2] = "fresh"
        self.fresh.add(self)
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
        super().setup()

    def handle(self):
        if self.tls_failed:
            return
        self.close_connection = True
        while True:
            self.handle_one_request()
            self.fresh.discard(self)
            if (self.conn_state[2] == eventlet.wsgi.STATE_CLOSE
                    or self.draining):
                self.close_connection = 1
            else:
                self.conn_state[2] = eventlet.wsgi.STATE_IDLE
            if self.close_connection:
                break

    def finish(self):
        self.fresh.discard(self)
        if not self.tls_failed:
            super().finish()

    @classmethod
    def awaiting_first_request(cls):
        """The connections that have not sent a request line yet."""
        return [proto for proto in cls.fresh
                if proto.conn_state[2] == "fresh"]

    @classmethod
    def close_if_silent(cls, protocols):
        """Close those of ``protocols`` still without a request line.

        eventlet marks every connection closing when it stops accepting;
        reading a request line then marks it busy again.
        """
        for proto in protocols:
            if (proto in cls.fresh and
                    proto.conn_state[2] != eventlet.wsgi.STATE_REQUEST):
                eventlet.greenio.shutdown_safe(proto.conn_state[1])


class ConnectionPool(eventlet.GreenPool):
    """The request pool; marks a connection busy the moment it is accepted.

    eventlet.wsgi records an accepted connection as idle and spawns its
    handler; if the server stops accepting before that green thread ran,
    eventlet shuts the "idle" connection and the client's first request
    is lost. Marked here, at spawn time, it is left to the drain instead.
    """

    def spawn(self, function, *args, **kwargs):
        connection = args[0] if args else None
        if isinstance(connection, list) and len(connection) == 3 and \
                connection[2] == eventlet.wsgi.STATE_IDLE:
            connection[2] = "fresh"
        return super().spawn(function, *args, **kwargs)


class RequestBody(eventlet.wsgi.Input):
    """eventlet's request body, with ``readinto``: an upload is received
    straight into the caller's (reused) buffer instead of a new bytes
    object per read that is then copied. eventlet.wsgi makes its bodies
    from the module's ``Input``, which the server sets to this class."""

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        if self.chunked_input:
            data = self.read(len(view))
            view[:len(data)] = data
            return len(data)
        got = self._do_read(
            lambda n: view[:self.rfile.readinto(view[:n])], len(view))
        return len(got)


def make_protocol(ssl_context=None):
    """An :class:`HttpProtocol` subclass with its own state."""
    return type("HttpProtocol", (HttpProtocol,),
                {"ssl_context": ssl_context, "draining": False,
                 "fresh": set()})
