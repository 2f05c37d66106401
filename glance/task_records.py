"""The life of a task record, with no policy: for the services and the
executor.

A task is born ``pending``, moves to ``processing`` when a worker picks it
up and ends ``success`` (with a ``result``) or ``failure`` (with a
``message``). When it ends it gets an ``expires_at`` of now plus
``[task] task_time_to_live`` hours. Each move sends its ``task.*``
notification.

It sits below ``glance.async_`` (whose executor moves the records) and
below ``glance.services`` (which create them and guard the tasks API), so
neither has to import the other to get at a record.
"""
import datetime

from oslo_config import cfg
from oslo_log import log as logging

from glance.db import api as db
from glance.i18n import _
from glance import notifier

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

task_opts = [
    cfg.IntOpt("task_time_to_live", default=48, min=0,
               help=_("Hours a finished task is kept (and shown) before "
                      "it is deleted.")),
    cfg.StrOpt("task_executor", default="taskflow",
               help=_("Task executor to run tasks with. Only the built-in "
                      "executor exists; the value is accepted for "
                      "compatibility with Glance's configuration.")),
    cfg.StrOpt("work_dir",
               help=_("Scratch directory for task work (image "
                      "conversion); defaults to the staging area.")),
    cfg.IntOpt("import_lock_timeout", default=3600, min=1,
               help=_("Seconds after which the import lock of an image "
                      "(os_glance_import_task) whose task made no "
                      "progress is taken over by a new import. A live "
                      "import refreshes its task every few seconds.")),
]

CONF.register_opts(task_opts, group="task")

STATUSES = ("pending", "processing", "success", "failure")
FINISHED = ("success", "failure")
TYPES = ("import", "api_image_import", "location_import")


def list_opts():
    return [("task", task_opts)]


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def create(context, task_type, task_input, image_id=None):
    """A new ``pending`` task owned by the caller's project."""
    return notifier.task_event("task.create", db.task_create({
        "type": task_type, "status": "pending", "input": task_input or {},
        "owner": context.project_id, "image_id": image_id,
        "user_id": context.user_id,
        "request_id": getattr(context, "request_id", None),
    }))


def start(task_id):
    """``pending`` -> ``processing``; the task."""
    return _move(task_id, "processing")


def touch(task_id, message=None):
    """Refresh ``updated_at`` of a running task (its heartbeat)."""
    values = {} if message is None else {"message": message}
    return db.task_update(task_id, values)


def succeed(task_id, result=None):
    """``success``; the message the work left (e.g. "Copied 1 MiB") stays,
    as in Glance."""
    return _move(task_id, "success", result=result)


def fail(task_id, message):
    LOG.info("Task %s failed: %s", task_id, message)
    return _move(task_id, "failure", message=str(message)[:2048])


def _move(task_id, status, **values):
    values["status"] = status
    if status in FINISHED:
        values["expires_at"] = utcnow() + datetime.timedelta(
            hours=CONF.task.task_time_to_live)
    return notifier.task_event("task." + status,
                               db.task_update(task_id, values))
