"""What the tasks API does, and the life of a task record.

A task is born ``pending``, moves to ``processing`` when a worker picks it
up and ends ``success`` (with a ``result``) or ``failure`` (with a
``message``). When it ends it gets an ``expires_at`` of now plus
``[task] task_time_to_live`` hours; expired tasks are deleted the next
time tasks are listed.

The public functions authorize first: the tasks API as a whole is guarded
by ``tasks_api_access`` (admin-only by default, as in Glance), then by the
per-call rules ``get_task``/``get_tasks``/``add_task``. Internal callers
(image import, the executor) use the unguarded record functions below
(``create``, ``start``, ``succeed``, ``fail``, ``touch``).
"""
import datetime

from oslo_config import cfg
from oslo_log import log as logging

from glance.api import policy
from glance.common import exception
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


# --- records (no policy: internal use) ---

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


def delete_expired():
    """Delete the expired tasks; how many went."""
    try:
        count = db.tasks_delete_expired(utcnow())
    except Exception:  # noqa: BLE001 - listing must not fail for it
        LOG.exception("Could not delete expired tasks")
        return 0
    if count:
        LOG.info("Deleted %d expired tasks", count)
    return count


# --- the tasks API ---

def check_api_access(context):
    """Forbidden unless the caller may use the tasks API at all
    (checked before the request is even parsed, as Glance does)."""
    policy.enforce(context, "tasks_api_access",
                   policy.default_target(context))


def _enforce(context, action, target=None):
    target = target or policy.default_target(context)
    policy.enforce(context, "tasks_api_access", target)
    policy.enforce(context, action, target)


def _task_target(task):
    return {"project_id": task["owner"], "owner": task["owner"],
            "user_id": task.get("user_id")}


def list_tasks(context, filters=None, marker=None, limit=None,
               sort_key="created_at", sort_dir="desc"):
    """A page of tasks and the marker of the next page (or None)."""
    _enforce(context, "get_tasks")
    delete_expired()
    try:
        tasks = db.task_get_all(filters=filters, marker=marker, limit=limit,
                                sort_key=sort_key, sort_dir=sort_dir,
                                project_id=context.project_id,
                                is_admin=context.is_admin)
    except exception.TaskNotFound:
        raise
    except exception.NotFound:
        raise exception.Invalid(_("Task with the given id %s was not "
                                  "found") % marker) from None
    next_marker = tasks[-1]["id"] if tasks and limit and \
        len(tasks) == limit else None
    return tasks, next_marker


def get_task(context, task_id):
    """One task the caller may see (404 otherwise)."""
    policy.enforce(context, "tasks_api_access",
                   policy.default_target(context))
    try:
        task = db.task_get(task_id)
    except exception.NotFound:
        task = None
    if task is None or not (context.is_admin
                            or task["owner"] == context.project_id):
        raise exception.TaskNotFound(
            _("Could not find task %s") % task_id)
    policy.enforce(context, "get_task", _task_target(task))
    return task


def add_task(context, task_type, task_input):
    """Create a task through the tasks API and start it; the task."""
    _enforce(context, "add_task")
    task = create(context, task_type, task_input)
    from glance.async_ import executor  # noqa: E402 (executor imports us)
    executor.TaskExecutor(context).begin_processing(task["id"])
    return task


def image_tasks(context, image_id):
    """The live tasks of an image the caller may see (404 otherwise)."""
    from glance.services import images
    try:
        image = images.find_image(context, image_id)
        policy.enforce_image_action(context, "get_image", image)
    except (exception.ImageNotFound, exception.Forbidden):
        # webob's own 404 text, as Glance answers here
        raise exception.ResourceNotFound(
            _("No image found with ID %s") % image_id) from None
    return db.tasks_get_by_image(image_id)
