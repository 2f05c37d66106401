"""What the tasks API does.

The public functions authorize first: the tasks API as a whole is guarded
by ``tasks_api_access`` (admin-only by default, as in Glance), then by the
per-call rules ``get_task``/``get_tasks``/``add_task``. The records
themselves (``create``, ``start``, ``touch``, ``succeed``, ``fail``) are
``glance.task_records``, below both the services and the executor; a
service hands a recorded task to the executor with :func:`begin`.
Expired tasks are deleted the next time tasks are listed.
"""
from oslo_log import log as logging

from glance.async_ import executor
from glance.common import exception
from glance.db import api as db
from glance.i18n import _
from glance import policy
from glance.services import images
from glance import task_records

LOG = logging.getLogger(__name__)

# what the tasks API validates filters against
STATUSES = task_records.STATUSES
TYPES = task_records.TYPES


def begin(context, task_id, admin_context=None):
    """Run recorded task ``task_id`` on this process's task pool (the
    services' one way into ``glance.async_``); the future."""
    return executor.TaskExecutor(
        context, admin_context=admin_context).begin_processing(task_id)


def delete_expired():
    """Delete the expired tasks; how many went."""
    try:
        count = db.tasks_delete_expired(task_records.utcnow())
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
    task = task_records.create(context, task_type, task_input)
    begin(context, task["id"])
    return task


def image_tasks(context, image_id):
    """The live tasks of an image the caller may see (404 otherwise)."""
    try:
        image = images.find_image(context, image_id)
        policy.enforce_image_action(context, "get_image", image)
    except (exception.ImageNotFound, exception.Forbidden):
        # webob's own 404 text, as Glance answers here
        raise exception.ResourceNotFound(
            _("No image found with ID %s") % image_id) from None
    return db.tasks_get_by_image(image_id)
