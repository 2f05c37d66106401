"""PyMySQL's TLS context for the connections given no TLS options, made once.

Given no TLS options, PyMySQL prefers TLS: it asks for it when the server
offers it and goes on without it otherwise. For that it builds a new
``ssl.SSLContext`` for every connection, whether the server offers TLS or
not, and loading the system's CA certificates into it took 18 ms of CPU
here, where the rest of opening a connection took 0.2 ms. A worker
that opens connections for a burst of requests (more than
``max_pool_size`` at once, after a minute without) held up every
request it served while it did: GET of one image, one worker, the first
6 s of 32 ``wrk`` clients, p99 434-440 ms (29-39 ms in the next 6 s,
the connections open); with one context, 31-36 ms.

That context is the same for every such connection (no CA, so no
verification: PyMySQL's own choice for this mode), so :class:`Connection`
builds it once per process, with PyMySQL's own code, and shares it; an
``SSLContext`` may wrap any number of sockets. A connection given TLS
options builds its own as before.
"""
from pymysql import connections

_NO_OPTIONS = "no TLS options"
_shared = {}


class Connection(connections.Connection):
    """PyMySQL's connection, sharing the context of the preferred mode."""

    def _create_ssl_ctx(self, sslp):
        if sslp != {}:      # TLS options (or a context) of its own
            return super()._create_ssl_ctx(sslp)
        context = _shared.get(_NO_OPTIONS)
        if context is None:
            # two green threads may both build one: either will do
            context = _shared.setdefault(_NO_OPTIONS,
                                         super()._create_ssl_ctx(sslp))
        return context


def connect(dialect, connection_record, cargs, cparams):
    """SQLAlchemy's ``do_connect`` event: a :class:`Connection`."""
    return Connection(*cargs, **cparams)


def missing_internals():
    """The private parts of PyMySQL this module needs that are gone
    (then every connection builds its own context, as PyMySQL does)."""
    if hasattr(connections.Connection, "_create_ssl_ctx"):
        return []
    return ["Connection._create_ssl_ctx"]
