"""glance-api's master process: the pre-forking supervisor (the arbiter).

Gunicorn's ``arbiter.py``, written for Glance; the process model is
described in :mod:`glance.common.server`. :class:`PosixServer` binds
(through :class:`~glance.common.server.BaseServer`), forks the workers
(each a :class:`~glance.common.worker.Worker`), and then only supervises:
generations and reloads, signals, reaping, the drain deadlines, the
watchdog, and the janitors releasing a dead worker's claims.
"""
import gc
import os
import signal
import time

import eventlet.patcher
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import claims as claim_records
from glance.common import eventlet_setup
from glance.common.pipes import BootErrors
from glance.common.pipes import SignalQueue
from glance.common.scoreboard import Scoreboard
from glance.common.scoreboard import SERVING
from glance.common.server import BaseServer
from glance.common.server import WORKER_BOOT_ERROR
from glance.common.server_opts import get_num_workers
from glance.common.worker import describe_error
from glance.common.worker import exit_now
from glance.common.worker import SERVE_SIGNALS
from glance.i18n import _

__all__ = ["PosixServer", "Server", "WorkerRecord"]

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# The parent waits with the real select (glance.common.pipes), sleep and
# waitpid: it never runs the eventlet hub, so its children start from a
# clean one.
_os = eventlet.patcher.original("os")

_KILL_MARGIN = 5.0              # past graceful_shutdown_timeout, SIGKILL
_MIN_WORKER_LIFETIME = 1.0      # a worker dying sooner slows the respawns
_JANITOR_TIMEOUT = 120.0        # a janitor still running then is killed
_READY_TIMEOUT = 30.0           # a reload's old workers drain by then
_SUPERVISOR_SIGNALS = SERVE_SIGNALS + (signal.SIGCHLD,)


class WorkerRecord:
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
                # once per wake-up: SIGCHLD only wakes the loop, and one
                # waitpid loop reaps every child that exited (signals
                # coalesce) or whose SIGCHLD came while masked
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
            # SIGCHLD: run_forever reaps right after

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
        self.children[pid] = WorkerRecord(pid, self.generation, slot)
        LOG.info("Started worker %d", pid)
        return pid

    def _fork(self, child):
        """Fork; the child runs ``child()`` (which never returns) with the
        supervisor's signals blocked until it installs its own."""
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISOR_SIGNALS)
        # What the child inherits is out of its collector's reach: the
        # pages stay shared, and full collections do not walk them.
        gc.freeze()
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            LOG.exception("Could not fork")
            return None
        if pid == 0:
            self._signal_mask = mask
            child()
        gc.unfreeze()  # the supervisor's own garbage is still collected
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
            eventlet_setup.post_fork()
            self.release_claims(self.claims, dead)
            status = 0
        except BaseException:  # noqa: B036 - nothing may escape a child
            LOG.exception("Releasing the claims of worker %d failed", dead)
        finally:
            exit_now(status)

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
            exit_now(status)

    def run_child(self, slot=None):
        """Boot, then serve; the worker's exit status."""
        parent = os.getppid()
        if slot is not None:
            slot.claim(os.getpid())
        claim_records.activate(self.claims)
        eventlet_setup.post_fork()  # a hub of its own
        reason = self.boot_or_say_why()
        if reason is not None:
            LOG.error("Worker %(pid)d failed to boot: %(reason)s",
                      {"pid": os.getpid(), "reason": reason})
            if self._boot_errors is not None:
                self._boot_errors.report(reason)
            return WORKER_BOOT_ERROR
        self.worker = self.make_worker(slot)
        # the app lives as long as the worker: keep full collections,
        # which pause every request in the worker, off it
        gc.freeze()
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
