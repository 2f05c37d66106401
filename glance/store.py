"""The one adapter around glance_store: write with checks, read, delete, stage.

Writing image data is one pass over the bytes as they arrive::

    request body -> CooperativeReader -> LimitingReader (the ``limit``
    the caller's quota step answered: image_size_cap, user_storage_quota,
    see glance.db.storage_quota) -> UploadStream (Content-Length, format
    inspection, the ``Heartbeat`` of the write's hold on its image) ->
    md5 | multihash | file write, in parallel (file stores, on
    glance.common.utils.Lanes; other stores: glance_store add, which
    hashes)

Staging (``stage_image``: ``PUT /stage`` and the import's downloads) is
the same stream into a plain file, nothing hashed.

A file store (the common case) is written here, not by its driver, by
``glance.common.filewriter.copy_hashing``: the stream is received
straight into ``UPLOAD_CHUNK_SIZE`` windows of the file's pages in the
page cache, taken in turn (with ``data_direct_io``: into reused buffers,
written with O_DIRECT past the page cache), and md5 and the multihash
(and the O_DIRECT write) each take the chunks in order in a native
thread of their own (hashlib and file writes release the GIL), so an
upload costs about the slower of the two hashes per byte rather than
both in a row, and its first download is served from memory. Large
chunks matter: each one costs a few hand-offs between threads
(measured: 1 MiB chunks take 0.8 s more CPU per GiB than 16 MiB
ones). The file is the one glance_store's driver would write
(``<datadir>/<id>``, created exclusively, its permissions and location
metadata), so the driver reads and deletes it as its own.
Stores of other kinds, and file stores with thin provisioning, go
through glance_store's ``add``, whose driver hashes in the loop that
writes; nothing hashes twice.

The format inspection (``glance.image_format``, oslo.utils' format
inspector) runs on the same chunks; once an inspector has made up its
mind it is no longer fed, so after the first chunk only the inspector of
the detected format (if any) sees the data.

A refusal (size cap, quota, short body, format mismatch, unsafe image)
is raised from inside ``read``, so the driver stops and deletes its
partial data; anything that fails after the data is stored deletes it
before re-raising. The one exception is an upload that lost ownership
of its image to a later upload attempt (see
``glance.services.image_data``): it ends its stream quietly and leaves
the data alone, since the same store path now belongs to the new owner.

Single-store (``[glance_store] stores/default_store``) and multi-store
(``enabled_backends``) configurations are both served; the stores
themselves are created at daemon start (``glance.common.server``).
"""
import contextlib
import errno
import hashlib
import os
import time

import glance_store
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import config
from glance.common import exception
from glance.common import file_body
from glance.common import filewriter
from glance.common import memory
from glance.common.exception import (  # noqa: F401 - raised from here
    DataNotFound, IncompleteImageData, InvalidImageData, StorageFull,
    StorageWriteDenied, StoreAddDisabled, StoreUnavailable, UnknownStore,
    UploadInterrupted, UploadTakenOver)
from glance.common import utils
from glance.db import storage_quota
from glance.i18n import _
from glance import image_format
from glance import store_drivers
from glance.store_drivers import ChunkedFile as _ChunkedFile
from glance.store_drivers import FilesystemStore as _FilesystemStore

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

store_opts = [
    cfg.IntOpt("image_data_chunk_size", default=1024 * 1024, min=4096,
               help=_("Size in bytes of the chunks image data is sent to "
                      "clients in, and written to the staging area in. "
                      "Chunks read from a store are joined up to this "
                      "size before they go to the socket.")),
]

CONF.register_opts(store_opts)

UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024
RESERVED_STORE_PREFIX = "os_glance_"
STAGING_STORE = "os_glance_staging_store"
TASKS_STORE = "os_glance_tasks_store"


def list_opts():
    return [(None, store_opts)]


# --- what stored data sets on its image ---

# The fields a write of the data fills in (``write_image``'s result), the
# same for an upload and an import; cleared together when it is undone.
DATA_FIELDS = ("size", "checksum", "os_hash_algo", "os_hash_value",
               "virtual_size")


def activation(result):
    """The image update that makes an image ``active`` with the data
    ``write_image`` stored (``result``)."""
    values = {key: result[key] for key in DATA_FIELDS}
    values["status"] = "active"
    return values


# --- stores ---

def multi_store():
    """Whether ``enabled_backends`` (multi-store) is configured."""
    return bool(CONF.enabled_backends)


def _is_reserved(store_id):
    return store_id.startswith(RESERVED_STORE_PREFIX)


def resolve_store_id(store_id=None):
    """The store an upload goes to: ``store_id`` or the default.

    None in single-store mode (there is one store). UnknownStore (400)
    for an identifier that is not a configured backend, reserved stores
    included.
    """
    if not multi_store():
        return None
    store_id = store_id or CONF.glance_store.default_backend
    if not store_id or _is_reserved(store_id):
        raise UnknownStore(store_id=store_id)
    try:
        glance_store.get_store_from_store_identifier(store_id)
    except glance_store.UnknownScheme as e:
        raise UnknownStore(store_id=store_id) from e
    return store_id


@contextlib.contextmanager
def _store_errors():
    """glance_store's exceptions as ours, with their HTTP codes."""
    try:
        yield
    except glance_store.StorageFull as e:
        raise StorageFull(reason=str(e)) from e
    except glance_store.StorageWriteDenied as e:
        raise StorageWriteDenied(reason=str(e)) from e
    except glance_store.StoreAddDisabled as e:
        raise StoreAddDisabled() from e
    except glance_store.Duplicate as e:
        raise exception.Conflict(
            _("Image data already exists in the store: %s") % e) from e
    except glance_store.UnknownScheme as e:
        raise UnknownStore(store_id=str(e)) from e
    except glance_store.RemoteServiceUnavailable as e:
        raise StoreUnavailable(reason=str(e)) from e


# --- the upload stream ---

class Heartbeat:
    """A write's hold on its image while the data flows, the one kind
    there is: ``UploadStream`` calls it every ``interval`` seconds and it
    answers False once the hold is lost to a later attempt (for good:
    the stream then ends quietly, ``abandoned``). ``renew()`` says
    whether the hold is still there and refreshes it; an upload or stage
    (``glance.services.image_data.Ownership``: the image's
    ``updated_at``) and an import (``glance.async_.flows.
    api_image_import.Import``: the task's ``updated_at`` and the image's
    import lock) each say what holding means.
    """

    def __init__(self, interval):
        self.interval = interval
        self.last = time.monotonic()  # the last renewal that held
        self.lost = False

    def __call__(self):
        if self.lost:
            return False
        if not self.renew():
            self.lost = True
            return False
        self.last = time.monotonic()
        return True

    def renew(self):
        raise NotImplementedError

    def silent_for(self):
        """Seconds since the hold was last renewed."""
        return time.monotonic() - self.last


class UploadStream:
    """The file-like object a store driver reads an upload from.

    Stops at Content-Length (``size``) and refuses a body that ends short
    of it; feeds the format check; every ``heartbeat.interval`` seconds
    calls ``heartbeat()``, which answers False when the upload lost its
    image to a later attempt: the stream then ends quietly
    (``abandoned``). At EOF the format check gives its verdict, still
    inside the driver's ``read``.
    """

    def __init__(self, source, size=None, check=None, heartbeat=None):
        self.source = source
        self.size = size
        self.check = check
        self.heartbeat = heartbeat
        self.count = 0
        self.eof = False
        self.abandoned = False
        self._next_beat = self._beat_after()

    def _beat_after(self):
        if self.heartbeat is None:
            return None
        return time.monotonic() + self.heartbeat.interval

    def read(self, length=None):
        if length is None or length < 0:
            return b"".join(utils.chunkiter(self))
        return self._next(length, self.source.read)

    def readinto(self, buffer):
        """Fill ``buffer`` (all of it but at the end); the bytes put."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            rest = view[filled:]
            got = self._next(len(rest), lambda n, rest=rest:
                             rest[:utils.read_into(self.source, rest[:n])])
            if not got:
                break
            filled += len(got)
        return filled

    def _next(self, length, read):
        """The next bytes (at most ``length``), got with ``read(n)``;
        empty at the end."""
        if self.eof or self.abandoned or length == 0:
            return b""
        if self.size is not None:
            length = min(length, self.size - self.count)
            if length <= 0:
                return self._end()
        try:
            chunk = read(length)
        except OSError as e:
            LOG.info("Image data stream broke after %d bytes: %s",
                     self.count, e)
            raise UploadInterrupted(received=self.count, reason=e) from e
        if not chunk:
            if self.size is not None:
                raise IncompleteImageData(received=self.count,
                                          expected=self.size)
            return self._end()
        self.count += len(chunk)
        if self.check is not None:
            self.check.feed(chunk)
        if self._next_beat is not None and \
                time.monotonic() >= self._next_beat:
            if not self.heartbeat():
                self.abandoned = True
                return b""
            self._next_beat = self._beat_after()
        return chunk

    def _end(self):
        self.eof = True
        if self.check is not None:
            self.check.finish()
        return b""


def _readable(data):
    """A file-like object over ``data`` (file-like or iterable)."""
    return utils.CooperativeReader(data)


def _upload_stream(image, data, size, heartbeat, limit, inspect=True):
    """The stream a write reads ``data`` from, within ``limit``
    (``(bytes, make_error)``; None: ``image_size_cap`` alone) and, when
    ``inspect``, through the format check of ``image``."""
    limit, make_error = limit or storage_quota.size_cap(size)
    limited = utils.LimitingReader(_readable(data), limit, make_error)
    check = image_format.FormatCheck.for_image(image) if inspect else None
    return UploadStream(limited, size, check, heartbeat)


# --- writing ---

def write_image(context, image, data, size=None, store_id=None,
                heartbeat=None, limit=None):
    """Store ``image``'s data from ``data`` (a file-like or an iterable).

    ``size`` is the announced length (None: until EOF); ``limit`` the
    caller's quota step's answer (``glance.db.storage_quota``; None:
    ``image_size_cap`` alone). Returns a dict:
    ``url``, ``metadata`` (the store's location metadata), ``store_id``,
    ``size``, ``checksum``, ``os_hash_algo``, ``os_hash_value`` and
    ``virtual_size``. On any failure nothing stays in the store.
    """
    store_id = resolve_store_id(store_id)
    stream = _upload_stream(image, data, size, heartbeat, limit)
    algo = CONF.hashing_algorithm
    try:
        with _store_errors():
            url, written, checksum, multihash, metadata = _add(
                context, image["id"], stream, store_id, algo)
    except BaseException as e:
        # what is already under the image's name (a Duplicate) is another
        # write's, maybe recorded as a location: not this one's to remove
        duplicate = isinstance(e.__cause__, glance_store.Duplicate)
        if not stream.abandoned and not duplicate:
            discard_leftover_data(image["id"], store_id)
        raise
    location = {"url": url, "metadata": metadata or {}}
    if stream.abandoned:
        raise UploadTakenOver(image_id=image["id"])
    if written != stream.count or not stream.eof:
        delete_image_data(location)
        raise exception.ServerError(
            _("The store wrote %(written)d bytes of %(read)d.")
            % {"written": written, "read": stream.count})
    return {"url": url, "metadata": location["metadata"],
            "store_id": store_id, "size": written, "checksum": checksum,
            "os_hash_algo": algo, "os_hash_value": multihash,
            "virtual_size": stream.check.virtual_size
            if stream.check is not None else None}


def _add(context, image_id, stream, store_id, algo):
    # The stream enforces the announced size. Only s3 is told it (to go
    # multipart): a driver that knows it may delete its data by name on
    # a shortfall, even when that name already belongs to another
    # upload; s3 only aborts its own upload (see store_drivers.add).
    if algo not in hashlib.algorithms_available:
        raise glance_store.UnknownHashingAlgo(algo=algo)
    target = _writable_file_store(store_id)
    if target is not None:
        return _add_to_file_store(target, image_id, stream, algo)
    try:
        return store_drivers.add(context, image_id, stream, stream.size,
                                 store_id, algo)
    except glance_store.Invalid:
        # A driver told the size refuses the stream an abandoned upload
        # ends early.
        if stream.abandoned:
            raise UploadTakenOver(image_id=image_id) from None
        raise


def _writable_file_store(store_id):
    """The glance_store file driver an upload to ``store_id`` goes to,
    when this module can write its file itself; else None."""
    try:
        if store_id is not None:
            target = glance_store.get_store_from_store_identifier(store_id)
        else:
            target = glance_store.get_store_from_scheme(
                CONF.glance_store.default_store)
    except glance_store.UnknownScheme:
        return None
    if not isinstance(target, _FilesystemStore):
        return None
    if getattr(target, "thin_provisioning", False):
        return None
    if not target.is_capable(glance_store.capabilities.BitMasks.WRITE_ACCESS):
        return None
    return target


def _add_to_file_store(target, image_id, stream, algo):
    """What the file driver's ``add`` does, hashing in parallel
    (``glance.common.filewriter``):
    ``(url, written, checksum, multihash, metadata)``."""
    datadir = target._find_best_datadir(0)
    path = os.path.join(datadir, str(image_id))
    try:
        f = filewriter.create(path)
    except FileExistsError:
        raise glance_store.Duplicate(image=path) from None
    except OSError as e:
        raise _file_error(e) from e
    hashes = (hashlib.md5(usedforsecurity=False), hashlib.new(algo))
    try:
        with memory.transfer(), f:
            written = filewriter.copy_hashing(stream.readinto, f, hashes,
                                              UPLOAD_CHUNK_SIZE)
    except BaseException as e:
        if not isinstance(e, OSError) or e.errno != errno.EACCES:
            _unlink(path)
        if isinstance(e, OSError):
            raise _file_error(e) from e
        raise
    _set_file_permissions(target, path)
    metadata = store_drivers.file_metadata(target, path)
    if target.backend_group:
        metadata["store"] = target.backend_group
    return ("file://%s" % path, written, hashes[0].hexdigest(),
            hashes[1].hexdigest(), metadata)


def _file_error(error):
    errors = {errno.EFBIG: glance_store.StorageFull,
              errno.ENOSPC: glance_store.StorageFull,
              errno.EACCES: glance_store.StorageWriteDenied}
    kind = errors.get(error.errno)
    return kind() if kind is not None else error


def _set_file_permissions(target, path):
    perm = target.store_conf.filesystem_store_file_perm
    if perm > 0:
        try:
            os.chmod(path, int(str(perm), 8))
        except OSError:
            LOG.warning("Unable to set permission to image: %s", path)


# --- reading ---

def read_image(location, offset=0, length=None, chunk_size=None,
               image_size=None, context=None):
    """``(chunks, size)``: the data at ``location`` from ``offset``.

    ``length`` None reads to the end. ``image_size`` is the size the image
    record holds (the store's own idea of the size is used without it).
    The chunks are at least ``chunk_size`` (default
    ``image_data_chunk_size``) bytes but the last; if the store delivers
    fewer or more bytes than expected, the iterator raises instead of
    ending, so a client never takes a short body for the whole image.
    DataNotFound if there is no data.
    """
    url = location["url"]
    backend = (location.get("metadata") or {}).get("store")
    # A store without random access is asked for a Range itself, or read
    # whole and cut here.
    whole = not store_drivers.random_access(url, backend)
    get_offset, get_length = (0, None) if whole else (offset, length)
    try:
        with _store_errors():
            ranged = whole and store_drivers.ranged_get(
                url, backend, offset, length)
            if ranged:
                data, size = ranged
            elif multi_store():
                data, size = glance_store.get(
                    url, backend, offset=get_offset, chunk_size=get_length,
                    context=context)
            else:
                data, size = glance_store.get_from_backend(
                    url, offset=get_offset, chunk_size=get_length,
                    context=context)
    except glance_store.NotFound as e:
        raise DataNotFound(url=url) from e
    if whole and not ranged:
        data = store_drivers.cut(data, offset, length)
    if length is not None:
        expected = length
    else:
        expected = (image_size if image_size is not None else size) - offset
    target = chunk_size or CONF.image_data_chunk_size
    fp = getattr(data, "fp", None)
    if isinstance(data, _ChunkedFile) and fp is not None:
        return FileChunks(data, expected, target, url,
                          exact_end=length is None), expected
    return _checked_chunks(data, expected, target, url), expected


class FileChunks(file_body.FileRegion):
    """The data of a file store, ``expected`` bytes from where its open
    file stands: chunks of ``target`` bytes, or the rest by ``sendfile``
    (see ``glance.common.file_body``); raises instead of ending short.

    ``exact_end``: the data must end there (a whole image), so a longer
    file is refused before anything is delivered.
    """

    def __init__(self, source, expected, target, url, exact_end=False):
        super().__init__(source.fp, expected, target)
        self.source = source
        self.url = url
        self.exact_end = exact_end

    def start(self):
        if not self.exact_end:
            return
        size = os.fstat(self.fp.fileno()).st_size
        if size > self.position + self.length:
            _wrong_length(self.url, self.length,
                          "more than %d" % self.length)

    def short(self):
        _wrong_length(self.url, self.length, self.sent)

    def release(self):
        self.source.close()


def _checked_chunks(data, expected, target, url):
    """Chunks of ``data`` joined up to ``target`` bytes, exactly
    ``expected`` bytes in all (or an exception)."""
    sent = 0
    pending, pending_size = [], 0
    try:
        for chunk in data:
            if sent + pending_size + len(chunk) > expected:
                _wrong_length(url, expected, "more than %d" % expected)
            if not pending and len(chunk) >= target:
                sent += len(chunk)
                yield chunk
                continue
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= target:
                sent += pending_size
                yield b"".join(pending)
                pending, pending_size = [], 0
        if pending:
            sent += pending_size
            yield b"".join(pending)
    finally:
        close = getattr(data, "close", None)
        if close is not None:
            close()
    if sent != expected:
        _wrong_length(url, expected, sent)


def _wrong_length(url, expected, sent):
    LOG.error("The store delivered %(sent)s bytes of %(expected)d from "
              "%(url)s", {"sent": sent, "expected": expected, "url": url})
    raise OSError(_("Image data at %(url)s is %(sent)s bytes long, not "
                    "%(expected)d") % {"url": url, "sent": sent,
                                       "expected": expected})


# --- deleting ---

def delete_image_data(location, context=None):
    """Delete the data at ``location``; False if there was none."""
    url = location["url"]
    if store_drivers.read_only(url):
        LOG.debug("Not deleting %s: a read-only store's data", url)
        return True
    backend = (location.get("metadata") or {}).get("store")
    try:
        with _store_errors():
            if multi_store():
                glance_store.delete(url, backend, context=context)
            else:
                glance_store.delete_from_backend(url, context=context)
    except glance_store.NotFound:
        LOG.debug("No image data to delete at %s", url)
        return False
    return True


def discard_leftover_data(image_id, store_id=None):
    """Remove data a dead upload of ``image_id`` left in file stores.

    Data is stored under the image id, so an upload that died half-way
    leaves a file that would make the next upload a Duplicate. Only file
    stores are searched (``store_id``'s, or all of them); the caller must
    own the image's upload. Returns the paths removed.
    """
    removed = []
    for directory in _file_store_dirs(store_id):
        path = os.path.join(directory, image_id)
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        except OSError as e:
            LOG.error("Could not remove leftover image data %s: %s",
                      path, e)
            continue
        LOG.warning("Removed leftover data of an interrupted upload: %s",
                    path)
        removed.append(path)
    return removed


def _file_store_dirs(store_id):
    stores = []
    if multi_store():
        ids = [store_id] if store_id else [
            sid for sid, kind in CONF.enabled_backends.items()
            if kind == "file" and not _is_reserved(sid)]
        for sid in ids:
            try:
                stores.append(glance_store.get_store_from_store_identifier(
                    sid))
            except glance_store.UnknownScheme:
                continue
    else:
        try:
            stores.append(glance_store.get_store_from_scheme("file"))
        except glance_store.UnknownScheme:
            return []
    dirs = []
    for store in stores:
        if "file" not in store.get_schemes():
            continue
        if getattr(store, "multiple_datadirs", False):
            for paths in store.priority_data_map.values():
                dirs.extend(paths)
        elif getattr(store, "datadir", None):
            dirs.append(store.datadir)
    return dirs


# --- staging (PUT /stage) ---

def staging_path(image_id):
    """Where the staged data of ``image_id`` lives."""
    if not utils.is_uuid_like(image_id) or os.sep in image_id:
        raise exception.Invalid(_("Invalid image id %s") % image_id)
    return os.path.join(config.staging_dir(), image_id)


def stage_image(context, image, data, size=None, heartbeat=None,
                limit=None, inspect=True):
    """Write ``image``'s data to the staging area, with the checks of
    ``write_image`` (``inspect`` False: without the format inspection,
    for an import whose plugins may still change the format; the store
    write inspects the final data). Returns ``{"url": "file://...",
    "size": n}``. On any failure nothing is left staged, but for an
    upload that lost its image (UploadTakenOver): the staging file is
    the new owner's."""
    stream = _upload_stream(image, data, size, heartbeat, limit, inspect)
    path = staging_path(image["id"])
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    try:
        with memory.transfer(), \
                filewriter.DirectFile.create(path, replace=True) as f:
            _copy(stream, f)
    except BaseException:
        if not stream.abandoned:
            _unlink(path)
        raise
    if stream.abandoned:
        raise UploadTakenOver(image_id=image["id"])
    return {"url": "file://" + path, "size": stream.count}


def _copy(stream, f):
    # Nothing to hash: plain writes of image_data_chunk_size chunks
    # (O_DIRECT with data_direct_io). Measured on the same bytes from a
    # socket, they cost about two thirds of the CPU of receiving into
    # mapped windows of the file (filewriter.copy_hashing, which pays
    # for allocating the pages up front) and of a write lane in a
    # native thread.
    for chunk in utils.chunkiter(stream, CONF.image_data_chunk_size):
        f.write(chunk)


def delete_staged_data(image_id):
    """Remove ``image_id``'s staged data; False if there was none."""
    try:
        return _unlink(staging_path(image_id))
    except exception.Invalid:
        return False


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
