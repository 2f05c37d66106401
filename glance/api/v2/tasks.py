"""``/v2/tasks`` and ``/v2/tasks/{id}`` (and ``/v2/images/{id}/tasks``).

The tasks API is admin-only with the default policies. A task's document
holds ``input``, ``result`` and ``message``; the list shows stubs without
them. Tasks cannot be deleted: they expire (405 on DELETE).
"""
import urllib.parse

import jsonschema
import webob.exc
from oslo_utils import uuidutils

from glance.api.v2 import image_views
from glance.api.v2 import list_params
from glance.api.v2 import schemas
from glance.common import exception
from glance.common import wsgi
from glance.i18n import _
from glance.services import tasks as service

SORT_KEYS = ("id", "type", "status", "owner", "created_at", "updated_at",
             "expires_at")
READ_ONLY = ("id", "status", "owner", "message", "result", "created_at",
             "updated_at", "expires_at", "self", "schema", "image_id",
             "request_id", "user_id")


class TasksController:
    def index(self, req, filters, marker, limit, sort_key, sort_dir):
        tasks, next_marker = service.list_tasks(
            req.context, filters, marker=marker, limit=limit,
            sort_key=sort_key, sort_dir=sort_dir)
        return {"tasks": tasks, "next_marker": next_marker}

    def show(self, req, task_id):
        return service.get_task(req.context, task_id)

    def create(self, req, task):
        return service.add_task(req.context, task["type"], task["input"])

    def image_tasks(self, req, image_id):
        return {"tasks": service.image_tasks(req.context, image_id)}

    def delete(self, req, task_id):
        raise webob.exc.HTTPMethodNotAllowed(
            explanation=_("This operation is currently not permitted on "
                          "Glance Tasks. They are auto deleted after "
                          "reaching the time based on their expires_at "
                          "property."),
            body_template="${explanation}",   # the message only, as Glance
            headers=[("Allow", "GET")])


class RequestDeserializer(wsgi.JSONRequestDeserializer):
    def create(self, request):
        service.check_api_access(request.context)
        body = self.default(request).get("body")
        if not isinstance(body, dict):
            raise exception.Invalid(_("Body expected in request."))
        for key in ("type", "input"):
            if key not in body:
                raise exception.Invalid(_("Task '%s' is required") % key)
        validate_task_body(body)   # the import URI too, as Glance: first
        for key in READ_ONLY:
            if key in body:
                raise exception.Forbidden(
                    _("Attribute '%s' is read-only.") % key)
        return {"task": body}

    def index(self, request):
        service.check_api_access(request.context)
        params = request.params
        limit = list_params.parse_limit(params)
        sort_dir = params.get("sort_dir", "desc")
        if sort_dir not in ("asc", "desc"):
            raise exception.InvalidSortDir(
                _("Invalid sort direction: %s") % sort_dir)
        sort_key = params.get("sort_key", "created_at")
        if sort_key not in SORT_KEYS:
            raise exception.InvalidSortKey()
        filters = {}
        status = params.get("status")
        if status is not None:
            if status not in service.STATUSES:
                raise exception.Invalid(_("Invalid status value: %s")
                                        % status)
            filters["status"] = status
        task_type = params.get("type")
        if task_type is not None:
            if task_type not in service.TYPES:
                raise exception.Invalid(_("Invalid type value: %s")
                                        % task_type)
            filters["type"] = task_type
        marker = params.get("marker")
        if marker is not None and not uuidutils.is_uuid_like(marker):
            raise exception.Invalid(_("Invalid marker format"))
        return {"filters": filters, "marker": marker,
                "limit": limit, "sort_key": sort_key, "sort_dir": sort_dir}


def validate_task_body(body):
    """Check a new task against the task schema, then its input."""
    document = schemas.get_task_schema().raw()
    try:
        jsonschema.validate(body, document)
    except jsonschema.ValidationError as e:
        raise exception.InvalidObject(schema="task", reason=str(e)) from e
    if body["type"] == "import":
        from glance.async_.flows import legacy_import
        legacy_import.validate_input(body["input"])


def render_task(task, stub=False):
    """A task's document; ``stub``: as the list shows it (without input,
    result, message and the image, request and user ids)."""
    doc = {"id": task["id"], "type": task["type"],
           "status": task["status"], "owner": task["owner"],
           "created_at": image_views.format_time(task["created_at"]),
           "updated_at": image_views.format_time(task["updated_at"]),
           "self": "/v2/tasks/%s" % task["id"],
           "schema": "/v2/schemas/task"}
    if task.get("expires_at") is not None:
        doc["expires_at"] = image_views.format_time(task["expires_at"])
    if not stub:
        doc["image_id"] = task.get("image_id")
        doc["request_id"] = task.get("request_id")
        doc["user_id"] = task.get("user_id")
        doc["input"] = task.get("input")
        doc["result"] = task.get("result")
        doc["message"] = task.get("message") or ""
    return doc


def render_image_task(task):
    """A task as ``/v2/images/{id}/tasks`` shows it: Glance hands out the
    database row there (times in full ISO 8601 without a zone, the
    ``deleted`` columns, no links)."""
    doc = render_task(task)
    del doc["self"], doc["schema"]
    for key in ("created_at", "updated_at", "expires_at"):
        value = task.get(key)
        doc[key] = _isoformat(value)
    doc["deleted"] = bool(task.get("deleted", False))
    doc["deleted_at"] = _isoformat(task.get("deleted_at"))
    return doc


def _isoformat(value):
    return value.isoformat() if value is not None else None


class ResponseSerializer(wsgi.JSONResponseSerializer):
    def create(self, response, task):
        response.status_int = 201
        response.location = "/v2/tasks/%s" % task["id"]
        self.default(response, render_task(task))

    def show(self, response, task):
        self.default(response, render_task(task))

    def image_tasks(self, response, result):
        self.default(response, {"tasks": [render_image_task(t)
                                          for t in result["tasks"]]})

    def index(self, response, result):
        params = [(k, v) for k, v in response.request.params.items()
                  if k != "marker"]
        body = {"tasks": [render_task(t, stub=True)
                          for t in result["tasks"]],
                "first": _tasks_url(params),
                "schema": "/v2/schemas/tasks"}
        if result["next_marker"]:
            body["next"] = _tasks_url(params + [("marker",
                                                 result["next_marker"])])
        self.default(response, body)


def _tasks_url(params):
    if not params:
        return "/v2/tasks"
    return "/v2/tasks?%s" % urllib.parse.urlencode(params)


def create_resource():
    return wsgi.Resource(TasksController(), RequestDeserializer(),
                         ResponseSerializer())
