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
``do_secure_hash = False`` the data is not read: the validation data's
hashes are taken as they are, or the image has none (and it is active at
once, with the size the server told), as in Glance. If anything fails the
location is forgotten and the image goes back to ``queued``.

Only http(s) URLs served by the http store are accepted: the http store
is read-only, so its data is never written nor deleted by Glance.

With ``show_multiple_locations`` the image's ``locations`` also change by
JSON-patch (``PATCH /v2/images/{id}``, ``/locations``: add, replace,
remove), as Glance's ``_do_*_locations`` do: see ``plan_patch``.
"""
import hashlib
import re

from oslo_config import cfg
from oslo_log import log as logging

import glance_store

from glance import policy
from glance.async_ import get_threadpool_model
from glance.common import exception
from glance.common import process
from glance.db import api as db
from glance.db import storage_quota
from glance.i18n import _
from glance.services import discovery
from glance.services import lookup
from glance import task_records as tasks
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
process.per_process(__name__, "_POOL")   # a forked worker makes its own


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = get_threadpool_model()()
    return _POOL


# --- listing ---

def get_locations(context, image_id):
    """``[{"url", "metadata"}]`` of ``image_id``'s data (service users)."""
    image = lookup.find_image(context, image_id)
    policy.enforce_image_action(context, "fetch_image_location", image)
    return [{"url": loc["url"], "metadata": loc["metadata"] or {}}
            for loc in image["locations"]
            if loc.get("status", "active") == "active"]


# --- adding ---

def add_location(context, image_id, url, validation_data=None):
    """Add ``url`` as the location of queued ``image_id``; the data is
    hashed in the background (see the module's docstring)."""
    image = lookup.find_image(context, image_id)
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
    storage_quota.check_quota(image, size)
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
    if not CONF.do_secure_hash:
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


# --- changing the locations by JSON-patch (show_multiple_locations) ---

# Never accepted as a location: the data would be read from this node's
# own files or with the store's own credentials (Glance's list).
RESTRICTED_SCHEMES = frozenset(("file", "filesystem", "swift+config"))


def plan_patch(context, image, changes):
    """Check the JSON-patch ``changes`` on ``/locations`` of ``image``
    (``[(op, position, value)]``, ``position`` the second path segment
    or None) as Glance checks them, one after the other; a
    ``LocationPatch`` that ``write`` saves with the rest of the update.
    Nothing is written here: a bad operation (4xx) leaves all as it was.
    """
    patch = LocationPatch(image)
    for op, position, value in changes:
        if op == "replace" and not value:
            raise exception.Forbidden(_("Cannot set locations to empty "
                                        "list."))
        if op == "remove":
            policy.enforce_image_action(context, "delete_image_location",
                                        image)
            patch.remove(position)
        else:
            policy.enforce_image_action(context, "set_image_location",
                                        image)
            if op == "add":
                patch.add(position, value)
            else:
                patch.replace(value)
    patch.check_quota()
    return patch


class LocationPatch:
    """An image's locations (in the order the API shows them) and the
    image attributes that change with them (status, size, hashes), as a
    JSON-patch leaves them; ``write`` saves them."""

    def __init__(self, image):
        self.image = image
        self.status = image["status"]
        self.values = {}
        self.locations = [dict(loc, metadata=dict(loc.get("metadata") or {}))
                          for loc in _shown(image)]
        self.removed = []

    def current(self, key):
        return self.values.get(key, self.image.get(key))

    def add(self, position, value):
        self._check_status("add", ("active", "queued"))
        new_values = self._validation_values([value])
        loc = _requested(value)
        index = _position(position, len(self.locations), for_add=True)
        if index is None:
            raise exception.BadRequest(
                _("Invalid position for adding a location."))
        size = _checked_size(loc)
        if any(_same(loc, other) for other in self.locations):
            raise _duplicate(loc)
        storage_quota.check_quota(self.image, size)
        self.locations.insert(index, loc)
        self._set_size(size)
        self._activate(new_values)

    def replace(self, value):
        self._check_status("replace", ("active", "queued"))
        new_values = self._validation_values(value)
        wanted = [_requested(v) for v in value]
        urls = sorted(loc["url"] for loc in wanted)
        if urls == sorted(loc["url"] for loc in self.locations):
            self.locations = self._keep_records(wanted)  # metadata only
        elif self.locations:
            raise exception.BadRequest(
                _("Original locations is not empty: %s")
                % [{"url": loc["url"], "metadata": loc["metadata"]}
                   for loc in self.locations])
        else:
            sizes = [_checked_size(loc) for loc in wanted]
            for loc in wanted:
                if sum(_same(loc, other) for other in wanted) > 1:
                    raise _duplicate(loc)
            storage_quota.check_quota(self.image, max(sizes))
            self.locations = wanted
            self._set_size(next((s for s in sizes if s), None))
        self._activate(new_values)

    def remove(self, position):
        self._check_status("remove", ("active",))
        if len(self.locations) == 1:
            raise exception.Forbidden(
                _("Cannot remove last location in the image."))
        index = _position(position, len(self.locations), for_add=False)
        if index is None:
            raise exception.BadRequest(
                _("Invalid position for removing a location."))
        loc = self.locations.pop(index)
        if "id" in loc:
            self.removed.append(loc)

    def check_quota(self):
        grown = len(self.locations) > len(_shown(self.image))
        if grown and 0 <= CONF.image_location_quota < len(self.locations):
            raise exception.LimitExceeded(
                _("Maximum number of locations (%d) reached for this "
                  "image.") % CONF.image_location_quota)

    def _check_status(self, action, allowed):
        if self.status not in allowed:
            raise exception.Conflict(
                _("It's not allowed to %(action)s locations if image "
                  "status is %(status)s.")
                % {"action": action, "status": self.status})

    def _keep_records(self, wanted):
        """``wanted`` (the same URLs as now), each on the record of its
        URL, so that only its metadata changes."""
        records = list(self.locations)
        kept = []
        for loc in wanted:
            record = next(r for r in records if r["url"] == loc["url"])
            records.remove(record)
            kept.append(dict(record, metadata=loc["metadata"]))
        return kept

    def _validation_values(self, locations):
        """The image attributes the locations' ``validation_data`` sets
        (only on a queued image; a value already set must be repeated
        exactly), or Conflict, as Glance checks them."""
        given = {}
        for loc in locations:
            for key, value in (loc.get("validation_data") or {}).items():
                if given.get(key, value) != value:
                    raise exception.Conflict(_("Conflicting values for %s")
                                             % key)
                given[key] = value
        new = {}
        for key, value in given.items():
            current = self.current(key)
            if value == current:
                continue
            if current:
                raise exception.Conflict(
                    _("%s is already set with a different value") % key)
            new[key] = value
        if new:
            _check_new_hashes(new, self.status)
        return new

    def _set_size(self, size):
        if size and not self.current("size"):
            self.values["size"] = size

    def _activate(self, new_values):
        if self.status == "queued":
            self.values.update(new_values)
            self.values["status"] = self.status = "active"

    def write(self, context, values):
        """Save the image ``values`` and these locations; the image dict.
        The image must still have the status it was planned on (else
        Conflict and the added locations are forgotten). The data of a
        removed location is deleted, unless another location has it."""
        image_id = self.image["id"]
        added = []
        try:
            for loc in self.locations:
                if "id" not in loc:
                    added.append(db.image_location_add(
                        image_id, loc["url"], metadata=loc["metadata"]))
                elif loc["metadata"] != _metadata_of(self.image, loc["id"]):
                    db.image_location_update(loc["id"],
                                             {"metadata": loc["metadata"]})
            image = db.image_update(image_id, dict(values, **self.values),
                                    purge_props=True,
                                    from_state=self.image["status"])
        except Exception:
            for loc in added:
                _forget(loc)
            raise
        if not self.removed:
            return image
        kept = {loc["url"] for loc in self.locations}
        for loc in self.removed:
            db.image_location_delete(loc["id"])
            if loc["url"] not in kept:
                _delete_data(context, image_id, loc)
        return db.image_get(image_id)


def _shown(image):
    """The active locations in the order the API shows them."""
    return discovery.sort_locations(
        loc for loc in image.get("locations") or ()
        if loc.get("status", "active") == "active")


def _metadata_of(image, location_id):
    for loc in image["locations"]:
        if loc["id"] == location_id:
            return loc.get("metadata") or {}
    return None


def _requested(value):
    """A location of the request: its url and metadata, plus (multi-store)
    the store serving that URL, as Glance records it."""
    loc = {"url": value["url"], "metadata": dict(value["metadata"])}
    try:
        glance_store.check_location_metadata(loc["metadata"])
    except glance_store.BackendException as e:
        raise exception.BadRequest(str(e)) from e
    store_id = _store_of(loc["url"])
    if store_id:
        loc["metadata"]["store"] = store_id
    return loc


def _store_of(url):
    """(multi-store) The store whose URLs start like ``url``, or None."""
    for store_id in discovery.enabled_backends():
        try:
            driver = glance_store.get_store_from_store_identifier(store_id)
        except glance_store.UnknownScheme:
            continue
        prefix = driver.url_prefix
        if prefix and url.startswith(prefix):
            return store_id
    return None


def _position(segment, length, for_add):
    """The list index of a path's position segment ('-': the end), as
    Glance reads it; None when it names no place."""
    if segment == "-":
        return length if for_add else length - 1
    if segment is None or not segment.isdigit():
        return None
    index = int(segment)
    if not for_add and index >= length:
        return None
    return index


def _checked_size(loc):
    """The size of the data at a new location, which must be served by a
    configured store under a scheme that is not restricted; else 400
    ``Invalid location``, as Glance answers."""
    url = loc["url"]
    scheme = store_drivers.scheme_of(url)
    backend = loc["metadata"].get("store")
    size = 0
    if scheme not in RESTRICTED_SCHEMES and scheme in _known_schemes():
        try:
            if CONF.enabled_backends:
                size = glance_store.get_size_from_uri_and_backend(url,
                                                                  backend)
            else:
                size = glance_store.get_size_from_backend(url)
        except (glance_store.GlanceStoreException, KeyError) as e:
            LOG.info("Location %(url)s refused: %(err)s",
                     {"url": url, "err": e})
            size = 0
    if not size or size <= 0:
        raise exception.BadRequest(_("Invalid location"))
    return size


def _known_schemes():
    if CONF.enabled_backends:
        return glance_store.get_known_schemes_for_multi_store()
    return glance_store.get_known_schemes()


def _same(loc, other):
    return loc["url"] == other["url"] and \
        loc["metadata"] == other["metadata"]


def _duplicate(loc):
    return exception.BadRequest(_("The location %s already exists")
                                % loc["url"])


def _check_new_hashes(new, status):
    """The checks Glance makes of new validation values: 409 each."""
    if status != "queued":
        raise exception.Conflict(
            _("New value(s) for %s may only be provided when image status "
              "is 'queued'") % ", ".join(new))
    if "checksum" in new:
        _check_hash_hex("checksum", new["checksum"], 16, "md5")
    algo = new.get("os_hash_algo")
    if algo != CONF.hashing_algorithm:
        raise exception.Conflict(
            _("os_hash_algo must be %(want)s, not %(got)s")
            % {"want": CONF.hashing_algorithm, "got": algo})
    _check_hash_hex("os_hash_value", new.get("os_hash_value"),
                    hashlib.new(algo).digest_size, algo)


def _check_hash_hex(name, value, size, algo):
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise exception.Conflict(
            _("%(name)s (%(value)s) is not a valid hexadecimal value")
            % {"name": name, "value": value}) from None
    if len(raw) != size:
        raise exception.Conflict(
            _("%(name)s (%(value)s) is not the correct size for %(algo)s "
              "(should be %(size)d bytes)")
            % {"name": name, "value": value, "algo": algo, "size": size})


def _delete_data(context, image_id, loc):
    try:
        store.delete_image_data(loc, context=context)
    except Exception:  # noqa: BLE001 - the location is already forgotten
        LOG.exception("Could not delete the data of image %(id)s at "
                      "%(url)s: it is orphaned",
                      {"id": image_id, "url": loc["url"]})


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
    image = lookup.find_image(context, image_id,
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
