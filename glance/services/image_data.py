"""What the Images API does with image data: upload, stage, download, delete.

An upload reads top to bottom, one named step after the other: find the
image, authorize (``glance.policy``), claim it (``queued`` -> ``saving``
as one compare-and-set), quota (``glance.services.quota``: the Keystone
limits, then ``check_storage``'s limit for the bytes), write while
hashing and inspecting (``glance.store.write_image``), save: record the
location and make the image ``active`` (compare-and-set from ``saving``,
with the fields of ``glance.store.activation``, the import's too). If
anything fails the written data is deleted and the image goes back to
``queued``; it is never ``active`` without its data. A stage is the same
with ``glance.store.stage_image``, the one staging writer (the import's
downloads use it too).

A worker killed mid-upload leaves its image ``saving`` (or ``uploading``
for a stage that had not finished). While an upload streams it touches
the image's ``updated_at`` every quarter of ``saving_stall_timeout``; an
image left in that state for longer than ``saving_stall_timeout`` is
taken over by the next upload (or stage) attempt: it is put back to
``queued``, the leftover data is removed and the new upload proceeds.
An old upload that wakes up after such a takeover notices it at its next
heartbeat, ends without touching the new owner's data and answers 409.

That timeout is the fallback for a node that dies whole: each claim is
also recorded with the worker process holding it (``glance.common.
claims``), and when a glance-api worker dies its supervisor has the
claim released at once (:func:`release_abandoned`, through
``glance.services.recovery``).
"""
import datetime
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging

from glance import policy
from glance.common import claims
from glance.common import exception
from glance.common import utils
from glance.db import api as db
from glance.db import leases
from glance.domain import images as rules
from glance.i18n import _
from glance import notifier
from glance.services import discovery
from glance.services import forwarding
from glance.services import images
from glance.services import quota
from glance import store

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# a failed upload's give-back while the database is out of reach: how
# often it is retried, and for how long without a stall timeout
GIVE_BACK_INTERVAL = 2.0
GIVE_BACK_MAX_SECONDS = 300

image_data_opts = [
    cfg.IntOpt("saving_stall_timeout", default=300, min=0,
               help=_("Seconds after which an image stuck in 'saving' "
                      "(or in 'uploading' before its data was staged), "
                      "whose upload made no progress, is taken over by "
                      "the next upload attempt: the image goes back to "
                      "'queued' and the partial data is removed. Uploads "
                      "in progress refresh the image every quarter of "
                      "this time. 0 disables the takeover.")),
]

CONF.register_opts(image_data_opts)


def list_opts():
    return [(None, image_data_opts)]


class ImageGoneDuringUpload(exception.Gone):
    message = _("Image %(image_id)s could not be found after upload. The "
                "image may have been deleted during the upload, cleaning "
                "up the chunks uploaded.")


class ImageDataMissing(exception.Gone):
    message = _("The data of image %(image_id)s could not be found in its "
                "store.")


# --- claiming an image for new data ---

def _stalled(image, status):
    """Whether ``image`` is stuck in ``status`` by a dead upload (judged
    on the database's clock: the upload may be another node's)."""
    timeout = CONF.saving_stall_timeout
    if not timeout or image["status"] != status:
        return False
    if status == "uploading" and image["size"] is not None:
        return False  # staged and waiting for its import: not stuck
    updated = image["updated_at"] or image["created_at"]
    return leases.silent_for(updated) > datetime.timedelta(seconds=timeout)


def _take_over(image):
    """Put a stalled image back to ``queued`` after removing what its
    dead upload left behind; the image as it is now.

    The takeover is claimed first by one compare-and-set on the
    database's clock (still ``status``, still silent for
    ``saving_stall_timeout``): of several attempts, on any nodes, one
    wins; a heartbeat of the upload arriving first defeats them all.
    """
    status = image["status"]
    since = image["updated_at"]
    if not leases.take_over_image(image["id"], status,
                                  CONF.saving_stall_timeout,
                                  unsized=status == "uploading"):
        return db.image_get(image["id"])
    image = db.image_get(image["id"])
    reset = _reset(image, status)
    if reset is None:
        return db.image_get(image["id"])  # someone else moved it first
    LOG.warning("Image %(id)s was stuck in '%(status)s' since %(since)s; "
                "taking over its upload", {"id": image["id"],
                                           "status": status,
                                           "since": since})
    return reset


def _reset(image, status):
    """Remove what a dead upload (``saving``) or stage (``uploading``) of
    ``image`` left and put the image back to ``queued``; the image, or
    None if it was no longer ``status``."""
    if status == "uploading":
        store.delete_staged_data(image["id"])
    elif not image["locations"]:
        store.discard_leftover_data(image["id"])
    try:
        return db.image_update(image["id"], {"status": "queued"},
                               from_state=status)
    except exception.Conflict:
        return None


def release_abandoned(image_id, status):
    """Give back the image of an upload (``saving``) or stage
    (``uploading``) whose worker process died: its partial data is
    removed and it goes back to ``queued``. The image, or None if it
    had moved on (the upload ended, or the stage finished)."""
    try:
        image = db.image_get(image_id)
    except exception.NotFound:
        return None
    if image["status"] != status or (status == "uploading"
                                     and image["size"] is not None):
        return None
    image = _reset(image, status)
    if image is not None:
        LOG.warning("Image %(id)s: its %(what)s died with its worker "
                    "process; the image is back to 'queued'",
                    {"id": image_id, "what": "stage" if status ==
                     "uploading" else "upload"})
    return image


def _claim(image, target):
    """Move ``image`` from ``queued`` to ``target`` or raise (409/400)."""
    for stuck in ("saving", "uploading"):
        if _stalled(image, stuck):
            image = _take_over(image)
    current = image["status"]
    if target not in rules.TRANSITIONS.get(current, ()):
        raise exception.InvalidImageStatusTransition(cur_status=current,
                                                     new_status=target)
    if target == "saving":
        _check_formats_set(image)
    try:
        return db.image_update(image["id"], {"status": target},
                               from_state="queued")
    except exception.Conflict:
        now = db.image_get(image["id"])["status"]
        raise exception.InvalidImageStatusTransition(
            cur_status=now, new_status=target) from None


def _check_formats_set(image):
    missing = [key for key in ("disk_format", "container_format")
               if not image.get(key)]
    if len(missing) == 1:
        raise exception.BadRequest(
            _("Property %s must be set prior to saving data.")
            % missing[0])
    if missing:
        raise exception.BadRequest(
            _("Properties %s must be set prior to saving data.")
            % ", ".join(missing))


class Ownership(store.Heartbeat):
    """The upload's (or stage's) hold on its image, renewed while the
    data flows (``glance.store.Heartbeat``): it answers False when a
    later attempt took the image over.
    """

    def __init__(self, image, kind="upload"):
        timeout = CONF.saving_stall_timeout
        super().__init__(max(timeout / 4.0, 0.05) if timeout else 3600.0)
        self.image_id = image["id"]
        self.status = image["status"]
        self.timeout = timeout or None
        # the claim's first heartbeat, on the database's clock
        self.updated_at = leases.touch_image(self.image_id, self.status) \
            or image["updated_at"]
        self.claim = claims.hold(kind, self.image_id, self.status)

    def end(self):
        """The upload no longer holds its image (about to give it back,
        or done): forget the claim's record."""
        self.claim.end()

    def renew(self):
        """Touch the image; False if the upload no longer owns it.

        ImageGoneDuringUpload if the image was deleted or changed state.
        """
        if self.timeout and self.silent_for() > self.timeout:
            # We were silent long enough to have been taken over.
            image = self._get()
            if (image["status"] != self.status
                    or image["updated_at"] != self.updated_at):
                LOG.warning("Upload of image %s lost its image to a later "
                            "attempt", self.image_id)
                self.end()
                return False
        stamp = leases.touch_image(self.image_id, self.status)
        if stamp is None:
            raise ImageGoneDuringUpload(image_id=self.image_id)
        self.updated_at = stamp
        return True

    def check(self):
        """Whether the upload still owns its image, without touching it
        unless it was silent long enough to have been taken over."""
        if self.lost:
            return False
        if self.timeout and self.silent_for() > self.timeout:
            return self()
        return True

    def _get(self):
        try:
            return db.image_get(self.image_id)
        except exception.NotFound:
            raise ImageGoneDuringUpload(image_id=self.image_id) from None


def _release(ownership):
    """Give a failed upload's image back to ``queued`` (if still ours).

    With the database out of reach (the likely cause of the failure) the
    claim is kept and the image given back in the background once the
    database answers, so a retry need not wait for the stall timeout.
    """
    if ownership.lost:
        ownership.end()
        return
    try:
        db.image_update(ownership.image_id, {"status": "queued"},
                        from_state=ownership.status)
    except (exception.Conflict, exception.NotFound):
        LOG.info("Image %s was deleted or moved on during its failed "
                 "upload", ownership.image_id)
    except Exception as e:  # noqa: BLE001 - keep the original error
        if utils.database_unreachable(e):
            _give_back_later(ownership)
            return
        LOG.exception("Could not put image %s back to queued",
                      ownership.image_id)
    ownership.end()


def _give_back_later(ownership):
    LOG.warning("Image %s: the database is out of reach; it goes back to "
                "'queued' when the database answers", ownership.image_id)
    threading.Thread(target=_give_back, args=(ownership,),
                     name="give-back-%s" % ownership.image_id,
                     daemon=True).start()


def _give_back(ownership):
    """Retry giving the image back until the database answers, for as
    long as a stall takeover would take (which then does it instead)."""
    timeout = CONF.saving_stall_timeout or GIVE_BACK_MAX_SECONDS
    deadline = time.monotonic() + timeout
    margin = datetime.timedelta(seconds=min(1.0, timeout / 2.0))
    try:
        while time.monotonic() < deadline:
            time.sleep(GIVE_BACK_INTERVAL)
            try:
                done = leases.give_back_image(
                    ownership.image_id, ownership.status,
                    ownership.updated_at, margin)
            except Exception as e:  # noqa: BLE001 - retried or logged
                if utils.database_unreachable(e):
                    continue
                LOG.exception("Could not put image %s back to queued",
                              ownership.image_id)
                return
            LOG.warning("Image %(id)s %(what)s", {
                "id": ownership.image_id,
                "what": "is back to 'queued'" if done else
                "moved on while the database was out of reach"})
            return
    finally:
        ownership.end()


def _check_uploading(context, owner):
    """The ``image_count_uploading`` quota, checked once the claimed image
    counts itself (as Glance checks it); over it, the image goes back."""
    try:
        quota.check_uploading(context)
    except BaseException:
        _release(owner)
        raise


# --- upload ---

def upload(context, image_id, data, size=None, store_id=None):
    """Store ``data`` as ``image_id``'s data; the active image's dict.

    ``size`` is the announced Content-Length (None when chunked);
    ``store_id`` the store asked for (multi-store), else the default.
    """
    quota.check_size_total(context)
    store_id = store.resolve_store_id(store_id)
    image = images.find_image(context, image_id)
    policy.enforce_image_action(context, "upload_image", image)
    image = _claim(image, "saving")
    owner = Ownership(image)
    _check_uploading(context, owner)
    notifier.image_prepare(image, store_id)
    try:
        if not image["locations"]:
            store.discard_leftover_data(image_id, store_id)
        limit = quota.check_storage(image, size)
        result = store.write_image(context, image, data, size=size,
                                   store_id=store_id, heartbeat=owner,
                                   limit=limit)
    except BaseException:
        _release(owner)
        raise
    try:
        return notifier.image_uploaded(_activate(image, result, owner))
    finally:
        owner.end()


def _activate(image, result, owner):
    """Record the stored data and make the image active (compare-and-set
    from ``saving``); on failure the data and its record are removed."""
    location = {"url": result["url"], "metadata": result["metadata"]}
    values = store.activation(result)
    loc = None
    try:
        if not owner.check():
            raise store.UploadTakenOver(image_id=image["id"])
        try:
            loc = db.image_location_add(image["id"], result["url"],
                                        metadata=result["metadata"])
            return db.image_update(image["id"], values, from_state="saving")
        except (exception.Conflict, exception.NotFound):
            raise ImageGoneDuringUpload(image_id=image["id"]) from None
    except BaseException as e:
        if owner.lost:
            raise
        if loc is not None:
            _forget_location(loc)
        _drop_data(location, image["id"])
        if not isinstance(e, ImageGoneDuringUpload):
            _release(owner)
        raise


def _forget_location(loc):
    try:
        db.image_location_delete(loc["id"])
    except exception.NotFound:
        pass


def _drop_data(location, image_id):
    try:
        store.delete_image_data(location)
    except Exception:  # noqa: BLE001 - say what is left behind
        LOG.exception("Could not delete the data of image %(id)s at "
                      "%(url)s: it is orphaned", {"id": image_id,
                                                  "url": location["url"]})


# --- stage ---

def stage(context, image_id, data, size=None):
    """Stage ``data`` for a later ``glance-direct`` import.

    The image goes ``queued`` -> ``uploading`` and keeps that status with
    its ``size`` set; the staged data is checked as an upload is.
    """
    if "glance-direct" not in CONF.enabled_import_methods:
        raise exception.NotFound(
            _("'glance-direct' method is not available at this site."))
    quota.check_stage_total(context)
    image = images.find_image(context, image_id)
    policy.enforce_image_action(context, "modify_image", image)
    image = _claim(image, "uploading")
    owner = Ownership(image, kind="stage")
    _check_uploading(context, owner)
    try:
        limit = quota.check_storage(image, size)
        result = store.stage_image(context, image, data, size=size,
                                   heartbeat=owner, limit=limit)
    except BaseException:
        _release(owner)
        raise
    try:
        return notifier.image_updated(_staged(image_id, result, owner))
    finally:
        owner.end()


def _staged(image_id, result, owner):
    """Record the staged data's size (the image stays ``uploading``);
    on failure the staged data is removed and the image given back."""
    values = {"size": result["size"]}
    host = forwarding.self_url()
    if host:   # this node holds the staged data
        values["properties"] = {forwarding.STAGE_HOST: host}
    try:
        if not owner.check():
            raise store.UploadTakenOver(image_id=image_id)
        try:
            return db.image_update(image_id, values, from_state="uploading")
        except (exception.Conflict, exception.NotFound):
            raise ImageGoneDuringUpload(image_id=image_id) from None
    except BaseException as e:
        if owner.lost:
            raise
        store.delete_staged_data(image_id)
        if not isinstance(e, ImageGoneDuringUpload):
            _release(owner)
        raise


# --- download ---

class ImageData:
    """What a download answers: ``chunks`` (None: no data, 204), the
    ``length`` of the body, ``content_range`` ``(first, last, total)`` for
    a partial answer, and the image's ``checksum``."""

    def __init__(self, chunks=None, length=0, content_range=None,
                 checksum=None):
        self.chunks = chunks
        self.length = length
        self.content_range = content_range
        self.checksum = checksum


def download(context, image_id, byte_range=None, cache=None):
    """The data of ``image_id``, or the part ``byte_range`` names.

    ``byte_range`` is ``(first, last)`` as the Range header gives it:
    ``last`` None means to the end, ``first`` None means the last
    ``last`` bytes. ``cache`` is the node's ImageCache when the caching
    filter is in the pipeline: an active image in it is read from there,
    a whole image read from a store fills it.
    """
    image = images.find_image(context, image_id)
    policy.enforce_image_action(context, "download_image", image)
    if image["status"] == "deactivated" and not context.is_admin:
        raise exception.Forbidden(
            _("The requested image has been deactivated. Image data "
              "download is forbidden."))
    cached = cache is not None and image["status"] == "active" and \
        cache.is_cached(image_id)
    # the heaviest store first, as Glance reads a multi-store image
    locations = discovery.sort_locations(
        loc for loc in image["locations"]
        if loc.get("status", "active") == "active")
    if not locations and not cached:
        return ImageData()
    size = image["size"] or 0
    offset, length, content_range = 0, None, None
    if byte_range is not None:
        first, last = resolve_range(byte_range, size)
        offset, length = first, last - first + 1
        content_range = (first, last, size)
    found = _read(image, locations, offset, length, cache, cached)
    if found is None:
        return ImageData()
    chunks, got = found
    chunks = notifier.image_send(context, image, chunks, got)
    if content_range is not None:
        return ImageData(chunks, got, content_range=content_range)
    return ImageData(chunks, got, checksum=image["checksum"])


def _read(image, locations, offset, length, cache, cached):
    """``(chunks, length)`` from the node's cache (when ``cached``) or
    the first store that has the data, None when there is none; a whole
    image read from a store fills the cache."""
    if cached:
        found = cache.read_image(image, offset, length)
        if found is not None:
            return found
    if not locations:
        return None
    chunks, got = _read_store(image, locations, offset, length)
    if cache is not None and offset == 0 and length is None:
        chunks = cache.fill(image, chunks, got)
    return chunks, got


def resolve_range(byte_range, size):
    """``(first, last)`` byte positions of ``byte_range`` in ``size``
    bytes, or RequestedRangeNotSatisfiable (416)."""
    first, last = byte_range
    if first is None:
        if not last or not size:
            raise exception.RequestedRangeNotSatisfiable(
                _("The requested range is not satisfiable."))
        return max(size - last, 0), size - 1
    if first >= size:
        raise exception.RequestedRangeNotSatisfiable(
            _("Invalid start position in Range header. Start position "
              "MUST be in the inclusive range [0, %d].") % (size - 1))
    if last is None or last >= size:
        last = size - 1
    return first, last


def _read_store(image, locations, offset, length):
    """Open the first location whose store has the data."""
    for loc in locations:
        try:
            chunks, got = store.read_image(loc, offset=offset,
                                           length=length,
                                           image_size=image["size"])
        except store.DataNotFound:
            LOG.error("Image %(id)s is %(status)s but its data is missing "
                      "at %(url)s", {"id": image["id"],
                                     "status": image["status"],
                                     "url": loc["url"]})
            continue
        except store.StoreUnavailable as e:
            LOG.error("Cannot read image %(id)s from %(url)s: %(err)s",
                      {"id": image["id"], "url": loc["url"], "err": e})
            continue
        return chunks, got
    raise ImageDataMissing(image_id=image["id"])
