"""``POST /v2/images/{id}/import``: check the request, lock, start the task.

Reads top to bottom as Glance's import call behaves:

1. find the image (404), authorize (``copy_image`` for copy-image,
   else ``modify_image``);
2. an existing import lock (``os_glance_import_task``) is honoured
   unless its task is finished, gone, or made no progress for
   ``[task] import_lock_timeout`` seconds (a dead worker, judged on the
   database's clock, as the task may run on another node): then the
   lock is taken over, the old task fails and the image is put back;
   then the image's status must fit the method (409);
3. resolve the target stores (``stores``, ``all_stores``, the
   ``X-Image-Meta-Store`` header, else the default store); a
   glance-direct import of data staged on another node is sent there
   (``glance.services.forwarding``), with the caller's identity;
4. filter the web-download URI, its host resolved and every address
   checked (400, also when the host does not resolve); a glance-download
   request must name the remote region and image (400; see
   ``glance.async_.flows.glance_download``);
5. create the ``api_image_import`` task, take the lock together with
   the status move (``uploading``/``queued`` -> ``importing`` as one
   compare-and-set; copy-image keeps ``active``), record
   ``os_glance_importing_to_stores`` and start the task.

The task runs in the worker process that took the lock, which records
the lock as its claim (``glance.common.claims``) until the task ends: if
that worker dies, its supervisor releases the lock at once
(:func:`release_lock`) instead of waiting for ``import_lock_timeout``.
"""
import datetime
import os

from oslo_config import cfg
from oslo_log import log as logging

from glance import policy
from glance.async_.flows import api_image_import as flow
from glance.async_.flows import glance_download
from glance.async_.flows import web_download
from glance.common import claims
from glance.common import exception
from glance.db import api as db
from glance.db import leases
from glance.i18n import _
from glance.services import discovery
from glance.services import forwarding
from glance.services import images
from glance.services import quota
from glance.services import tasks
from glance import task_records
from glance import store

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

FROM_STATUS = {"glance-direct": "uploading", "web-download": "queued",
               "glance-download": "queued", "copy-image": "active"}
STALE_LOCK = _("Expired lock preempted")
DEAD_WORKER = _("The worker process running the import died")


def validate_body(body):
    """The import request's shape (400), before anything is looked up."""
    if not isinstance(body, dict):
        raise exception.Invalid(_("Import request requires a 'method' "
                                  "field."))
    method = body.get("method")
    if not isinstance(method, dict):
        raise exception.Invalid(_("Import request requires a 'method' "
                                  "field."))
    name = method.get("name")
    if name is None:
        raise exception.Invalid(_("Import request requires a 'name' "
                                  "field."))
    if name not in CONF.enabled_import_methods:
        raise exception.Invalid(_("Unknown import method name '%s'.")
                                % name)
    for key in ("all_stores", "all_stores_must_succeed"):
        if key in body and not isinstance(body[key], bool):
            raise exception.Invalid(_("'%s' must be a boolean.") % key)
    stores = body.get("stores")
    if stores is not None and (not isinstance(stores, list) or not all(
            isinstance(s, str) for s in stores)):
        raise exception.Invalid(_("'stores' must be a list of store "
                                  "identifiers."))


def import_image(context, image_id, body, store_header=None):
    """Start importing data into ``image_id``; the task's id."""
    validate_body(body)
    method = body["method"]["name"]
    uri = body["method"].get("uri")
    quota.check_size_total(context)
    image = images.find_image(context, image_id)
    if method == "copy-image":
        policy.enforce_image_action(context, "copy_image", image)
    else:
        policy.enforce_image_action(context, "modify_image", image)
    stolen = _check_lock(image)
    if stolen:
        image = _undo_stale(image, stolen, STALE_LOCK)
    _check_status(image, method)
    if method == "glance-download":
        glance_download.check_request(body["method"])   # 400s
    stores = _stores(image, body, store_header, method)
    if not stores:
        return None  # copy-image to all stores: already everywhere
    if not body.get("all_stores_must_succeed", True) and \
            not store.multi_store():
        raise exception.Invalid(_("All_stores_must_succeed can only be set "
                                  "with enabled_backends %s") % uri)
    if method == "glance-direct" and forwarding.import_elsewhere(
            context, image, body, store_header):
        return None  # staged on another node, which imports it
    if method == "web-download" and not \
            web_download.validate_import_uri(uri):
        raise exception.Invalid(_("URI for web-download does not pass "
                                  "filtering: %s") % uri)
    task_input = {"image_id": image_id, "import_req": body,
                  "backend": stores}
    task = task_records.create(context, "api_image_import", task_input,
                               image_id=image_id)
    try:
        _lock(image, task["id"], method, stores)
    except BaseException as e:
        task_records.fail(task["id"], str(e))
        raise
    if not _within_quota(context, image, task["id"], method):
        return task["id"]   # a failed task, as Glance's import answers
    claim = claims.hold("import", image_id, task["id"])
    admin = context.elevated() if method == "copy-image" else None
    try:
        future = tasks.begin(context, task["id"], admin_context=admin)
    except BaseException:
        claim.end()
        raise
    _end_with(future, claim)
    return task["id"]


def _within_quota(context, image, task_id, method):
    """Glance's quota checks once the import holds its lock (they count
    the image itself); over a limit the task fails with the reason, the
    lock is released and the image put back (:func:`_undo_stale`)."""
    try:
        quota.check_import_started(context, method, image["size"])
    except exception.LimitExceeded as e:
        _undo_stale(db.image_get(image["id"]), task_id, str(e))
        return False
    return True


def _end_with(future, claim):
    """End ``claim`` when the task's ``future`` is done."""
    add_done_callback = getattr(future, "add_done_callback", None)
    if add_done_callback is None:
        claim.end()   # not a future: the task ran already
    else:
        add_done_callback(lambda _future: claim.end())


def _check_status(image, method):
    status = image["status"]
    if status == "active" and method != "copy-image":
        raise exception.Conflict(_("Image with status active cannot be "
                                   "target for import"))
    if status != "active" and method == "copy-image":
        raise exception.Conflict(_("Only images with status active can be "
                                   "targeted for copying"))
    if status != "queued" and method in ("web-download", "glance-download"):
        raise exception.Conflict(_("Image needs to be in 'queued' state to "
                                   "use '%s' method") % method)
    if status != "uploading" and method == "glance-direct":
        raise exception.Conflict(_("Image needs to be staged before "
                                   "'glance-direct' method can be used"))
    if not image.get("container_format"):
        raise exception.Conflict(_("'container_format' needs to be set "
                                   "before import"))
    if not image.get("disk_format"):
        raise exception.Conflict(_("'disk_format' needs to be set before "
                                   "import"))


# --- the import lock ---

def _busy_message(image_id):
    # Glance's words (the image id is in the URL already)
    return _("Image has active task")


def _check_lock(image):
    """The id of a stale lock's task to take over, None if unlocked;
    Conflict while another import is alive."""
    holder = image["properties"].get(flow.LOCK)
    if not holder:
        return None
    try:
        task = db.task_get(holder)
    except exception.NotFound:
        LOG.warning("Image %s is locked by task %s, which does not exist: "
                    "taking the lock over", image["id"], holder)
        return holder
    if task["status"] in task_records.FINISHED:
        return holder
    # the database's clock, not this node's: the task may run elsewhere
    timeout = CONF.task.import_lock_timeout
    age = leases.silent_for(task["updated_at"] or task["created_at"])
    if age < datetime.timedelta(seconds=timeout) or \
            not leases.take_over_task(holder, timeout):
        raise exception.Conflict(_busy_message(image["id"]))
    LOG.warning("Import task %(task)s of image %(image)s made no progress "
                "for %(age)s: taking its lock over",
                {"task": holder, "image": image["id"], "age": age})
    return holder


def _staged_exists(image_id):
    try:
        return os.path.exists(store.staging_path(image_id))
    except exception.Invalid:
        return False


def _lock(image, task_id, method, stores):
    """Take the lock with the status move, as one compare-and-set."""
    current = image["status"]
    values = {}
    props = dict(image["properties"])
    props[flow.LOCK] = task_id
    if store.multi_store():
        props[flow.IMPORTING] = ",".join(s for s in stores if s)
        props.setdefault(flow.FAILED, "")
        if method != "copy-image":
            props[flow.FAILED] = ""
    if method != "copy-image":
        values["status"] = "importing"
    values["properties"] = props
    try:
        # the lock is taken only if no one took it meanwhile (a copy
        # moves no status that would tell)
        db.image_update(image["id"], values, from_state=current,
                        expected_props={flow.LOCK: None})
    except exception.Conflict:
        raise exception.Conflict(_busy_message(image["id"])) from None


def release_lock(image_id, task_id, reason):
    """Release the import lock held by task ``task_id``, whose worker
    process died (see :func:`_undo_stale`); the image as it is then, or
    None if the lock is no longer that task's (it ended, or was taken
    over)."""
    try:
        image = db.image_get(image_id)
    except exception.NotFound:
        image = None
    if image is None or image["properties"].get(flow.LOCK) != task_id:
        _fail_task(task_id, reason)
        return None
    image = _undo_stale(image, task_id, reason)
    LOG.warning("Image %(image)s: import task %(task)s died with its "
                "worker process; the lock is released and the image is "
                "%(status)s", {"image": image_id, "task": task_id,
                               "status": image["status"]})
    return image


def _fail_task(task_id, reason):
    """Fail task ``task_id`` unless it ended; its import method."""
    try:
        task = db.task_get(task_id)
        if task["status"] not in task_records.FINISHED:
            task_records.fail(task_id, reason)
    except exception.NotFound:
        return None
    return (((task["input"] or {}).get("import_req") or {})
            .get("method") or {}).get("name")


def _undo_stale(image, stolen, reason):
    """Take the lock of a dead import over; the image as it is now.

    The dead import's task fails (with ``reason``). The data it was
    writing is removed: an image it left ``importing`` loses the
    locations the import added and their data, and the partial files in
    the stores it was importing to go. The image goes back to
    ``uploading`` when it was a glance-direct import whose staged data
    is still there (or on another node: its stage host), else to
    ``queued`` (a half-downloaded staging file is removed).
    """
    method = _fail_task(stolen, reason)
    # the image as it is now: ``image`` may have been read before the
    # task's last location, recorded before it ended, whose data stays
    image = db.image_get(image["id"])
    if image["properties"].get(flow.LOCK) != stolen:
        return image    # its holder let go meanwhile: nothing to undo
    _discard_partial_data(image)
    values = {}
    props = dict(image["properties"])
    props.pop(flow.LOCK, None)
    if flow.IMPORTING in props:
        props[flow.IMPORTING] = ""
    if image["status"] == "importing":
        if method == "glance-direct" and (
                _staged_exists(image["id"])
                or forwarding.stage_host(image)):
            # staged here, or on the node that staged it (an import sent
            # there finds out whether it still has the data)
            values["status"] = "uploading"
        else:
            store.delete_staged_data(image["id"])
            props.pop(forwarding.STAGE_HOST, None)
            values["status"] = "queued"
            values["size"] = None
    values["properties"] = props
    try:
        return db.image_update(image["id"], values, purge_props=True,
                               from_state=image["status"])
    except exception.Conflict:
        raise exception.Conflict(_busy_message(image["id"])) from None


def _discard_partial_data(image):
    """The data a dead import of ``image`` wrote: all of it while the
    image is ``importing`` (its locations are the import's), else the
    partial files of the stores still being imported to."""
    if image["status"] == "importing":
        for loc in image["locations"]:
            try:
                store.delete_image_data(loc)
                db.image_location_delete(loc["id"])
            except exception.NotFound:
                pass
            except Exception:  # noqa: BLE001 - say what is orphaned
                LOG.exception("Could not delete the data of image %s at "
                              "%s", image["id"], loc["url"])
        store.discard_leftover_data(image["id"])
        return
    done = {(loc.get("metadata") or {}).get("store")
            for loc in image["locations"]}
    pending = (image["properties"].get(flow.IMPORTING) or "").split(",")
    for store_id in pending:
        if store_id and store_id not in done:
            store.discard_leftover_data(image["id"], store_id)


# --- stores ---

def _stores(image, body, header, method):
    """The stores to import to ([None]: single store)."""
    if not store.multi_store():
        return [None]
    all_stores = body.get("all_stores", False)
    stores = body.get("stores")
    if all_stores and (stores or header):
        raise exception.Invalid(_("All_stores parameter can't be used with "
                                  "x-image-meta-store header or stores "
                                  "parameter"))
    if all_stores:
        stores = discovery.writable_backends()
    elif stores is None:
        stores = [header] if header else [
            discovery.default_backend()]
    for store_id in stores:
        if store_id not in discovery.enabled_backends():
            raise exception.Conflict(_("Store for identifier %s not found")
                                     % store_id)
    present = [(loc.get("metadata") or {}).get("store")
               for loc in image["locations"]]
    if method == "copy-image":
        if all_stores:
            return [s for s in stores if s not in present]
        for store_id in stores:
            if store_id in present:
                raise exception.Invalid(_("Image is already present at "
                                          "store '%s'") % store_id)
    return list(dict.fromkeys(stores))
