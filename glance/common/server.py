"""The glance-api server: a pre-forking supervisor over eventlet.wsgi workers.

The process model is gunicorn's arbiter, written for Glance:

* The parent binds one listening socket, forks ``workers`` children and then
  only supervises. Its signal handlers just record the signal and write a
  byte to a self-pipe; the main loop (:meth:`PosixServer.run_forever`) wakes
  up and dispatches to ``handle_hup``, ``handle_term`` or ``handle_chld``.
* Each child loads the paste application and serves the shared socket
  (:class:`glance.common.worker.Worker`, gunicorn's ``workers/base``).
  SIGTERM, SIGINT or SIGHUP make a child stop accepting and drain without
  dropping a request: it answers the next request of each open
  connection with ``Connection: close``, closes only connections silent
  for a grace period, and exits 0 when they are done (or after
  ``graceful_shutdown_timeout`` seconds).
* SIGHUP to the parent re-reads the config files, forks a new generation of
  children with the new configuration and, once they serve, tells the old
  generation to drain. The listening socket stays open throughout, so no
  connection is refused during a reload.
* Watchdog: each child beats a heartbeat in its slot of a shared page
  (:mod:`glance.common.scoreboard`) from a green thread, so a blocked hub
  stops it; the parent kills a child silent for ``worker_timeout``
  seconds (SIGKILL) and starts another.
* A dead child is reaped with ``waitpid(WNOHANG)`` and replaced. What it
  held (uploads, stages, import locks, recorded with
  :mod:`glance.common.claims`) is released at once by a short-lived
  child of the parent (a janitor running ``release_claims``), so a
  client's retry works within seconds. A child
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

The connection-level pieces (the HTTP protocol and its drain, the
request body) are in :mod:`glance.common.connections`.
"""
import os
import signal
import sys
import time

import eventlet
import eventlet.hubs
import eventlet.wsgi
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import claims as claim_records
from glance.common.connections import HttpProtocol  # noqa: F401
from glance.common.connections import make_protocol  # noqa: F401
from glance.common.connections import RequestBody
from glance.common.pipes import BootErrors
from glance.common.pipes import SignalQueue
from glance.common.scoreboard import Scoreboard
from glance.common.scoreboard import SERVING
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
from glance.common.worker import AppLoader
from glance.common.worker import attach_debugger as _attach_debugger
from glance.common.worker import conf_value as _conf_value
from glance.common.worker import describe_error
from glance.common.worker import exit_now as _exit
from glance.common.worker import get_asynchronous_eventlet_pool
from glance.common.worker import set_signal_handler
from glance.common.worker import wait_for_asynchronous_pools  # noqa: F401
from glance.common.worker import Worker
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

_KILL_MARGIN = 5.0              # past graceful_shutdown_timeout, SIGKILL
_MIN_WORKER_LIFETIME = 1.0      # a worker dying sooner slows the respawns
_JANITOR_TIMEOUT = 120.0        # a janitor still running then is killed
_READY_TIMEOUT = 30.0           # a reload's old workers drain by then
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
    cfg.IntOpt("worker_timeout", default=60, min=0,
               help=_("Seconds a worker process may go without a "
                      "heartbeat before the supervisor kills it (SIGKILL) "
                      "and starts another; what it held (uploads, import "
                      "locks) is then released. A serving worker beats "
                      "from a green thread twice a second, so only a "
                      "blocked process (a call that never returns, a "
                      "deadlock) misses it; a booting worker is not "
                      "watched. 0 disables the watchdog. Not a Glance "
                      "option (gunicorn's timeout).")),
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


def get_num_workers():
    """``workers``, or the number of usable CPUs capped at 8."""
    if CONF.workers is not None:
        return CONF.workers
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return min(cpus, DEFAULT_WORKER_CAP)


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


# --- the serving process ---------------------------------------------------

class BaseServer:
    """Serves the WSGI application in this process.

    ``start(application, default_port)`` configures and binds,
    ``wait()`` serves until SIGTERM/SIGINT and returns the exit status.
    This is the ``workers = 0`` server; the serving itself is a
    :class:`~glance.common.worker.Worker`, as in each
    :class:`PosixServer` child.
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
        self.worker = None        # the Worker serving in this process
        self.rebind_allowed = True
        self._signals = None

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
        """Start the in-daemon periodic image prefetcher: a callable
        ``initialize_prefetcher`` is what starts it (the entry point
        passes it; the server knows no service)."""
        if callable(self.initialize_prefetcher):
            self.initialize_prefetcher()

    # reloading

    def hup(self, *args):
        """Ask for a reload; usable as a signal handler."""
        if self._signals is not None:
            self._signals.record(signal.SIGHUP)
        elif self.worker is not None:
            self.worker.record_signal(signal.SIGHUP)
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
        self.app = self.worker.app = app
        self.worker.protocol.ssl_context = self.ssl_context
        LOG.info("Reloaded the configuration and the application")

    # serving

    def wait(self):
        """Serve in this process until SIGTERM/SIGINT; the exit status."""
        self.rebind_allowed = False
        self.worker = self.make_worker()
        self.worker.run(on_hup=self.reload_in_place)
        LOG.info("glance-api (pid %d) stopped", os.getpid())
        return 0

    def make_worker(self, slot=None):
        """The :class:`~glance.common.worker.Worker` serving this
        process's connections."""
        return Worker(self.sock, self.app, ssl_context=self.ssl_context,
                      threads=self.threads,
                      socket_timeout=self.client_socket_timeout,
                      keepalive=CONF.http_keepalive, slot=slot)

    set_signal_handler = staticmethod(set_signal_handler)


class _Worker:
    """The supervisor's record of one child."""

    def __init__(self, pid, generation, slot=None):
        self.pid = pid
        self.generation = generation
        self.slot = slot       # its scoreboard slot (heartbeat)
        self.started = time.monotonic()
        self.retiring = False
        self.deadline = None   # when to SIGKILL a retiring worker
        self.timed_out = False

    def __repr__(self):
        return "<worker %d gen %d>" % (self.pid, self.generation)


class PosixServer(BaseServer):
    """The pre-forking supervisor (see the module docstring)."""

    def __init__(self, threads=1000, initialize_glance_store=False,
                 initialize_prefetcher=False, claims=None,
                 release_claims=None):
        super().__init__(threads, initialize_glance_store,
                         initialize_prefetcher)
        self.claims = claims                  # a ClaimRegistry
        self.release_claims = release_claims  # (registry, pid) -> None
        self.children = {}
        self.janitors = {}         # pid -> (dead worker's pid, deadline)
        self.generation = 0
        self.stopping = False
        self.exit_status = 0
        self.boot_error = None     # why a worker could not boot
        self.board = None          # the Scoreboard
        self._replaced = {}        # pid -> worker a reload replaced
        self._replaced_deadline = 0.0
        self._boot_errors = None   # the BootErrors pipe
        self._respawn_after = 0.0

    def num_workers(self):
        return get_num_workers()

    def start_workers(self):
        self._signals = SignalQueue()
        self._boot_errors = BootErrors()
        self.board = Scoreboard()
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
            while self.children or self.janitors or not self.stopping:
                # a reload's new workers are watched for closely
                self._signals.wait(0.1 if self._replaced else 1.0)
                self.dispatch_signals()
                self.handle_chld()
                self.kill_overdue()
                self.kill_silent()
                self.manage_workers()
                self.retire_replaced()
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
            code = os.waitstatus_to_exitcode(status)
            worker = self.children.pop(pid, None)
            if worker is not None:
                self.worker_exited(worker, code)
            elif pid in self.janitors:
                self.janitor_exited(pid, code)

    def worker_exited(self, worker, code):
        if self.board is not None:
            self.board.free(worker.slot)
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
            young = time.monotonic() - worker.started < _MIN_WORKER_LIFETIME
            if young and not worker.timed_out:
                self._respawn_after = time.monotonic() + 1.0
        self.release_claims_of(worker.pid)

    def halt(self, status):
        """Stop serving: drain every worker, then exit with ``status``."""
        if self.exit_status == 0:
            self.exit_status = status
        if self.stopping:
            return
        self.stopping = True
        self._replaced = {}
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
        slot = self.board.allocate() if self.board is not None else None
        pid = self._fork(lambda: self._become_worker(slot))
        if pid is None:
            if self.board is not None:
                self.board.free(slot)
            self._respawn_after = time.monotonic() + 1.0
            return None
        if slot is not None:
            slot.claim(pid)
        self.children[pid] = _Worker(pid, self.generation, slot)
        LOG.info("Started worker %d", pid)
        return pid

    def _fork(self, child):
        """Fork; the child runs ``child()`` (which never returns) with the
        supervisor's signals blocked until it installs its own."""
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISOR_SIGNALS)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            LOG.exception("Could not fork")
            return None
        if pid == 0:
            self._signal_mask = mask
            child()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
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
        """SIGKILL retiring workers past graceful_shutdown_timeout, and
        janitors that take too long."""
        now = time.monotonic()
        for worker in list(self.children.values()):
            if worker.deadline is not None and now > worker.deadline:
                LOG.warning("Worker %d did not stop in time: killing it",
                            worker.pid)
                worker.deadline = None
                _kill(worker.pid, signal.SIGKILL)
        for pid, (dead, deadline) in list(self.janitors.items()):
            if deadline is not None and now > deadline:
                LOG.error("Releasing the claims of worker %d takes too "
                          "long: killing process %d", dead, pid)
                self.janitors[pid] = (dead, None)
                _kill(pid, signal.SIGKILL)

    def kill_silent(self):
        """The watchdog: SIGKILL a worker whose heartbeat is older than
        worker_timeout (its hub is blocked); it is then replaced."""
        timeout = CONF.worker_timeout
        if not timeout:
            return
        for worker in list(self.children.values()):
            silent = worker.slot.silent_for() if worker.slot else None
            if silent is None or silent <= timeout or worker.timed_out:
                continue
            LOG.error("Worker %(pid)d sent no heartbeat for %(s).1f s "
                      "(worker_timeout = %(t)d s): killing it",
                      {"pid": worker.pid, "s": silent, "t": timeout})
            worker.timed_out = True
            _kill(worker.pid, signal.SIGKILL)

    # a dead worker's claims

    def release_claims_of(self, pid):
        """Fork a janitor releasing what dead worker ``pid`` held."""
        if self.claims is None or self.release_claims is None:
            return
        held = self.claims.claims_of(pid)
        if not held:
            return
        LOG.warning("Worker %(pid)d held %(n)d upload(s), stage(s) or "
                    "import(s): releasing them", {"pid": pid,
                                                  "n": len(held)})
        janitor = self._fork(lambda: self._run_janitor(pid))
        if janitor is None:
            LOG.error("Could not release the claims of worker %d; the "
                      "stall timeouts will", pid)
            return
        self.janitors[janitor] = (pid, time.monotonic() + _JANITOR_TIMEOUT)

    def janitor_exited(self, pid, code):
        dead, _deadline = self.janitors.pop(pid)
        if code == 0:
            LOG.info("Released the claims of worker %d", dead)
        else:
            LOG.error("Releasing the claims of worker %(dead)d failed "
                      "(%(how)s); the stall timeouts will release them",
                      {"dead": dead, "how": _describe_exit(code)})

    def _run_janitor(self, dead):
        status = 1
        try:
            self._enter_child()
            self.close_socket()
            eventlet.hubs.use_hub(_HUB)
            self.release_claims(self.claims, dead)
            status = 0
        except BaseException:  # noqa: B036 - nothing may escape a child
            LOG.exception("Releasing the claims of worker %d failed", dead)
        finally:
            _exit(status)

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
        self._replaced.update((w.pid, w) for w in old)
        self._replaced_deadline = time.monotonic() + _READY_TIMEOUT
        self.retire_replaced()
        return True

    def retire_replaced(self):
        """Drain the workers a reload replaced once every worker of the
        new generation serves (or after ``_READY_TIMEOUT`` seconds), so
        that connections are accepted throughout the reload."""
        if not self._replaced:
            return
        current = [w for w in self.children.values()
                   if w.generation == self.generation and not w.retiring]
        ready = len(current) >= self.workers and all(
            w.slot is None or w.slot.state == SERVING for w in current)
        if not ready and time.monotonic() < self._replaced_deadline:
            return
        old = [w for pid, w in self._replaced.items()
               if pid in self.children]
        self._replaced = {}
        self.stop_workers(old)

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
        if self.board is not None:
            self.board.close()
            self.board = None

    # in the child

    def _enter_child(self):
        """What every child of the supervisor does first."""
        self._signals.close()
        self.set_signal_handler(_SUPERVISOR_SIGNALS, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, self._signal_mask)
        self.children = {}
        self.janitors = {}

    def _become_worker(self, slot):
        status = 1
        try:
            self._enter_child()
            status = self.run_child(slot)
        except BaseException:  # noqa: B036 - nothing may escape a child
            LOG.exception("Worker %d crashed", os.getpid())
        finally:
            _exit(status)

    def run_child(self, slot=None):
        """Boot, then serve; the worker's exit status."""
        parent = os.getppid()
        if slot is not None:
            slot.claim(os.getpid())
        claim_records.activate(self.claims)
        eventlet.hubs.use_hub(_HUB)  # a hub of its own
        reason = self.boot_or_say_why()
        if reason is not None:
            LOG.error("Worker %(pid)d failed to boot: %(reason)s",
                      {"pid": os.getpid(), "reason": reason})
            if self._boot_errors is not None:
                self._boot_errors.report(reason)
            return WORKER_BOOT_ERROR
        self.worker = self.make_worker(slot)
        self.worker.run(parent=parent)
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


Server = PosixServer  # the name Glance's own tools use


def _describe_exit(code):
    if code < 0:
        try:
            return "signal %s" % signal.Signals(-code).name
        except ValueError:
            return "signal %d" % -code
    return "exit status %d" % code


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _setup_logging():
    try:
        logging.setup(CONF, "glance")
    except cfg.NoSuchOptError:
        pass  # oslo.log options not registered: not set up by bootstrap
