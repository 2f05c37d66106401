"""The glance-api server: a pre-forking supervisor over eventlet.wsgi workers.

The process model is gunicorn's arbiter, written for Glance:

* The parent binds one listening socket, forks ``workers`` children and then
  only supervises. Its signal handlers just record the signal and write a
  byte to a self-pipe; the main loop (:meth:`PosixServer.run_forever`) wakes
  up and dispatches to ``handle_hup``, ``handle_term`` or ``handle_chld``.
* Each child loads the paste application and serves the shared socket with
  ``eventlet.wsgi`` on a green pool. SIGTERM, SIGINT or SIGHUP make a child
  stop accepting, finish its in-flight requests (for at most
  ``graceful_shutdown_timeout`` seconds) and exit 0.
* SIGHUP to the parent re-reads the config files, forks a new generation of
  children with the new configuration and tells the old generation to
  drain. The listening socket stays open throughout, so no connection is
  refused during a reload.
* A dead child is reaped with ``waitpid(WNOHANG)`` and replaced. A child
  that cannot boot (its application, or a check it runs, fails) writes
  why on a pipe (:class:`BootErrors`) and exits with
  :data:`WORKER_BOOT_ERROR`; the parent logs that reason, stops every
  child and exits with that status (``boot_error`` says why) instead of
  respawning forever. This holds for the new generation of a reload too:
  fix the configuration and start again.
* SIGTERM or SIGINT to the parent drains every child and exits 0; a second
  one kills the children at once.
* ``workers = 0`` serves in the parent itself (:class:`BaseServer`): SIGHUP
  then reloads the configuration and the application in place.

The connection-level pieces the children hand to ``eventlet.wsgi`` (the
HTTP protocol, the request pool, the request body) are in
:mod:`glance.common.connections`.
"""
import logging as std_logging
import os
import signal
import sys
import time
import weakref

import eventlet
import eventlet.hubs
import eventlet.wsgi
import greenlet
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import config
from glance.common import file_body
from glance.common.connections import ConnectionPool
from glance.common.connections import HttpProtocol  # noqa: F401
from glance.common.connections import make_protocol
from glance.common.connections import METER_KEY
from glance.common.connections import MeteredBody
from glance.common.connections import RequestBody
from glance.common.pipes import BootErrors
from glance.common.pipes import SignalQueue
from glance.common.sockets import format_addr  # noqa: F401
from glance.common.sockets import get_bind_addr  # noqa: F401
from glance.common.sockets import get_socket
from glance.common.sockets import is_ssl_enabled
from glance.common.sockets import make_ssl_context
from glance.common.sockets import ssl_wrap_socket  # noqa: F401
from glance.common.sockets import tune_socket
from glance.common.store_setup import initialize_glance_store  # noqa: F401
from glance.common.store_setup import initialize_multi_store  # noqa: F401
from glance.common.store_setup import initialize_stores
from glance.i18n import _

__all__ = [
    "AppLoader", "BaseServer", "BootErrors", "PosixServer", "Server",
    "SignalQueue", "WORKER_BOOT_ERROR", "describe_error",
    "get_asynchronous_eventlet_pool", "get_bind_addr", "get_num_workers",
    "get_socket", "initialize_glance_store", "initialize_multi_store",
    "initialize_stores", "register_cli_opts", "set_eventlet_hub",
    "ssl_wrap_socket",
]

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# The parent waits with the real select (glance.common.pipes), sleep and
# waitpid: it never runs the eventlet hub, so its children start from a
# clean one.
_os = eventlet.patcher.original("os")

WORKER_BOOT_ERROR = 3
DEFAULT_WORKER_CAP = 8

_FRESH_CONNECTION_GRACE = 5.0   # a drain waits this long for first requests
_KILL_MARGIN = 5.0              # past graceful_shutdown_timeout, SIGKILL
_MIN_WORKER_LIFETIME = 1.0      # a worker dying sooner slows the respawns
_SERVE_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
_SUPERVISOR_SIGNALS = _SERVE_SIGNALS + (signal.SIGCHLD,)

eventlet_opts = [
    cfg.IntOpt("workers", min=0, sample_default=2,
               help=_("Worker processes; 0 serves in the parent process. "
                      "Default: the number of CPUs, at most %d.")
               % DEFAULT_WORKER_CAP),
    cfg.IntOpt("max_header_line", default=16384, min=1,
               help=_("Longest HTTP header line accepted, in bytes; a "
                      "longer one is answered 400.")),
    cfg.BoolOpt("http_keepalive", default=True,
                help=_("Keep client connections open between requests.")),
    cfg.IntOpt("client_socket_timeout", default=900, min=0,
               help=_("Seconds a client connection may be idle; 0 waits "
                      "forever.")),
    cfg.IntOpt("graceful_shutdown_timeout", default=60, min=0,
               help=_("Seconds a stopping worker lets its in-flight "
                      "requests run before it exits anyway; 0 waits "
                      "for them forever.")),
]

wsgi_opts = [
    cfg.IntOpt("task_pool_threads", default=16, min=1,
               help=_("Threads (green threads in glance-api) each worker "
                      "runs asynchronous tasks with.")),
    cfg.StrOpt("python_interpreter", default=sys.executable,
               sample_default="sys.executable",
               help=_("Python interpreter of the external processes the "
                      "service starts.")),
]

cli_opts = [
    cfg.StrOpt("pydev-worker-debug-host", metavar="HOST",
               help=_("Host of a pydevd debugger each worker attaches "
                      "to.")),
    cfg.PortOpt("pydev-worker-debug-port", default=5678,
                help=_("Port of that debugger.")),
]

CONF.register_opts(eventlet_opts)
CONF.register_opts(wsgi_opts, group="wsgi")


def list_opts():
    """The options of this module, for glance.opts."""
    return [(None, eventlet_opts + cli_opts), ("wsgi", wsgi_opts)]


def register_cli_opts():
    """The daemon's command-line options; call before parsing."""
    CONF.register_cli_opts(cli_opts)


# --- process-wide set-up ---------------------------------------------------

_HUB = None
_ASYNC_POOLS = weakref.WeakSet()


def get_num_workers():
    """``workers``, or the number of usable CPUs capped at 8."""
    if CONF.workers is not None:
        return CONF.workers
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return min(cpus, DEFAULT_WORKER_CAP)


def get_asynchronous_eventlet_pool(size=1000):
    """A green pool that a stopping worker waits for before exiting."""
    pool = eventlet.GreenPool(size=size)
    _ASYNC_POOLS.add(pool)
    return pool


def wait_for_asynchronous_pools():
    """Wait for the work of every pool made by the function above."""
    for pool in list(_ASYNC_POOLS):
        pool.waitall()


def set_eventlet_hub():
    """Use eventlet's poll hub (selects where there is no poll).

    Unlike epoll, poll keeps no kernel object that a forked worker would
    share with its parent and its siblings.
    """
    global _HUB
    for name in ("poll", "selects"):
        try:
            eventlet.hubs.use_hub(name)
        except Exception:  # noqa: BLE001 - try the next one
            continue
        _HUB = name
        return
    raise RuntimeError(_("Neither the 'poll' nor the 'selects' eventlet "
                         "hub is available on this platform."))


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


# --- the serving process ---------------------------------------------------

class BaseServer:
    """Serves the WSGI application with eventlet.wsgi in this process.

    ``start(application, default_port)`` configures and binds,
    ``wait()`` serves until SIGTERM/SIGINT and returns the exit status.
    This is the ``workers = 0`` server; its serving half (``run_server``,
    the drain, the signal watcher) is also what each
    :class:`PosixServer` worker runs.
    """

    def __init__(self, threads=1000, initialize_glance_store=False,
                 initialize_prefetcher=False):
        self.threads = threads
        self.initialize_glance_store = initialize_glance_store
        self.initialize_prefetcher = initialize_prefetcher
        self.application = None   # a WSGI app or an AppLoader
        self.app = None           # the WSGI app this process serves
        self.default_port = None
        self.sock = None
        self.ssl_context = None
        self.client_socket_timeout = None
        self.workers = 0
        self.pool = None
        self.protocol = None
        self.draining = False
        self.rebind_allowed = True
        self._signals = None
        self._server_thread = None

    # start-up and configuration

    def start(self, application, default_port):
        """Configure, bind, and start the workers (if any)."""
        self.application = application
        self.default_port = default_port
        self.configure()
        self.workers = self.num_workers()
        self.log_startup()
        if self.workers == 0:
            self.boot()
        else:
            self.start_workers()

    def num_workers(self):
        return 0

    def start_workers(self):
        raise NotImplementedError(_("%s serves in one process")
                                  % type(self).__name__)

    def configure(self, old_conf=None, has_changed=None):
        """Apply the configuration: limits, TLS, the socket, the stores."""
        ssl_context = make_ssl_context() if is_ssl_enabled() else None
        self.configure_socket(old_conf, has_changed)
        if self.initialize_glance_store:
            initialize_stores()
        self.ssl_context = ssl_context
        self.client_socket_timeout = CONF.client_socket_timeout or None
        eventlet.wsgi.MAX_HEADER_LINE = CONF.max_header_line
        eventlet.wsgi.Input = RequestBody

    def configure_socket(self, old_conf=None, has_changed=None):
        """Bind once; on a reload, rebind only if the address changed."""
        if self.sock is not None:
            moved = has_changed is not None and (
                has_changed("bind_host") or has_changed("bind_port"))
            if not moved:
                tune_socket(self.sock)
                return
            if not self.rebind_allowed:
                LOG.warning("bind_host/bind_port changes need a restart "
                            "when workers = 0; still listening on %s",
                            format_addr(self.sock.getsockname()))
                return
        sock = get_socket(self.default_port)
        old, self.sock = self.sock, sock
        if old is not None:
            LOG.info("Now listening on %s; %s is closed once its requests "
                     "are done", format_addr(sock.getsockname()),
                     format_addr(old.getsockname()))
            old.close()

    @staticmethod
    def conf_snapshot():
        """The values ``has_changed`` compares after a reload."""
        names = ("bind_host", "bind_port", "backlog", "tcp_keepidle",
                 "cert_file", "key_file", "ca_file", "workers")
        return {name: getattr(CONF, name) for name in names}

    def log_startup(self):
        scheme = "https" if self.ssl_context else "http"
        LOG.info("glance-api (pid %(pid)d) listening on %(scheme)s://"
                 "%(addr)s with %(n)s worker process(es)",
                 {"pid": os.getpid(), "scheme": scheme,
                  "addr": format_addr(self.sock.getsockname()),
                  "n": self.workers or "no"})

    def load_application(self):
        app = self.application
        return app.load() if isinstance(app, AppLoader) else app

    def boot(self):
        """What a serving process does before it accepts connections."""
        if _conf_value("pydev_worker_debug_host"):
            _attach_debugger()
        self.app = self.load_application()
        if self.initialize_prefetcher:
            self.cache_images()

    def cache_images(self):
        """Start the in-daemon periodic image prefetcher."""
        from glance.services import cache
        cache.start_periodic_prefetcher()

    # reloading

    def hup(self, *args):
        """Ask for a reload; usable as a signal handler."""
        if self._signals is not None:
            self._signals.record(signal.SIGHUP)
        else:
            self.reload()

    def reload(self):
        """Re-read the config files and apply them; False if unusable."""
        old_conf = self.conf_snapshot()
        if not CONF.reload_config_files():
            LOG.error("Could not re-read the configuration files; keeping "
                      "the current configuration")
            return False
        _setup_logging()  # new levels; reopens the log file

        def has_changed(name):
            return old_conf[name] != getattr(CONF, name)

        try:
            self.configure(old_conf, has_changed)
        except Exception:
            LOG.exception("The reloaded configuration cannot be applied")
            return False
        return True

    def reload_in_place(self):
        """SIGHUP with workers = 0: new configuration, then new app."""
        if not self.reload():
            return
        try:
            app = self.load_application()
        except Exception:
            LOG.exception("Reload: the application failed to load; still "
                          "serving the previous one")
            return
        self.app = app
        self.protocol.ssl_context = self.ssl_context
        LOG.info("Reloaded the configuration and the application")

    # serving

    def wait(self):
        """Serve in this process until SIGTERM/SIGINT; the exit status."""
        self._signals = SignalQueue()
        self.set_signal_handler(_SERVE_SIGNALS, self._signals.record)
        self.rebind_allowed = False
        eventlet.spawn_n(self.watch_signals, self.reload_in_place)
        self.run_server()
        LOG.info("glance-api (pid %d) stopped", os.getpid())
        return 0

    def create_pool(self):
        """The green pool requests run in."""
        return ConnectionPool(size=self.threads)

    def run_server(self):
        """Serve until :meth:`stop_accepting` and the drain are done."""
        self.pool = self.create_pool()
        self.protocol = make_protocol(self.ssl_context)
        self._server_thread = eventlet.spawn(
            eventlet.wsgi.server, self.sock, self._dispatch,
            **self.wsgi_options())
        try:
            self._server_thread.wait()
        except greenlet.GreenletExit:
            pass  # stop_accepting() ended the accept loop
        wait_for_asynchronous_pools()

    def wsgi_options(self):
        """Keyword arguments of eventlet.wsgi.server."""
        options = dict(custom_pool=self.pool, max_size=self.threads,
                       protocol=self.protocol, debug=False,
                       log=logging.getLogger("eventlet.wsgi.server"),
                       keepalive=CONF.http_keepalive,
                       socket_timeout=self.client_socket_timeout)
        if self.ssl_context is not None:
            options["environ"] = {"wsgi.url_scheme": "https",
                                  "HTTPS": "on"}
        return options

    def _dispatch(self, environ, start_response):
        """The WSGI application eventlet.wsgi runs: ours, with the file
        wrapper (sendfile) and the response meter of the access log."""
        environ["wsgi.file_wrapper"] = file_body.FileWrapper
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
                    _exit(1)

    def stop_accepting(self):
        """Stop accepting; in-flight requests get graceful_shutdown_timeout.

        eventlet.wsgi then closes the idle keep-alive connections and
        waits for the requests; :meth:`run_server` returns when they end.
        """
        if self.draining:
            return
        self.draining = True
        self.protocol.draining = True
        timeout = CONF.graceful_shutdown_timeout
        LOG.info("Process %(pid)d stops accepting; waiting for %(n)d open "
                 "connection(s)", {"pid": os.getpid(),
                                   "n": self.pool.running()})
        if timeout:
            eventlet.spawn_after(timeout, self._drain_expired, timeout)
        eventlet.spawn_after(_FRESH_CONNECTION_GRACE,
                             self.protocol.close_if_silent,
                             self.protocol.awaiting_first_request())
        self._server_thread.kill()

    def _drain_expired(self, timeout):
        LOG.warning("Process %(pid)d: %(n)d connection(s) still busy after "
                    "graceful_shutdown_timeout (%(t)s s); exiting anyway",
                    {"pid": os.getpid(), "n": self.pool.running(),
                     "t": timeout})
        _exit(0)

    @staticmethod
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


class _Worker:
    """The supervisor's record of one child."""

    def __init__(self, pid, generation):
        self.pid = pid
        self.generation = generation
        self.started = time.monotonic()
        self.retiring = False
        self.deadline = None   # when to SIGKILL a retiring worker

    def __repr__(self):
        return "<worker %d gen %d>" % (self.pid, self.generation)


class PosixServer(BaseServer):
    """The pre-forking supervisor (see the module docstring)."""

    def __init__(self, threads=1000, initialize_glance_store=False,
                 initialize_prefetcher=False):
        super().__init__(threads, initialize_glance_store,
                         initialize_prefetcher)
        self.children = {}
        self.generation = 0
        self.stopping = False
        self.exit_status = 0
        self.boot_error = None     # why a worker could not boot
        self._boot_errors = None   # the BootErrors pipe
        self._respawn_after = 0.0

    def num_workers(self):
        return get_num_workers()

    def start_workers(self):
        self._signals = SignalQueue()
        self._boot_errors = BootErrors()
        self.set_signal_handler(_SUPERVISOR_SIGNALS, self._signals.record)
        self.generation = 1
        self.manage_workers()

    def wait(self):
        """Supervise until stopped; the exit status for glance-api."""
        if self.workers == 0:
            return super().wait()
        return self.run_forever()

    # the supervisor loop

    def run_forever(self):
        """Sleep until a signal (or a second), act on it, repeat."""
        try:
            while self.children or not self.stopping:
                self._signals.wait(1.0)
                self.dispatch_signals()
                self.handle_chld()
                self.kill_overdue()
                self.manage_workers()
        finally:
            self._close()
        LOG.info("glance-api (pid %(pid)d) stopped, exit status %(st)d",
                 {"pid": os.getpid(), "st": self.exit_status})
        return self.exit_status

    def dispatch_signals(self):
        for signum in self._signals.pop_all():
            if signum == signal.SIGHUP:
                self.handle_hup()
            elif signum in (signal.SIGTERM, signal.SIGINT):
                self.handle_term(signum)
            elif signum == signal.SIGCHLD:
                self.handle_chld()

    def handle_hup(self):
        if self.stopping:
            LOG.info("SIGHUP ignored: stopping")
            return
        LOG.info("SIGHUP: reloading the configuration")
        self.reload()

    def handle_term(self, signum=signal.SIGTERM):
        name = signal.Signals(signum).name
        if self.stopping:
            LOG.warning("%s again: killing the workers now", name)
            self.kill_children(signal.SIGKILL)
            return
        LOG.info("%(sig)s: stopping; workers finish their requests (up to "
                 "%(t)s s)", {"sig": name,
                              "t": CONF.graceful_shutdown_timeout or "-"})
        self.halt(0)

    def handle_chld(self):
        """Reap every exited child and decide what its exit means."""
        while True:
            try:
                pid, status = _os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.children.pop(pid, None)
            if worker is not None:
                self.worker_exited(worker, os.waitstatus_to_exitcode(status))

    def worker_exited(self, worker, code):
        how = _describe_exit(code)
        if code == WORKER_BOOT_ERROR:
            reason = (self._boot_errors and
                      self._boot_errors.reason(worker.pid)) or _(
                "the reason is in the worker's log")
            LOG.error("Worker %(pid)d failed to boot (%(how)s): %(reason)s; "
                      "stopping glance-api",
                      {"pid": worker.pid, "how": how, "reason": reason})
            self.boot_error = self.boot_error or reason
            self.halt(WORKER_BOOT_ERROR)
        elif worker.retiring or self.stopping:
            LOG.info("Worker %(pid)d exited (%(how)s)",
                     {"pid": worker.pid, "how": how})
        else:
            LOG.warning("Worker %(pid)d died (%(how)s); starting another",
                        {"pid": worker.pid, "how": how})
            if time.monotonic() - worker.started < _MIN_WORKER_LIFETIME:
                self._respawn_after = time.monotonic() + 1.0

    def halt(self, status):
        """Stop serving: drain every worker, then exit with ``status``."""
        if self.exit_status == 0:
            self.exit_status = status
        if self.stopping:
            return
        self.stopping = True
        self.close_socket()
        self.kill_children(signal.SIGTERM)

    # workers

    def manage_workers(self, force=False):
        """Start workers until the current generation has ``workers``."""
        if self.stopping:
            return
        if not force and time.monotonic() < self._respawn_after:
            return
        current = [w for w in self.children.values()
                   if w.generation == self.generation and not w.retiring]
        for _i in range(self.workers - len(current)):
            self.spawn_worker()

    def spawn_worker(self):
        """Fork a worker; in the child this never returns."""
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISOR_SIGNALS)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            LOG.exception("Could not fork a worker")
            self._respawn_after = time.monotonic() + 1.0
            return None
        if pid == 0:
            self._become_worker(mask)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self.children[pid] = _Worker(pid, self.generation)
        LOG.info("Started worker %d", pid)
        return pid

    def kill_children(self, sig=signal.SIGTERM):
        """Send ``sig`` to every worker (TERM makes them drain)."""
        self.stop_workers(list(self.children.values()), sig)

    def stop_workers(self, workers, sig=signal.SIGTERM):
        timeout = CONF.graceful_shutdown_timeout
        for worker in workers:
            if not worker.retiring:
                worker.retiring = True
                if timeout:
                    worker.deadline = (time.monotonic() + timeout
                                       + _KILL_MARGIN)
            try:
                os.kill(worker.pid, sig)
            except ProcessLookupError:
                pass

    def kill_overdue(self):
        """SIGKILL retiring workers past graceful_shutdown_timeout."""
        now = time.monotonic()
        for worker in list(self.children.values()):
            if worker.deadline is not None and now > worker.deadline:
                LOG.warning("Worker %d did not stop in time: killing it",
                            worker.pid)
                worker.deadline = None
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def reload(self):
        """New configuration, new generation; the old one drains."""
        if not super().reload():
            return False
        workers = get_num_workers()
        if workers == 0:
            LOG.warning("workers = 0 needs a restart; keeping %d workers",
                        self.workers)
        else:
            self.workers = workers
        old = [w for w in self.children.values() if not w.retiring]
        self.generation += 1
        LOG.info("Starting %(new)d worker(s) with the new configuration; "
                 "%(old)d old worker(s) finish their requests",
                 {"new": self.workers, "old": len(old)})
        self.manage_workers(force=True)
        self.stop_workers(old)
        return True

    def close_socket(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _close(self):
        self.close_socket()
        self.set_signal_handler(_SUPERVISOR_SIGNALS, signal.SIG_DFL)
        self._signals.close()
        if self._boot_errors is not None:
            self._boot_errors.close()

    # in the child

    def _become_worker(self, mask):
        status = 1
        try:
            self._signals.close()
            self.set_signal_handler(_SUPERVISOR_SIGNALS, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            self.children = {}
            status = self.run_child()
        except BaseException:  # noqa: B036 - nothing may escape a child
            LOG.exception("Worker %d crashed", os.getpid())
        finally:
            _exit(status)

    def run_child(self):
        """Boot, then serve; the worker's exit status."""
        parent = os.getppid()
        eventlet.hubs.use_hub(_HUB)  # a hub of its own
        reason = self.boot_or_say_why()
        if reason is not None:
            LOG.error("Worker %(pid)d failed to boot: %(reason)s",
                      {"pid": os.getpid(), "reason": reason})
            if self._boot_errors is not None:
                self._boot_errors.report(reason)
            return WORKER_BOOT_ERROR
        self._signals = SignalQueue()
        self.set_signal_handler(_SERVE_SIGNALS, self._signals.record)
        eventlet.spawn_n(self.watch_signals)
        eventlet.spawn_n(self._watch_parent, parent)
        self.run_server()
        return 0

    def boot_or_say_why(self):
        """Boot; None, or one line saying why it failed (the traceback
        is logged at debug level)."""
        try:
            self.boot()
        except (Exception, SystemExit) as e:
            LOG.debug("The worker's boot error", exc_info=True)
            return describe_error(e)
        return None

    def _watch_parent(self, parent):
        while os.getppid() == parent:
            eventlet.sleep(1.0)
        if not self.draining:
            LOG.warning("Worker %d: the supervisor is gone; stopping",
                        os.getpid())
            self.stop_accepting()


Server = PosixServer  # the name Glance's own tools use


def _describe_exit(code):
    if code < 0:
        try:
            return "signal %s" % signal.Signals(-code).name
        except ValueError:
            return "signal %d" % -code
    return "exit status %d" % code


def _exit(status):
    """Leave the process now, logs flushed, no cleanup of the parent's."""
    for handler in list(std_logging.getLogger().handlers):
        try:
            handler.flush()
        except Exception:  # noqa: BLE001,S110 - exiting anyway
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    _os._exit(status)


def _conf_value(name):
    try:
        return getattr(CONF, name)
    except cfg.NoSuchOptError:
        return None  # a CLI option the process did not register


def _setup_logging():
    try:
        logging.setup(CONF, "glance")
    except cfg.NoSuchOptError:
        pass  # oslo.log options not registered: not set up by bootstrap


def _attach_debugger():
    try:
        import pydevd
    except ImportError:
        LOG.warning("pydev_worker_debug_host is set but pydevd is not "
                    "installed")
        return
    pydevd.settrace(CONF.pydev_worker_debug_host,
                    port=CONF.pydev_worker_debug_port,
                    stdoutToServer=True, stderrToServer=True)
