"""TaskExecutor: runs a task record's work on the process's task pool.

``begin_processing(task_id)`` hands the task to a pool of the thread-pool
model chosen at start-up (green threads in ``glance-api``, OS threads in
tools), ``[wsgi] task_pool_threads`` wide, one pool per process (made
after fork). Around each task's work the executor does what every task
type needs:

1. read the task and validate its input for its type,
2. ``pending`` -> ``processing``,
3. run the type's work: ``api_image_import`` (glance.async_.flows.
   api_image_import), ``import`` (the tasks API's old-style import) and
   ``location_import``,
4. ``success`` with the work's result, or ``failure`` with the reason.
   A ``TaskFailure`` (and any of our exceptions) carries its reason to
   the task's ``message``; anything else is logged with its traceback and
   the task says ``Task failed due to Internal Error``.

The pool's futurist statistics (tasks executed, failed, average runtime)
are logged every ``STATS_INTERVAL`` seconds while tasks run, and
``pool_statistics()`` gives them to anyone who asks.
"""
import os
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging

import glance.async_
from glance.common import exception
from glance.common import process
from glance.common import server_opts  # noqa: F401 - [wsgi] task_pool_threads
from glance.db import api as db
from glance.i18n import _
from glance import notifier
from glance import task_records

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

STATS_INTERVAL = 300.0
INTERNAL_ERROR = _("Task failed due to Internal Error")

_POOL = None
_POOL_LOCK = threading.Lock()
process.per_process(__name__, "_POOL", locks=["_POOL_LOCK"])
_LAST_STATS = [0.0]


class TaskFailure(exception.GlanceException):
    """The work of a task failed for a reason the task should tell."""


def get_pool():
    """The task pool of this process (a new one after fork)."""
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                model = glance.async_.get_threadpool_model()
                _POOL = model(CONF.wsgi.task_pool_threads)
    return _POOL


def pool_statistics():
    """``{executed, failures, cancelled, average_runtime, runtime}`` of
    this process's task pool (zeros before the first task)."""
    if _POOL is None:
        return {"executed": 0, "failures": 0, "cancelled": 0,
                "runtime": 0.0, "average_runtime": 0.0}
    stats = _POOL.statistics
    executed = stats.executed
    return {"executed": executed, "failures": stats.failures,
            "cancelled": stats.cancelled, "runtime": stats.runtime,
            "average_runtime": stats.runtime / executed if executed
            else 0.0}


def log_statistics(force=False):
    """Log the pool's statistics, at most every STATS_INTERVAL seconds."""
    now = time.monotonic()
    if not force and now - _LAST_STATS[0] < STATS_INTERVAL:
        return
    _LAST_STATS[0] = now
    LOG.info("Task pool statistics: %(executed)d tasks executed, "
             "%(failures)d failed, %(cancelled)d cancelled, average "
             "runtime %(average_runtime).3fs", pool_statistics())


def _location_import(context, task):
    """The ``location_import`` type: add a location to an image."""
    task_input = task["input"] or {}
    if not task_input:
        raise TaskFailure(_("Input to location_import task is empty."))
    for key in ("image_id", "loc_url"):
        if not task_input.get(key):
            raise TaskFailure(_("Input to location_import task lacks "
                                "'%s'.") % key)
    raise TaskFailure(_("Adding locations with a task is not supported "
                        "by this deployment."))


def _api_image_import(context, task, executor):
    from glance.async_.flows import api_image_import
    return api_image_import.run(context, task, executor)


def _legacy_import(context, task, executor):
    from glance.async_.flows import legacy_import
    return legacy_import.run(context, task, executor)


RUNNERS = {
    "api_image_import": _api_image_import,
    "import": _legacy_import,
    "location_import": lambda context, task, executor:
        _location_import(context, task),
}


def _log_crash(future):
    error = future.exception()
    if error is not None:
        LOG.error("Task runner crashed: %r", error, exc_info=(
            type(error), error, error.__traceback__))


class TaskExecutor:
    """Runs tasks for one request context.

    Records are read through ``glance.db.api`` and moved through
    ``glance.task_records``. ``admin_context`` (for ``copy-image``, which
    writes to an image its caller may not own) is the elevated context the
    work runs with.
    """

    def __init__(self, context, admin_context=None):
        self.context = context
        self.admin_context = admin_context

    def begin_processing(self, task_id):
        """Run task ``task_id`` on the pool; the future."""
        future = get_pool().spawn(self._run, task_id)
        future.add_done_callback(_log_crash)
        return future

    def run_now(self, task_id):
        """Run task ``task_id`` in this thread (tools, tests)."""
        return self._run(task_id)

    def _run(self, task_id):
        try:
            task = db.task_get(task_id)
        except exception.NotFound:
            LOG.warning("Task %s vanished before it could run", task_id)
            return None
        runner = RUNNERS.get(task["type"])
        if task["status"] != "pending":
            LOG.warning("Task %s is %s, not pending: not run again",
                        task_id, task["status"])
            return task
        task = task_records.start(task_id)
        started = time.monotonic()
        try:
            if runner is None:
                raise TaskFailure(_("Unknown task type %s") % task["type"])
            result = runner(self.admin_context or self.context, task, self)
        except exception.GlanceException as e:
            return self._fail(task_id, str(e) or INTERNAL_ERROR)
        except Exception:  # noqa: BLE001 - the task must end either way
            LOG.exception("Task %s (%s) failed", task_id, task["type"])
            return self._fail(task_id, INTERNAL_ERROR)
        finally:
            LOG.info("Task %(id)s (%(type)s) ran for %(secs).2fs",
                     {"id": task_id, "type": task["type"],
                      "secs": time.monotonic() - started})
        return self._end(task_id, task_records.succeed, result)

    def _fail(self, task_id, message):
        return self._end(task_id, task_records.fail, message)

    @staticmethod
    def _end(task_id, how, arg):
        try:
            # Glance sends task.run once the run is over
            return notifier.task_event("task.run", how(task_id, arg))
        except exception.NotFound:
            LOG.warning("Task %s was deleted while it ran", task_id)
            return None
        finally:
            try:
                log_statistics()
            except Exception:  # noqa: BLE001 - statistics are a bonus
                LOG.debug("Could not log task pool statistics",
                          exc_info=True)


def _healthcheck_base():
    from oslo_middleware.healthcheck import pluginbase
    return pluginbase


class TaskPoolHealthcheck(_healthcheck_base().HealthcheckBaseExtension):
    """An oslo.middleware healthcheck backend showing this worker's task
    pool statistics in the detailed healthcheck (``detailed = true``).

    Registered as the ``oslo.middleware.healthcheck`` entry point
    ``task_pool``; enable it with ``backends = task_pool``.
    """

    def healthcheck(self, server_port):
        pluginbase = _healthcheck_base()
        stats = pool_statistics()
        return pluginbase.HealthcheckResult(
            available=True, reason="OK",
            details="task pool (pid %d): %d executed, %d failed, %d "
                    "cancelled, average runtime %.3fs"
                    % (os.getpid(), stats["executed"], stats["failures"],
                       stats["cancelled"], stats["average_runtime"]))
