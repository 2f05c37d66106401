"""Image locations (API 2.17): add an http(s) location to a queued image,
list an image's locations.

Adding a location reads top to bottom: find the image, authorize
(``add_image_location``: service users or the owner project's members),
check it is ``queued``, the URL, the validation data and the quotas, ask
the http store for the size of the data (a HEAD), then claim the image
(``queued`` -> ``importing``, compare-and-set) and record the location as
``pending``, under a ``location_import`` task as Glance records one (see
``/v2/images/{id}/tasks``). The caller gets 202 at once; in the
background the data is read through glance_store's http driver and
hashed (md5 and the multihash, one pass), compared with the
``validation_data`` given, and
the image becomes ``active`` with its size and hashes. With
``do_secure_hash = False`` the validation data's hashes are taken as they
are (and the image is active at once). If anything fails the location is
forgotten and the image goes back to ``queued``.

Only http(s) URLs served by the http store are accepted: the http store
is read-only, so its data is never written nor deleted by Glance.
"""
import hashlib
import re

from oslo_config import cfg
from oslo_log import log as logging

import glance_store

from glance.api import policy
from glance.async_ import get_threadpool_model
from glance.common import exception
from glance.common import units
from glance.db import api as db
from glance.i18n import _
from glance.services import images
from glance.services import tasks
from glance import store
from glance import store_drivers

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

location_opts = [
    cfg.BoolOpt("do_secure_hash", default=True,
                help=_("Calculate the checksum and the multihash of the "
                       "data of a location added with the locations API "
                       "(in the background). When false, the hashes of "
                       "the request's validation_data are recorded "
                       "unchecked.")),
    cfg.IntOpt("http_retries", default=3, min=0,
               help=_("How many times reading the data of an http "
                      "location to hash it is retried after an error.")),
]

CONF.register_opts(location_opts)


def list_opts():
    return [(None, location_opts)]


SCHEMES = ("http", "https")
# what Glance's locations API accepts as validation_data's os_hash_algo
VALIDATION_ALGORITHMS = ("sha1", "sha256", "sha512", "md5")
_HEX = re.compile(r"^[0-9a-fA-F]+$")

_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = get_threadpool_model()()
    return _POOL


# --- listing ---

def get_locations(context, image_id):
    """``[{"url", "metadata"}]`` of ``image_id``'s data (service users)."""
    image = images.find_image(context, image_id)
    policy.enforce_image_action(context, "fetch_image_location", image)
    return [{"url": loc["url"], "metadata": loc["metadata"] or {}}
            for loc in image["locations"]
            if loc.get("status", "active") == "active"]


# --- adding ---

def add_location(context, image_id, url, validation_data=None):
    """Add ``url`` as the location of queued ``image_id``; the data is
    hashed in the background (see the module's docstring)."""
    image = images.find_image(context, image_id)
    policy.enforce_image_action(context, "add_image_location", image)
    backend = _http_backend()
    if image["status"] != "queued":
        raise exception.Conflict(
            _("The location can only be added to an image in 'queued' "
              "state; image %(id)s is '%(status)s'.")
            % {"id": image_id, "status": image["status"]})
    _check_scheme(url)
    hashes = check_validation_data(validation_data or {})
    _check_location_quota(image)
    size = _remote_size(url, backend)
    _check_storage_quota(image, size)
    metadata = {"store": backend} if backend else {}
    task = tasks.create(context, "location_import", {
        "image_id": image_id, "loc_url": url,
        "validation_data": validation_data or {}}, image_id=image_id)
    try:
        image = _claim(image)
    except BaseException as e:
        _fail_task(task["id"], e)
        raise
    try:
        loc = db.image_location_add(image_id, url, metadata=metadata,
                                    status="pending")
    except BaseException as e:
        _back_to_queued(image_id)
        _fail_task(task["id"], e)
        raise
    job = (image, loc, size, hashes, task["id"])
    if not CONF.do_secure_hash and hashes.get("os_hash_value"):
        tasks.start(task["id"])
        _activate(*job[:4], _given(hashes, size))
        tasks.succeed(task["id"])
    else:
        _pool().spawn(_hash_and_activate, *job)


def _check_scheme(url):
    scheme = store_drivers.scheme_of(url)
    if scheme not in SCHEMES or not url.partition("://")[2].strip("/"):
        raise exception.BadRequest(
            _("Invalid location %s: only http and https URLs served by "
              "the http store can be added") % url)


def check_validation_data(data):
    """The checked ``validation_data``: ``checksum`` (md5),
    ``os_hash_algo`` (one of Glance's ``VALIDATION_ALGORITHMS``; the data
    is then hashed with it) and ``os_hash_value``; BadRequest otherwise."""
    extra = sorted(set(data) - {"checksum", "os_hash_algo",
                                "os_hash_value"})
    if extra:
        raise exception.BadRequest(
            _("Unknown validation_data field(s): %s") % ", ".join(extra))
    checksum = data.get("checksum")
    algo = data.get("os_hash_algo")
    value = data.get("os_hash_value")
    if algo is not None or value is not None:
        if not algo or not value:
            raise exception.BadRequest(
                _("os_hash_algo and os_hash_value must be given together "
                  "in validation_data"))
        if algo not in VALIDATION_ALGORITHMS:
            raise exception.BadRequest(
                _("os_hash_algo must be one of %(want)s, not %(got)s")
                % {"want": ", ".join(VALIDATION_ALGORITHMS), "got": algo})
        _check_hex("os_hash_value", value,
                   hashlib.new(algo).digest_size * 2)
    if checksum is not None:
        _check_hex("checksum", checksum, 32)
    return {key: data[key] for key in ("checksum", "os_hash_algo",
                                       "os_hash_value") if data.get(key)}


def _check_hex(name, value, length):
    if (not isinstance(value, str) or len(value) != length
            or not _HEX.match(value)):
        raise exception.BadRequest(
            _("%(name)s must be %(len)d hexadecimal digits")
            % {"name": name, "len": length})


def _check_location_quota(image):
    quota = CONF.image_location_quota
    if quota < 0:
        return
    if len(image["locations"]) + 1 > quota:
        raise exception.LimitExceeded(
            _("Maximum number of locations (%d) reached for this image.")
            % quota)


def _check_storage_quota(image, size):
    quota = units.parse_size(CONF.user_storage_quota)
    if quota <= 0 or not size:
        return
    used = db.user_get_storage_usage(image["owner"], image["id"])
    if used + size > quota:
        raise exception.StorageQuotaFull(
            _("Image exceeds the storage quota: %(size)d bytes of data, "
              "only %(left)d bytes of the quota remain.")
            % {"size": size, "left": max(quota - used, 0)})


def _http_backend():
    """The http store's identifier (multi-store) or None (single store);
    Forbidden (as Glance answers) if no http store is enabled."""
    if CONF.enabled_backends:
        for store_id, kind in CONF.enabled_backends.items():
            if kind == "http":
                return store_id
    else:
        try:
            glance_store.get_store_from_scheme("http")
            return None
        except glance_store.UnknownScheme:
            pass
    raise exception.Forbidden(
        _("http store must be enabled to use location API by normal "
          "user."))


def _remote_size(url, backend):
    """The size of the data at ``url`` (0: the server does not say)."""
    try:
        if backend:
            return glance_store.get_size_from_uri_and_backend(url, backend)
        return glance_store.get_size_from_backend(url)
    except glance_store.NotFound as e:
        raise exception.BadRequest(
            _("No image data at %s") % url) from e
    except (glance_store.BadStoreUri, glance_store.RemoteServiceUnavailable,
            glance_store.MaxRedirectsExceeded) as e:
        raise exception.BadRequest(
            _("Invalid location %(url)s: %(err)s")
            % {"url": url, "err": e}) from e


def _claim(image):
    try:
        return db.image_update(image["id"], {"status": "importing"},
                               from_state="queued")
    except exception.Conflict:
        now = db.image_get(image["id"])["status"]
        raise exception.Conflict(
            _("The location can only be added to an image in 'queued' "
              "state; image %(id)s is '%(status)s'.")
            % {"id": image["id"], "status": now}) from None


# --- in the background ---

def _given(hashes, size):
    return {"size": size or None, "checksum": hashes.get("checksum"),
            "os_hash_algo": hashes.get("os_hash_algo"),
            "os_hash_value": hashes.get("os_hash_value")}


def _hash_and_activate(image, loc, size, hashes, task_id):
    """The ``location_import`` task: hash, verify, activate."""
    try:
        tasks.start(task_id)
        values = _hash_with_retries(loc, size, hashes.get("os_hash_algo"))
        _verify(values, hashes)
        _activate(image, loc, size, hashes, values)
    except Exception as e:  # noqa: BLE001 - a background job: log, undo
        LOG.exception("Could not add location %(url)s to image %(id)s; "
                      "the image goes back to 'queued'",
                      {"url": loc["url"], "id": image["id"]})
        _forget(loc)
        _back_to_queued(image["id"])
        _fail_task(task_id, e)
        return
    tasks.succeed(task_id)


def _fail_task(task_id, error):
    try:
        tasks.fail(task_id, str(error) or type(error).__name__)
    except Exception:  # noqa: BLE001 - the image is already released
        LOG.exception("Could not record the failure of task %s", task_id)


def _hash_with_retries(loc, size, algo=None):
    attempts = CONF.http_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return _hash(loc, size, algo or CONF.hashing_algorithm)
        except (OSError, store.StoreUnavailable,
                store.DataNotFound) as e:
            if attempt == attempts:
                raise
            LOG.warning("Reading %(url)s failed (attempt %(n)d of "
                        "%(all)d): %(err)s", {"url": loc["url"],
                                              "n": attempt, "all": attempts,
                                              "err": e})


def _hash(loc, size, algo):
    """Read the data at ``loc`` once: its size, md5 and the ``algo``
    multihash."""
    md5 = hashlib.md5(usedforsecurity=False)
    multihash = hashlib.new(algo)
    chunks, _length = store.read_image(loc, image_size=size or None)
    total = 0
    for chunk in chunks:
        md5.update(chunk)
        multihash.update(chunk)
        total += len(chunk)
    return {"size": total, "checksum": md5.hexdigest(),
            "os_hash_algo": algo, "os_hash_value": multihash.hexdigest()}


def _verify(values, hashes):
    for key in ("checksum", "os_hash_value"):
        given = hashes.get(key)
        if given and given.lower() != values[key]:
            raise exception.Invalid(
                _("%(key)s of the data is %(got)s, validation_data says "
                  "%(want)s") % {"key": key, "got": values[key],
                                 "want": given})


def _activate(image, loc, size, hashes, values):
    db.image_location_update(loc["id"], {"status": "active"})
    values = dict(values, status="active")
    try:
        db.image_update(image["id"], values, from_state="importing")
    except (exception.Conflict, exception.NotFound):
        LOG.warning("Image %s was deleted or changed while its location "
                    "was added", image["id"])
        _forget(loc)
        raise


def _forget(loc):
    try:
        db.image_location_delete(loc["id"])
    except exception.NotFound:
        pass


def _back_to_queued(image_id):
    try:
        db.image_update(image_id, {"status": "queued"},
                        from_state="importing")
    except (exception.Conflict, exception.NotFound):
        LOG.info("Image %s was deleted or moved on while its location "
                 "was added", image_id)


# --- removing one store's copy (API 2.10) ---

def delete_from_store(context, image_id, store_id):
    """Remove ``image_id``'s data from the store ``store_id`` only.

    Multi-store only (404 otherwise); an unknown store is a 409, as is an
    image that is not ``active``; the only copy is refused (403: delete
    the image instead). The location record goes first, so no reader is
    sent to data being deleted; data that cannot be deleted is logged.
    """
    if not CONF.enabled_backends:
        raise exception.NotFound()
    if store_id not in CONF.enabled_backends:
        raise exception.Conflict(
            _("The selected store %s is not available on this node.")
            % store_id)
    image = images.find_image(context, image_id,
                              not_found_msg=_("Failed to find image %s"))
    policy.enforce_image_action(context, "get_image_location", image)
    policy.enforce_image_action(context, "delete_image_location", image)
    if image["status"] != "active":
        raise exception.Conflict(_(
            "It's not allowed to remove image data from store if image "
            "status is not 'active'"))
    if len(image["locations"]) == 1:
        raise exception.Forbidden(_(
            "Cannot delete image data from the only store containing it. "
            "Consider deleting the image instead."))
    location = _location_in(image, store_id)
    db.image_location_delete(location["id"])
    try:
        store.delete_image_data(location, context=context)
    except Exception:  # noqa: BLE001 - the copy is already forgotten
        LOG.exception("Could not delete the data of image %(id)s in store "
                      "%(store)s: it is orphaned at %(url)s",
                      {"id": image_id, "store": store_id,
                       "url": location["url"]})


def _location_in(image, store_id):
    for location in image["locations"]:
        if (location["metadata"] or {}).get("store") == store_id:
            return location
    raise exception.NotFound(
        _("Image %(iid)s is not stored in store %(sid)s.")
        % {"iid": image["id"], "sid": store_id})
