"""The serving side of glance-api: one process's connections.

:mod:`glance.common.arbiter` is the supervisor (gunicorn's arbiter); this
module is what runs in each worker process (gunicorn's ``workers/base``),
and in the single process of ``workers = 0``. A :class:`Worker`:

* accepts connections on the listening socket it shares with its
  siblings and serves each in a green thread with eventlet.wsgi's HTTP
  protocol (:class:`glance.common.connections.HttpProtocol`);
* leaves a new connection to a sibling with fewer open connections for
  a moment (accept throttling, :meth:`Worker.wait_for_turn`), so
  keep-alive clients spread over the workers whichever wins accept();
  in a burst of new connections it takes its share at once; and when
  it holds more than its share all the same, ends keep-alive
  connections after their response until it does not
  (:meth:`Worker.over_share`), their clients reconnecting to a sibling;
* beats its heartbeat in its scoreboard slot from a green thread once
  it serves (its boot, bounded by its own checks, is not watched): a
  blocked hub stops it and the supervisor's watchdog kills the worker;
* on SIGTERM, SIGINT or SIGHUP stops accepting and drains without
  dropping a request (see ``HttpProtocol``): every answer from then on
  carries ``Connection: close``, a connection waiting for its next
  request is closed only after :data:`IDLE_GRACE` seconds of silence,
  and the process exits once its connections, its asynchronous pools and
  its recorded claims (imports running here) are done, or after
  ``graceful_shutdown_timeout``.

:class:`AppLoader` builds the paste application in the worker, so that a
broken application is the worker's boot error and a reload loads the
paste file again.
"""
import errno
import logging as std_logging
import os
import signal
import sys
import time
import weakref

import eventlet
import eventlet.semaphore
import eventlet.wsgi
import greenlet
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import claims
from glance.common import config
from glance.common import file_body
from glance.common.connections import make_protocol
from glance.common.connections import METER_KEY
from glance.common.connections import MeteredBody
from glance.common.pipes import SignalQueue
from glance.common import scoreboard
from glance.common import sockets

__all__ = ["AppLoader", "IDLE_GRACE", "Worker", "attach_debugger",
           "conf_value", "describe_error", "exit_now",
           "get_asynchronous_eventlet_pool", "set_signal_handler",
           "wait_for_asynchronous_pools"]

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
_os = eventlet.patcher.original("os")

SERVE_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
IDLE_GRACE = 5.0          # a draining worker closes connections silent
_REAP_INTERVAL = 0.5      # for this long, checked this often
_BEAT_INTERVAL = 0.5      # the heartbeat
_TURN_WAIT = 0.005        # accept throttling: waits this long, at most
# the balance of the keep-alive connections is checked this often, not
# per response: reading the scoreboard's 256 slots took 16 us, 3% of a
# GET (and decisions on loads read earlier kept moving clients about)
_BALANCE_INTERVAL = 0.1
_TURN_STEPS = 10          # this many times, for a less loaded sibling
_CLAIMS_INTERVAL = 0.2
_ACCEPT_RETRY = {errno.ECONNABORTED, errno.EPROTO, errno.EINTR,
                 errno.EAGAIN, errno.ECONNRESET}
_ACCEPT_PAUSE = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

_ASYNC_POOLS = weakref.WeakSet()


def _fair_share(loads, waiting):
    """One serving worker's share (rounded up) of the connections open
    in all of them (``loads``) and ``waiting`` to be accepted."""
    return -(-(sum(loads) + waiting) // len(loads))


def get_asynchronous_eventlet_pool(size=1000):
    """A green pool that a stopping worker waits for before exiting."""
    pool = eventlet.GreenPool(size=size)
    _ASYNC_POOLS.add(pool)
    return pool


def wait_for_asynchronous_pools():
    """Wait for the work of every pool made by the function above."""
    for pool in list(_ASYNC_POOLS):
        pool.waitall()


def set_signal_handler(signals, handler):
    """Install ``handler`` for signals given by number or name."""
    if isinstance(signals, (int, str)):
        signals = [signals]
    for sig in signals:
        if isinstance(sig, str):
            sig = getattr(signal, sig, None)
            if sig is None:
                continue  # not on this platform
        signal.signal(sig, handler)


def exit_now(status):
    """Leave the process now, logs flushed, no cleanup of the parent's."""
    for handler in list(std_logging.getLogger().handlers):
        try:
            handler.flush()
        except Exception:  # noqa: BLE001,S110 - exiting anyway
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    _os._exit(status)


class Worker:
    """Serves ``app`` on the listening ``sock`` until drained.

    ``slot`` is the worker's :class:`~glance.common.scoreboard.Slot`
    (None: no heartbeat, no accept throttling). ``app`` may be replaced
    while serving (``workers = 0`` reloads in place).
    """

    def __init__(self, sock, app, ssl_context=None, threads=1000,
                 socket_timeout=None, keepalive=True, slot=None):
        self.sock = sock
        self.app = app
        self.threads = threads
        self.socket_timeout = socket_timeout
        self.keepalive = keepalive
        self.slot = slot
        self.protocol = make_protocol(ssl_context)
        if slot is not None:
            self.protocol.balancer = self
        # at most ``threads`` connections: taken before accept(), so
        # that the accept loop never holds a connection it cannot serve
        self.capacity = eventlet.semaphore.Semaphore(threads)
        self.pool = eventlet.GreenPool(size=threads + 1)
        self.open = 0            # connections open
        self._next_balance = 0.0  # when over_share checks the loads next
        self._owed = 0           # connections still to end after that
        self.draining = False
        self.http = None         # the eventlet.wsgi.Server
        self._acceptor = None
        self._signals = None

    # running

    def run(self, on_hup=None, parent=None):
        """Serve until drained (see :meth:`watch_signals` for ``on_hup``;
        ``parent``: a pid whose death makes this process drain)."""
        self._signals = SignalQueue()
        set_signal_handler(SERVE_SIGNALS, self._signals.record)
        eventlet.spawn_n(self.watch_signals, on_hup)
        if parent is not None:
            eventlet.spawn_n(self._watch_parent, parent)
        if self.slot is not None:
            eventlet.spawn_n(self._heartbeat)
        self.serve()
        wait_for_asynchronous_pools()
        self._wait_for_claims()

    def record_signal(self, signum):
        """Act on ``signum`` as if it had been received."""
        if self._signals is not None:
            self._signals.record(signum)

    def server_options(self):
        """Keyword arguments of eventlet.wsgi.Server."""
        options = dict(protocol=self.protocol, debug=False,
                       max_http_version=eventlet.wsgi.DEFAULT_MAX_HTTP_VERSION,
                       log=logging.getLogger("eventlet.wsgi.server"),
                       keepalive=self.keepalive,
                       socket_timeout=self.socket_timeout)
        if self.protocol.ssl_context is not None:
            options["environ"] = {"wsgi.url_scheme": "https",
                                  "HTTPS": "on"}
        return options

    def serve(self):
        """Accept and serve until :meth:`stop_accepting`, then wait for
        the connections to end."""
        self.http = eventlet.wsgi.Server(self.sock, self.sock.getsockname(),
                                         self.dispatch,
                                         **self.server_options())
        if self.slot is not None:
            self.slot.set_state(scoreboard.SERVING)
        LOG.info("Process %d accepts connections", os.getpid())
        if not self.draining:
            self._acceptor = eventlet.spawn(self._accept_loop)
            try:
                self._acceptor.wait()
            except greenlet.GreenletExit:
                pass  # stop_accepting() ended the accept loop
        self.pool.waitall()

    def _accept_loop(self):
        while True:
            self.capacity.acquire()
            try:
                self.wait_for_turn()
                client, addr = self.sock.accept()
            except OSError as e:
                self.capacity.release()
                if e.errno in _ACCEPT_RETRY:
                    continue
                if e.errno not in _ACCEPT_PAUSE:
                    raise
                LOG.error("Cannot accept connections: %s", e)
                eventlet.sleep(0.5)
                continue
            except BaseException:
                self.capacity.release()
                raise
            client.settimeout(self.socket_timeout)
            self._opened(1)
            self.pool.spawn_n(self._connection, [addr, client,
                                                 eventlet.wsgi.STATE_IDLE])

    def wait_for_turn(self):
        """Accept throttling: while this worker has more connections open
        than the least loaded serving sibling, leave the next connection
        to that one for a moment (at most 50 ms)."""
        if self.slot is None or self.open == 0:
            return
        for _i in range(_TURN_STEPS):
            loads = self.slot.board.serving_loads()
            if not loads or self.open <= min(loads):
                return
            # A burst of new clients: a busy sibling accepts once per pass
            # over its connections, and waiting for it would hold their
            # first requests back for hundreds of ms. Take them, up to
            # this worker's share of all open and waiting connections.
            waiting = sockets.accept_queue_length(self.sock)
            if waiting > 1 and self.open < _fair_share(loads, waiting):
                return
            eventlet.sleep(_TURN_WAIT)

    def over_share(self, ending):
        """Whether a keep-alive connection should end after its response
        so that its client reconnects to a less loaded sibling.

        Every _BALANCE_INTERVAL, on a response, the serving workers'
        loads are read: when this worker, not counting the ``ending``
        connections it is already ending so, holds two or more
        connections than the least loaded one and more than its share,
        this response and the next ones end its excess over its share.
        """
        if self.slot is None or self.draining:
            return False
        if self._owed > 0:
            self._owed -= 1
            return True
        now = time.monotonic()
        if now < self._next_balance:
            return False
        self._next_balance = now + _BALANCE_INTERVAL
        staying = self.open - ending
        loads = self.slot.board.serving_loads()
        if len(loads) < 2 or staying - min(loads) < 2:
            return False
        excess = staying - _fair_share(loads, 0)
        if excess <= 0:
            return False
        self._owed = excess - 1
        return True

    def _connection(self, conn):
        try:
            self.http.process_request(conn)
        except Exception:  # noqa: BLE001 - one connection, not the worker
            LOG.exception("Connection from %s failed", conn[0][0])
        finally:
            conn[1].close()
            self._opened(-1)
            self.capacity.release()

    def _opened(self, delta):
        self.open += delta
        if self.slot is not None:
            self.slot.set_connections(self.open)

    def dispatch(self, environ, start_response):
        """The WSGI application eventlet.wsgi runs: ours, with the file
        wrapper (sendfile) and the response meter of the access log."""
        environ["wsgi.file_wrapper"] = file_body.FileWrapper
        if self.slot is not None:
            self.slot.count_request()
        meter = environ.get(METER_KEY)
        if meter is not None:
            # each chunk is written before the next is asked for, so the
            # meter can count what was written
            environ["eventlet.minimum_write_chunk_size"] = 0
        response_headers = []

        def start(status, headers, exc_info=None):
            response_headers[:] = headers
            if meter is not None:
                meter.started(status)
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, start)
        except Exception:
            if meter is not None:
                meter.failed = True
            raise
        body = file_body.serve(result, environ, response_headers)
        if meter is None:
            return body
        region = result.body if body is not result else None
        return MeteredBody.wrap(body, meter, region)

    # signals and the drain

    def watch_signals(self, on_hup=None):
        """Green thread acting on the signals recorded by the handlers.

        With ``on_hup`` (workers = 0), SIGHUP calls it and a second
        SIGTERM/SIGINT exits at once. In a worker (no ``on_hup``) every
        signal drains and repeats are ignored: a signal to the whole
        process group (Ctrl-C, systemd) reaches a worker twice, directly
        and through the supervisor, which alone decides to kill.
        """
        while True:
            self._signals.green_wait()
            for signum in self._signals.pop_all():
                if signum == signal.SIGHUP and on_hup is not None:
                    on_hup()
                elif not self.draining:
                    self.stop_accepting()
                elif on_hup is not None:
                    LOG.warning("Signal %d while draining: exiting now",
                                signum)
                    exit_now(1)

    def stop_accepting(self):
        """Stop accepting and drain (see the module docstring); in-flight
        requests get graceful_shutdown_timeout."""
        if self.draining:
            return
        self.draining = True
        self.protocol.start_draining()
        if self.slot is not None:
            self.slot.set_state(scoreboard.DRAINING)
        timeout = CONF.graceful_shutdown_timeout
        LOG.info("Process %(pid)d stops accepting; waiting for %(n)d open "
                 "connection(s)", {"pid": os.getpid(), "n": self.open})
        if timeout:
            eventlet.spawn_after(timeout, self._drain_expired, timeout)
        eventlet.spawn_n(self._close_idle_connections)
        if self._acceptor is not None:
            self._acceptor.kill()
        # The listening socket lives on in the supervisor and the other
        # workers (a reload); when they close theirs too (a stop), new
        # connections are refused at once instead of waiting unserved.
        self.sock.close()

    def _close_idle_connections(self):
        while True:
            closed = self.protocol.close_idle(IDLE_GRACE)
            if closed:
                LOG.info("Process %(pid)d closed %(n)d connection(s) "
                         "silent for %(s)s s", {"pid": os.getpid(),
                                                "n": closed, "s": IDLE_GRACE})
            eventlet.sleep(_REAP_INTERVAL)

    def _drain_expired(self, timeout):
        LOG.warning("Process %(pid)d: %(n)d connection(s) still open after "
                    "graceful_shutdown_timeout (%(t)s s); exiting anyway",
                    {"pid": os.getpid(), "n": self.open, "t": timeout})
        exit_now(0)

    def _wait_for_claims(self):
        """Wait for the claims this process still holds (imports running
        in its task pool) to end."""
        registry = claims.active()
        if registry is None:
            return
        held = registry.claims_of(os.getpid())
        if held:
            LOG.info("Process %(pid)d waits for %(n)d running import(s) or "
                     "upload(s) to end", {"pid": os.getpid(),
                                          "n": len(held)})
        while registry.claims_of(os.getpid()):
            eventlet.sleep(_CLAIMS_INTERVAL)

    def _heartbeat(self):
        while True:
            self.slot.beat()
            eventlet.sleep(_BEAT_INTERVAL)

    def _watch_parent(self, parent):
        while os.getppid() == parent:
            eventlet.sleep(1.0)
        if not self.draining:
            LOG.warning("Worker %d: the supervisor is gone; stopping",
                        os.getpid())
            self.stop_accepting()


class AppLoader:
    """Builds the paste application in the process that will serve it.

    Given to :meth:`BaseServer.start`, it makes every worker load the app
    (after running ``checks``, callables such as a database ping), so a
    broken app or failed check is a worker boot error, and a reload picks
    up a changed paste file.
    """

    def __init__(self, app_name="glance-api", flavor=None, conf_file=None,
                 checks=()):
        self.app_name = app_name
        self.flavor = flavor
        self.conf_file = conf_file
        self.checks = tuple(checks)

    def load(self):
        for check in self.checks:
            check()
        return config.load_paste_app(self.app_name, self.flavor,
                                     self.conf_file)

    def __repr__(self):
        return "AppLoader(%r)" % self.app_name


def describe_error(error):
    """One line saying what ``error`` is: its message's first line (the
    rest is detail, such as SQLAlchemy's link to its documentation)."""
    lines = [line.strip() for line in str(error).splitlines()]
    message = next((line for line in lines if line), "")
    return message or type(error).__name__


def conf_value(name):
    """An option's value; None for a CLI option not registered."""
    try:
        return getattr(CONF, name)
    except cfg.NoSuchOptError:
        return None  # a CLI option the process did not register


def attach_debugger():
    """Attach the pydevd debugger named by pydev_worker_debug_host."""
    try:
        import pydevd
    except ImportError:
        LOG.warning("pydev_worker_debug_host is set but pydevd is not "
                    "installed")
        return
    pydevd.settrace(CONF.pydev_worker_debug_host,
                    port=CONF.pydev_worker_debug_port,
                    stdoutToServer=True, stderrToServer=True)
