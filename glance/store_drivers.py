"""What ``glance.store`` needs to know about particular glance_store drivers.

glance_store's drivers differ in ways its ``get``/``delete`` calls do not
hide:

- some (s3, http) cannot read from an offset: glance_store refuses a
  ``get`` with an offset or a length for them
  (StoreRandomGetNotSupported). ``random_access`` tells them apart;
  ``ranged_get`` asks them for the bytes with an HTTP Range itself, and
  when that is not possible ``cut`` takes them out of the whole object
  (the bytes skipped are then still transferred from the store);
- the s3 driver goes multipart only when it is told the size (an upload
  of unknown size is spooled first, or the driver would hold it whole in
  memory), and leaves the multipart upload behind when the stream it
  reads raises (``add``);
- the swift driver stores an image below ``swift_store_large_object_size``
  as one object only when it is told the size, and told the size of a
  larger one it announces each segment a whole chunk long, the last one
  too, then waits for bytes that never come (glance_store 5.7): it is
  told the size of small images only, larger ones and uploads of unknown
  size go segmented (``add``). It reads from an offset only in its retry
  loop, so ``ranged_get`` asks Swift for the Range itself;
- the http store is read-only: its data belongs to someone else, so it
  is never written (glance_store refuses with StoreAddDisabled) nor
  deleted (``read_only``).

It is also the one module that reaches into glance_store's private parts
(the filesystem driver's classes and ``_get_metadata``, the s3 driver's
client factory); :func:`check_internals` (run by the unit tests) says
what an upgrade of glance_store changed of them.
"""
import copy
import functools
import os
import re
import tempfile
import urllib.parse

import glance_store
from glance_store._drivers.filesystem import ChunkedFile  # noqa: F401
from glance_store._drivers.filesystem import Store as FilesystemStore
from glance_store import capabilities
import glance_store.driver
import glance_store.location
from oslo_config import cfg
from oslo_log import log as logging
import requests

from glance.common import config
from glance.common.exception import UploadTakenOver
from glance.i18n import _

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

MiB = 1024 * 1024
SPOOL_CHUNK_SIZE = 4 * MiB

# Location schemes of stores whose data Glance must never delete.
READ_ONLY_SCHEMES = frozenset(("http", "https"))


def scheme_of(url):
    return urllib.parse.urlsplit(url).scheme.lower()


def read_only(url):
    """Whether the data at ``url`` belongs to a read-only store."""
    return scheme_of(url) in READ_ONLY_SCHEMES


def driver_for(url, backend=None):
    """The glance_store driver holding ``url`` (``backend`` names it in
    multi-store mode); UnknownScheme if none is configured."""
    if CONF.enabled_backends:
        if backend:
            return glance_store.get_store_from_store_identifier(backend)
        for store_id in CONF.enabled_backends:
            store = glance_store.get_store_from_store_identifier(store_id)
            if scheme_of(url) in store.get_schemes():
                return store
        raise glance_store.UnknownScheme(scheme=scheme_of(url))
    return glance_store.get_store_from_uri(url)


def random_access(url, backend=None):
    """Whether the driver holding ``url`` can read from an offset."""
    try:
        store = driver_for(url, backend)
    except glance_store.UnknownScheme:
        return True   # let glance_store's get say what is wrong
    return store.is_capable(capabilities.BitMasks.READ_RANDOM)


def cut(data, offset, length):
    """The chunks of ``data`` from byte ``offset``, ``length`` bytes long
    (None: to the end); ``data`` is closed when they are done."""
    if not offset and length is None:
        return data
    return _cut(data, offset or 0, length)


def _cut(data, skip, left):
    chunks = iter(data)
    try:
        for chunk in chunks:
            if skip:
                if len(chunk) <= skip:
                    skip -= len(chunk)
                    continue
                chunk = chunk[skip:]
                skip = 0
            if left is not None:
                if len(chunk) >= left:
                    if left:
                        yield chunk[:left]
                    return
                left -= len(chunk)
            yield chunk
    finally:
        _close(chunks, data)


def _close(*iterables):
    """Close what a read left open. glance_store's ``Indexable`` (http,
    s3) has no ``close``: the iterator it wraps holds the connection."""
    for obj in iterables:
        for target in (obj, getattr(obj, "wrapped", None)):
            close = getattr(target, "close", None)
            if close is not None:
                close()


def _is_s3(store):
    return "s3" in store.get_schemes()


def _store_conf(store):
    """The options of ``store``'s own configuration group."""
    if store.backend_group:
        return glance_store.driver.BackendGroupConfiguration(
            store.OPTIONS, store.backend_group, conf=store.conf)
    return store.conf.glance_store


def _location(store, url):
    if CONF.enabled_backends:
        return glance_store.location.get_location_from_uri_and_backend(
            url, store.backend_group, conf=CONF)
    return glance_store.location.get_location_from_uri(url, conf=CONF)


# --- writing ---

def writer_for(store_id=None):
    """The driver an upload to ``store_id`` (None: single store) uses;
    UnknownScheme if there is none."""
    if store_id is not None:
        return glance_store.get_store_from_store_identifier(store_id)
    return glance_store.get_store_from_scheme(
        CONF.glance_store.default_store)


def add(context, image_id, stream, size, store_id, algo):
    """glance_store's add of ``stream`` to ``store_id`` (None: single
    store); ``size`` is the announced size (None: unknown).

    s3 is told the size: it needs it to go multipart (it compares
    ``image_size`` with ``s3_store_large_object_size`` and the bytes
    read, and refuses a short stream before completing), and it never
    deletes an object by name. swift is told the size of an image it
    stores as one object (``_size_for_swift``). Other drivers are not:
    they may delete by name on a shortfall.
    """
    driver = writer_for(store_id)
    if _is_s3(driver):
        return _add_to_s3(context, driver, image_id, stream, size, algo)
    told = _size_for_swift(driver, size) if _is_swift(driver) else 0
    if told:
        stream = ToldSize(stream, told, image_id)
    if store_id is not None:
        return glance_store.add_with_multihash(
            CONF, image_id, stream, told, store_id, algo, context=context)
    return glance_store.add_to_backend_with_multihash(
        CONF, image_id, stream, told, algo, context=context)


def _is_swift(store):
    return "swift" in store.get_schemes()


def _size_for_swift(driver, size):
    """The size the swift driver is told: ``size`` when it is below the
    store's large object size (one PUT with that Content-Length, one
    object, as Glance stores it), else 0: segments sent chunked, the
    last one as long as the data (told the size, glance_store 5.7 would
    announce it a whole chunk long and wait for the rest)."""
    if not size or size >= driver.large_object_size:
        return 0
    return size


class ToldSize:
    """The upload stream of a driver told its size (swift, one PUT).

    The driver reads that many bytes and no more, so the stream is ended
    here as its last byte is read: the end-of-data checks (the format's
    verdict) run while the PUT can still be cut short. A stream that
    ends early because a later upload took its image over raises
    UploadTakenOver: short of its Content-Length, the PUT would wait on
    Swift for the rest (``client_timeout``); cut, Swift keeps nothing of
    it, and the object the later upload writes under the same name is
    left alone.
    """

    def __init__(self, stream, size, image_id):
        self.stream = stream
        self.size = size
        self.image_id = image_id
        self.count = 0

    def read(self, length=None):
        chunk = self.stream.read(length)
        if not chunk and getattr(self.stream, "abandoned", False):
            raise UploadTakenOver(image_id=self.image_id)
        self.count += len(chunk)
        if chunk and self.count >= self.size:
            self.stream.read(1)     # the end: the stream's checks run
        return chunk


def _add_to_s3(context, driver, image_id, stream, size, algo):
    if size is None:
        # The driver buffers an upload of unknown size whole, in memory;
        # spooled first, its size is known and a large one goes
        # multipart.
        return _add_spooled(context, driver, image_id, stream, algo)
    # A copy records this upload only, should glance_store ever reuse
    # its s3 driver.
    driver = copy.copy(driver)
    started = []
    _record_multipart(driver, started)
    try:
        return glance_store.store_add_to_backend_with_multihash(
            image_id, stream, size or 0, algo, driver, context=context)
    except BaseException:
        # The driver aborts its upload when the stream ends short or a
        # part fails, not when the stream raises. The upload id, never
        # the object name, is aborted: an attempt that lost its image to
        # a later one cannot touch that one's data.
        _abort_multipart(driver, started)
        raise


def _add_spooled(context, driver, image_id, stream, algo):
    """``_add_to_s3`` of ``stream`` copied first to a temporary file (in
    memory up to the multipart threshold, else beside the staged data)."""
    threshold = _store_conf(driver).s3_store_large_object_size * MiB
    spool_dir = config.staging_dir()
    os.makedirs(spool_dir, mode=0o750, exist_ok=True)
    with tempfile.SpooledTemporaryFile(max_size=threshold,
                                       dir=spool_dir) as spool:
        size = 0
        for chunk in iter(lambda: stream.read(SPOOL_CHUNK_SIZE), b""):
            spool.write(chunk)
            size += len(chunk)
        if getattr(stream, "abandoned", False):
            # the image belongs to a later upload now: leave its object
            raise glance_store.Invalid(_("upload abandoned"))
        spool.seek(0)
        return _add_to_s3(context, driver, image_id, spool, size, algo)


def _record_multipart(driver, started):
    """Make the clients ``driver`` creates append the multipart uploads
    they start to ``started``."""
    create = driver._create_s3_client

    def create_recording():
        client = create()
        client.meta.events.register(
            "after-call.s3.CreateMultipartUpload",
            functools.partial(_record_upload, started))
        return client

    driver._create_s3_client = create_recording


def _record_upload(started, parsed=None, **kwargs):
    if parsed and parsed.get("UploadId"):
        started.append((parsed["Bucket"], parsed["Key"],
                        parsed["UploadId"]))


def _abort_multipart(driver, started):
    for bucket, key, upload_id in started:
        try:
            driver._create_s3_client().abort_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception as e:  # noqa: BLE001 - the add's error matters
            # NoSuchUpload: the driver aborted it already.
            LOG.debug("Multipart upload %s of %s not aborted: %s",
                      upload_id, key, e)
            continue
        LOG.warning("Aborted the multipart upload %s of a failed upload "
                    "of %s", upload_id, key)


# --- ranged reads from s3, swift and http ---

READ_CHUNK_SIZE = 64 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)$")


def ranged_get(url, backend, offset, length):
    """``(chunks, size)``: the bytes from ``offset`` (``length`` long,
    None: to the end) of the object at ``url`` in an s3, swift or http
    store, fetched with an HTTP Range; ``size`` is the whole object's. None
    when the caller must read the whole object and ``cut`` it: not such
    a store, nothing to skip, or the store did not answer the Range.
    The chunks are closed (their connection released) by ``close``.
    """
    if (not offset and length is None) or length == 0:
        return None
    try:
        store = driver_for(url, backend)
    except glance_store.UnknownScheme:
        return None
    schemes = store.get_schemes()
    if "s3" in schemes:
        return _s3_range(store, url, offset, length)
    if "swift" in schemes:
        return _swift_range(store, url, offset, length)
    if "http" in schemes:
        return _http_range(store, url, offset, length)
    return None


def _range_header(offset, length):
    last = "" if length is None else str(offset + length - 1)
    return "bytes=%d-%s" % (offset, last)


def _range_total(content_range, offset, length):
    """The object size a Content-Range gives if it is the range asked
    for (a store clips it at the end of the object); else None."""
    match = _CONTENT_RANGE.match(content_range or "")
    if match is None:
        return None
    first, last, total = (int(g) for g in match.groups())
    end = total if length is None else min(offset + length, total)
    if first != offset or last != end - 1:
        return None
    return total


def _ranged(body, content_range, offset, length):
    total = _range_total(content_range, offset, length)
    if total is None:
        LOG.debug("Store answered Content-Range %r to %s; reading it "
                  "whole", content_range, _range_header(offset, length))
        body.close()
        return None
    return body, total


def _s3_range(store, url, offset, length):
    # The driver's own client (its host, credentials, TLS and checksum
    # settings) and its parsing of the location.
    try:
        loc = _location(store, url).store_location
        response = store._create_s3_client().get_object(
            Bucket=loc.bucket, Key=loc.key,
            Range=_range_header(offset, length))
    except Exception as e:  # noqa: BLE001 - glance_store's get reports it
        LOG.debug("Ranged s3 read of %s failed: %s", url, e)
        return None
    body = RangeBody(response["Body"].read, response["Body"].close)
    status = response["ResponseMetadata"].get("HTTPStatusCode")
    content_range = response.get("ContentRange") if status == 206 else None
    return _ranged(body, content_range, offset, length)


def _swift_range(store, url, offset, length):
    # The driver's own connection (its authentication, endpoint and TLS
    # options) and its parsing of the location. A multi-tenant store
    # connects with the request's token, which is not passed down here:
    # its objects are read whole.
    if _store_conf(store).swift_store_multi_tenant:
        return None
    try:
        loc = _location(store, url).store_location
        with store.get_manager(loc) as manager:
            headers, body = manager.get_connection().get_object(
                loc.container, loc.obj, resp_chunk_size=READ_CHUNK_SIZE,
                headers={"Range": _range_header(offset, length)})
    except Exception as e:  # noqa: BLE001 - glance_store's get reports it
        LOG.debug("Ranged swift read of %s failed: %s", url, e)
        return None
    return _ranged(RangeBody(body.read, body.close),
                   headers.get("content-range"), offset, length)


def _http_range(store, url, offset, length):
    # The http driver's TLS and proxy options; redirects are left to it.
    conf = _store_conf(store)
    verify = conf.https_ca_certificates_file or not conf.https_insecure
    try:
        response = requests.get(
            url, headers={"Range": _range_header(offset, length)},
            stream=True, allow_redirects=False, verify=verify,
            proxies=conf.http_proxy_information)
    except requests.RequestException as e:
        LOG.debug("Ranged http read of %s failed: %s", url, e)
        return None
    body = RangeBody(response.raw.read, response.close)
    content_range = response.headers.get("Content-Range") \
        if response.status_code == 206 else None
    return _ranged(body, content_range, offset, length)


class RangeBody:
    """The chunks of a ranged response; ``close`` releases it."""

    def __init__(self, read, close):
        self._read = read
        self._close = close

    def __iter__(self):
        while True:
            chunk = self._read(READ_CHUNK_SIZE)
            if not chunk:
                return
            yield chunk

    def close(self):
        self._close()


# --- glance_store's private parts (see the module docstring) ---

def file_metadata(store, path):
    """The location metadata the filesystem ``store`` gives ``path``."""
    return store._get_metadata(path)


def check_internals():
    """RuntimeError naming each private part of glance_store this module
    relies on that is gone (the s3 driver's only if boto3 is installed)."""
    missing = []
    if not callable(getattr(FilesystemStore, "_get_metadata", None)):
        missing.append("filesystem Store._get_metadata")
    if not hasattr(ChunkedFile, "__iter__"):
        missing.append("filesystem ChunkedFile")
    try:
        from glance_store._drivers import s3
    except ImportError:
        s3 = None
    if s3 is not None and not callable(
            getattr(s3.Store, "_create_s3_client", None)):
        missing.append("s3 Store._create_s3_client")
    if missing:
        raise RuntimeError("glance_store changed: %s" % ", ".join(missing))
