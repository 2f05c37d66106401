"""The ``api_image_import`` task: glance-direct, web-download,
glance-download, copy-image.

The API (``glance.services.image_import``) has already checked the
request, taken the image's import lock (``os_glance_import_task`` = this
task), listed the target stores in ``os_glance_importing_to_stores`` and,
for glance-direct and web-download, moved the image to ``importing``.
This module does the rest, top to bottom:

1. get the data into the staging area: it is there already (glance-
   direct), or is downloaded (web-download: filtered URI, redirects
   re-checked, size cap and quota while streaming; glance-download: the
   same from another region's Glance, after taking that image's formats
   and listed properties, see ``glance_download``); copy-image reads the
   image's existing data instead;
2. run the configured import plugins on the staged file;
3. write it to each store with ``glance.store.write_image`` (hashing,
   format inspection, limits: the guarantees of a direct upload),
   recording each location and moving the store from
   ``os_glance_importing_to_stores`` to done (or to
   ``os_glance_failed_import``); data the format inspection refuses (a
   format mismatch, an unsafe image) fails the whole import, since no
   store would take it;
4. make the image ``active`` with the size and hashes of the data (after
   the first store when ``all_stores_must_succeed`` is false, after the
   last otherwise), releasing the lock in the same update when no store
   is left (a client that sees ``active`` may copy the image at once),
   then delete the staged data.

On failure the data written by this import is deleted, the image goes
back to ``queued`` (copy-image leaves it ``active``), the staged data is
removed and the lock released; the task fails with the reason.

Every step first checks the lock is still this task's: an import whose
lock was taken over (its worker was thought dead) stops without
touching the image.
"""
import os

from oslo_config import cfg
from oslo_log import log as logging

from glance.async_.flows import glance_download
from glance.async_.flows import plugins
from glance.async_.flows import web_download
from glance.common import exception
from glance.db import api as db
from glance.db import leases
from glance.db import storage_quota
from glance.i18n import _
from glance import notifier
from glance import store

LOG = logging.getLogger(__name__)
MiB = 1024 * 1024
CONF = cfg.CONF

LOCK = "os_glance_import_task"
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"
STAGE_HOST = "os_glance_stage_host"


class LockLost(exception.Conflict):
    message = _("The import lock of image %(image_id)s was taken over by "
                "another import.")


class ImportFailed(exception.GlanceException):
    message = _("Import of image %(image_id)s failed: %(reason)s")


def _split(value):
    return [s for s in (value or "").split(",") if s]


class Import(store.Heartbeat):
    """The state of one running import (one task, one image), and its
    hold on the image while data flows (``glance.store.Heartbeat``:
    the task refreshed, the image's lock still this task's)."""

    def __init__(self, context, task):
        timeout = CONF.task.import_lock_timeout
        super().__init__(max(min(timeout / 4.0, 10.0), 0.05))
        task_input = task["input"] or {}
        self.context = context
        self.task_id = task["id"]
        self.image_id = task_input.get("image_id")
        request = task_input.get("import_req") or {}
        method = request.get("method") or {}
        self.method = method.get("name")
        self.uri = method.get("uri")
        self.params = method
        self.stores = list(task_input.get("backend") or [None])
        self.all_must_succeed = request.get("all_stores_must_succeed",
                                            True)
        self.written = []   # locations added by this import
        self.stage_url = None
        self.activated = False
        self.released = False   # the lock went with the activation
        self.undo = None   # glance-download: (values, props, added)

    # --- the lock ---

    def image(self):
        """The image, if this import still holds its lock."""
        try:
            image = db.image_get(self.image_id)
        except (exception.NotFound, exception.Invalid):
            raise ImportFailed(image_id=self.image_id,
                               reason=_("the image was not found")) from None
        if image["properties"].get(LOCK) != self.task_id:
            raise LockLost(image_id=self.image_id)
        return image

    def renew(self):
        """Heartbeat of the data writes: refresh the task, keep the
        lock; False when the lock is gone."""
        try:
            self.touch()
            self.image()
        except (LockLost, ImportFailed, exception.NotFound):
            return False
        return True

    def touch(self):
        """Refresh the task's ``updated_at`` on the database's clock, by
        which any node judges whether this import is alive."""
        if not leases.touch_task(self.task_id):
            raise exception.NotFound()

    def update(self, values=None, props=None, from_state=None,
               remove=()):
        """Change the image (still ours) and its properties."""
        image = self.image()
        values = dict(values or {})
        if props or remove:
            merged = dict(image["properties"])
            merged.update(props or {})
            for key in remove:
                merged.pop(key, None)
            values["properties"] = merged
        try:
            return db.image_update(self.image_id, values,
                                   purge_props=bool(remove),
                                   from_state=from_state)
        except exception.Conflict:
            raise ImportFailed(image_id=self.image_id, reason=_(
                "the image changed status during the import")) from None

    def release(self, values=None, from_state=None):
        """The last change of the image: ``values`` and the lock's
        release in one update, so a client that sees the result (an
        active image) may start the next import at once."""
        image = self.update(values, props={IMPORTING: ""},
                            from_state=from_state,
                            remove=(LOCK, STAGE_HOST))
        self.released = True
        return image

    def store_done(self, store_id, ok):
        image = self.image()
        importing = [s for s in _split(image["properties"].get(IMPORTING))
                     if s != store_id]
        props = {IMPORTING: ",".join(importing)}
        if not ok and store_id:
            failed = _split(image["properties"].get(FAILED))
            if store_id not in failed:
                failed.append(store_id)
            props[FAILED] = ",".join(failed)
        return self.update(props=props)


def run(context, task, executor=None):
    """Run the import of ``task``; its result (``{"image_id": ...}``)."""
    work = Import(context, task)
    if not work.image_id:
        raise ImportFailed(image_id=None, reason=_("no image_id in input"))
    work.touch()
    try:
        image = work.image()
        if work.method == "copy-image":
            _copy(work, image)
        else:
            _import(work, image)
    except LockLost:
        LOG.warning("Import task %s lost the lock of image %s; stopping",
                    work.task_id, work.image_id)
        raise
    except BaseException as e:
        _revert(work, e)
        raise
    _finish(work)
    return {"image_id": work.image_id}


# --- glance-direct and web-download ---

def _import(work, image):
    if image["status"] != "importing":
        raise ImportFailed(image_id=work.image_id, reason=_(
            "the image is %s, not importing") % image["status"])
    if work.method == "web-download":
        _download(work, image)
    elif work.method == "glance-download":
        _glance_download(work, image)
    work.stage_url = "file://" + store.staging_path(work.image_id)
    path = store.staging_path(work.image_id)
    if not os.path.exists(path):
        raise ImportFailed(image_id=work.image_id,
                           reason=_("no staged data found"))
    image = plugins.run_all(work.context, work.image(), path)
    for index, store_id in enumerate(work.stores, 1):
        last = index == len(work.stores)
        activate = (not work.all_must_succeed) or last
        _to_store(work, image, store_id, path, activate, last)
    if not work.activated:
        raise ImportFailed(image_id=work.image_id,
                           reason=_("no store accepted the image data"))


def _download(work, image):
    """Fetch ``work.uri`` into the staging area, within the limits."""
    if not web_download.validate_import_uri(work.uri):
        raise ImportFailed(image_id=work.image_id, reason=_(
            "URI for web-download does not pass filtering: %s") % work.uri)
    body, length = web_download.open_uri(work.uri)
    try:
        _stage(work.context, image, body, length, heartbeat=work)
    finally:
        body.close()
    _staged_here(work)


def _staged_here(work):
    # this node holds the staged data (glance.services.forwarding)
    host = CONF.worker_self_reference_url or CONF.public_endpoint
    work.update(props={STAGE_HOST: host} if host else None)


def _glance_download(work, image):
    """The remote image's formats and listed properties, then its data
    into the staging area (``glance_download`` says which); a failure
    puts back what was taken (``work.undo``, see :func:`_revert`)."""
    record = glance_download.remote_image(work.context, work.params)
    values, props, work.undo = glance_download.changes(record, image)
    image = work.update(values, props=props)
    # over the cap or the quota: not fetched
    storage_quota.upload_limit(image, record["size"])
    body, length = glance_download.open_data(work.context, work.params)
    try:
        size = _stage(work.context, image, body, length, heartbeat=work)
    finally:
        body.close()
    if size != record["size"]:
        raise ImportFailed(image_id=work.image_id, reason=_(
            "downloaded data size %(got)i is different from expected "
            "%(want)i") % {"got": size, "want": record["size"]})
    _staged_here(work)


def _stage(context, image, data, size=None, heartbeat=None):
    """Write ``data`` to ``image``'s staging file within the size cap and
    quota, without format inspection (plugins may still change the
    format; the store write inspects the final data): the one staging
    writer, ``glance.store.stage_image``. The bytes staged."""
    limit = storage_quota.upload_limit(image, size)
    try:
        result = store.stage_image(context, image, data, size=size,
                                   heartbeat=heartbeat, limit=limit,
                                   inspect=False)
    except store.UploadTakenOver:
        raise LockLost(image_id=image["id"]) from None
    return result["size"]


def _to_store(work, image, store_id, path, activate, last):
    """Write the staged file to one store; record it; maybe activate
    (with the lock's release when no store is left)."""
    notifier.image_prepare(image, store_id)
    try:
        size = os.path.getsize(path)
        limit = storage_quota.upload_limit(image, size)
        with open(path, "rb") as data:
            result = store.write_image(work.context, image, data,
                                       size=size, store_id=store_id,
                                       heartbeat=work, limit=limit)
    except (LockLost, store.UploadTakenOver):
        raise LockLost(image_id=work.image_id) from None
    except store.InvalidImageData as e:
        _refused(work, store_id, e)
    except Exception as e:  # noqa: BLE001 - judged per store
        LOG.warning("Import of image %(id)s to store %(store)s failed: "
                    "%(err)s", {"id": work.image_id, "store": store_id,
                                "err": e})
        work.store_done(store_id, ok=False)
        if work.all_must_succeed:
            raise ImportFailed(image_id=work.image_id, reason=_(
                "store %(store)s: %(err)s") % {"store": store_id or
                                                "default", "err": e}) from e
        return
    _record(work, result)
    done = work.store_done(store_id, ok=True)
    if not activate or work.activated:
        notifier.image_uploaded(done, activated=False)
    else:
        _check_formats_unchanged(work, image)
        values = store.activation(result)
        values.update(disk_format=image["disk_format"],
                      container_format=image["container_format"])
        if last:
            done = work.release(values, from_state="importing")
        else:
            done = work.update(values, from_state="importing")
        work.activated = True
        notifier.image_uploaded(done)  # image.upload, image.activate


def _check_formats_unchanged(work, image):
    """The data was inspected as ``image``'s disk and container formats:
    an image whose formats changed meanwhile (a PATCH while importing)
    is not activated; the formats written with ``active`` are those the
    data was checked as, so a change racing this one is undone."""
    current = work.image()
    changed = [key for key in ("disk_format", "container_format")
               if current.get(key) != image.get(key)]
    if changed:
        raise ImportFailed(image_id=work.image_id, reason=_(
            "%(keys)s changed during the import; the data was checked as "
            "disk_format %(disk)s, container_format %(container)s") % {
                "keys": " and ".join(changed),
                "disk": image.get("disk_format"),
                "container": image.get("container_format")})


def _refused(work, store_id, error):
    """The format inspection refused the data (a format mismatch, an
    unsafe image): no store would take it, the import fails whatever
    ``all_stores_must_succeed`` says."""
    LOG.warning("Import of image %(id)s refused: %(err)s",
                {"id": work.image_id, "err": error})
    work.store_done(store_id, ok=False)
    raise ImportFailed(image_id=work.image_id, reason=str(error)) from error


def _record(work, result):
    try:
        work.image()
        loc = db.image_location_add(work.image_id, result["url"],
                                    metadata=result["metadata"])
    except BaseException:
        _drop({"url": result["url"], "metadata": result["metadata"]})
        raise
    work.written.append(loc)
    # the task says how much went in, as Glance's does
    db.task_update(work.task_id, {"message": _("Copied %i MiB")
                                  % ((result.get("size") or 0) // MiB)})


# --- copy-image ---

def _copy(work, image):
    if image["status"] != "active":
        raise ImportFailed(image_id=work.image_id, reason=_(
            "only active images can be copied"))
    sources = [loc for loc in image["locations"]
               if loc.get("status", "active") == "active"]
    if not sources:
        raise ImportFailed(image_id=work.image_id,
                           reason=_("the image has no data to copy"))
    copied = 0
    for store_id in work.stores:
        if _copy_to(work, image, sources, store_id):
            copied += 1
    if not copied and work.stores:
        raise ImportFailed(image_id=work.image_id,
                           reason=_("the image could not be copied to any "
                                    "store"))


def _copy_to(work, image, sources, store_id):
    error = None
    if store_id in _stores_of(sources):
        # an earlier copy, whose lock this one waited for, did it
        LOG.info("Image %(id)s is in store %(store)s already",
                 {"id": work.image_id, "store": store_id})
        work.store_done(store_id, ok=True)
        return True
    notifier.image_prepare(image, store_id)
    for source in sources:
        try:
            chunks, size = store.read_image(source, image_size=image["size"],
                                            context=work.context)
            limit = storage_quota.upload_limit(image, size)
            result = store.write_image(work.context, image, chunks,
                                       size=size, store_id=store_id,
                                       heartbeat=work, limit=limit)
        except (LockLost, store.UploadTakenOver):
            raise LockLost(image_id=work.image_id) from None
        except store.InvalidImageData as e:
            _refused(work, store_id, e)
        except Exception as e:  # noqa: BLE001 - try the next source
            error = e
            continue
        _record(work, result)
        notifier.image_uploaded(work.store_done(store_id, ok=True),
                                activated=False)
        return True
    LOG.warning("Copy of image %(id)s to store %(store)s failed: %(err)s",
                {"id": work.image_id, "store": store_id, "err": error})
    work.store_done(store_id, ok=False)
    if work.all_must_succeed:
        raise ImportFailed(image_id=work.image_id, reason=_(
            "store %(store)s: %(err)s") % {"store": store_id,
                                           "err": error}) from error
    return False


def _stores_of(locations):
    return {(loc.get("metadata") or {}).get("store") for loc in locations}


# --- the end ---

def _finish(work):
    image = None
    if not work.released:
        image = work.release()
    store.delete_staged_data(work.image_id)
    if image is None:
        try:
            image = db.image_get(work.image_id)
        except exception.NotFound:       # deleted once active: fine
            return
    notifier.image_updated(image)


def _drop(location):
    try:
        store.delete_image_data(location)
    except Exception:  # noqa: BLE001 - say what is left behind
        LOG.exception("Could not delete image data at %s: it is orphaned",
                      location["url"])


def _forget(work):
    """Delete the data this import wrote, and its location records."""
    for loc in work.written:
        _drop(loc)
        try:
            db.image_location_delete(loc["id"])
        except exception.NotFound:
            pass
    work.written = []


def _revert(work, error):
    """Undo a failed import as far as it is still ours to undo.

    glance-direct and web-download: the data written is deleted (unless
    the image already went active without needing every store) and the
    image goes back to ``queued``; copy-image keeps its image active and
    the copies that worked. The staged data goes in every case; stores
    not done are added to ``os_glance_failed_import``.
    """
    LOG.info("Reverting import task %s of image %s: %s", work.task_id,
             work.image_id, error)
    keep = work.method == "copy-image" or (work.activated
                                           and not work.all_must_succeed)
    if work.method != "copy-image":
        store.delete_staged_data(work.image_id)
    try:
        image = work.image()
    except LockLost:
        return
    except ImportFailed:                      # the image was deleted
        _forget(work)
        return
    if not keep:
        _forget(work)
    failed = _split(image["properties"].get(FAILED))
    for store_id in _split(image["properties"].get(IMPORTING)):
        if store_id not in failed:
            failed.append(store_id)
    props = {IMPORTING: "", FAILED: ",".join(failed)}
    values = {}
    if not keep and image["status"] in ("importing", "active"):
        values = dict.fromkeys(store.DATA_FIELDS, None)
        values["status"] = "queued"
    remove = (LOCK, STAGE_HOST)
    if work.undo and not keep:        # glance-download's changes
        values.update(work.undo[0])
        props.update(work.undo[1])
        remove += work.undo[2]
    try:
        work.update(values, props=props, from_state=image["status"],
                    remove=remove)
    except (LockLost, ImportFailed):
        LOG.warning("Could not revert image %s after its failed import",
                    work.image_id)
