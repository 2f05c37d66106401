"""The files of the image cache and the contract of its index drivers.

Layout under ``image_cache_dir``::

    <image_id>             a complete, verified image (only ever renamed in)
    incomplete/<image_id>  an image being written (one writer at a time)
    invalid/<image_id>     data that failed its checksum, kept for a look
    queue/<image_id>       an empty file: the image waits for the prefetcher

A writer holds an exclusive ``flock`` on its ``incomplete/`` file for as
long as it writes. A second writer (another green thread, another worker
process, a cron job) fails to take the lock and leaves the image alone; a
writer that died leaves an unlocked file that the next writer takes over.
The complete file appears by ``rename`` only after the checksum matched, so
readers never see partial data.

:class:`Driver` implements everything about files; a subclass keeps the
index (size, hits, access times) in :meth:`_index_*` methods.
"""
import errno
import fcntl
import os
import time

from oslo_log import log as logging

from glance.common import exception
from glance.common import filewriter
from glance.i18n import _

LOG = logging.getLogger(__name__)


class InvalidChecksum(exception.GlanceException):
    message = _("Checksum verification failed for image %(image_id)s: "
                "expected %(expected)s, got %(actual)s")


class CacheBusy(Exception):
    """Another writer is caching this image right now."""


class Writer:
    """The ``incomplete/`` file of one image being written, locked.

    ``write`` chunks, then ``commit(checksum)`` renames the file into
    place (or moves it to ``invalid/``), or ``abort()`` removes it.
    A write error (disk full...) turns the writer off: later writes are
    ignored and the commit becomes an abort, so the caller's download
    goes on.
    """

    def __init__(self, driver, image_id, fd, path):
        self.driver = driver
        self.image_id = image_id
        self.path = path
        self.file = filewriter.adopt(fd)
        self.size = 0
        self.failed = False
        self.closed = False

    def write(self, chunk):
        if self.failed:
            return
        try:
            self.file.write(chunk)
            self.size += len(chunk)
        except OSError as e:
            LOG.warning("Cannot write image %(id)s into the cache: %(e)s",
                        {"id": self.image_id, "e": e})
            self.failed = True

    def commit(self, checksum_ok=True, checksum=None):
        """Put the file in place; False if it was not."""
        if self.closed:
            return False
        if self.failed:
            self.abort()
            return False
        try:
            self.file.finish()  # the file holds exactly what was written
            if not checksum_ok:
                self.driver._move_to_invalid(self.image_id, self.path)
                return False
            self.driver._index_add(self.image_id, self.size, checksum)
            os.rename(self.path, self.driver.get_image_filepath(self.image_id))
            LOG.debug("Image %s is now cached", self.image_id)
            self.driver.delete_queued_image(self.image_id)
            return True
        except OSError:
            LOG.exception("Cannot put image %s into the cache",
                          self.image_id)
            _unlink(self.path)
            return False
        finally:
            self._close()

    def abort(self):
        """Forget what was written."""
        if self.closed:
            return
        _unlink(self.path)
        self._close()

    def _close(self):
        self.closed = True
        try:
            self.file.close()  # releases the lock
        except OSError:
            pass


class Driver:
    """Files of the cache; the index is the subclass's business."""

    #: names in ``base_dir`` that belong to the index, not to images
    index_files = ()

    def __init__(self, base_dir, max_size=0):
        self.base_dir = base_dir
        self.max_size = max_size

    # --- set-up ---

    def configure(self):
        """Create the directories and the index; raise if unusable."""
        for sub in ("", "incomplete", "invalid", "queue"):
            os.makedirs(os.path.join(self.base_dir, sub), mode=0o750,
                        exist_ok=True)
        self._index_configure()

    # --- paths ---

    def get_image_filepath(self, image_id, cache_status="active"):
        _check_id(image_id)
        if cache_status == "active":
            return os.path.join(self.base_dir, image_id)
        return os.path.join(self.base_dir, cache_status, image_id)

    def _entries(self, sub=""):
        """(name, stat) of the image files in ``sub``."""
        directory = os.path.join(self.base_dir, sub)
        found = []
        try:
            entries = os.scandir(directory)
        except FileNotFoundError:
            return found
        with entries:
            for entry in entries:
                name = entry.name
                if not _looks_like_id(name) or \
                        name.startswith(self.index_files):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False):
                        found.append((name, entry.stat()))
                except FileNotFoundError:
                    continue
        return found

    # --- cached images ---

    def is_cached(self, image_id):
        return os.path.exists(self.get_image_filepath(image_id))

    def is_being_cached(self, image_id):
        """Whether a live writer holds the image's incomplete file."""
        path = self.get_image_filepath(image_id, "incomplete")
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def is_cacheable(self, image_id):
        return not (self.is_cached(image_id)
                    or self.is_being_cached(image_id))

    def get_image_size(self, image_id):
        try:
            return os.path.getsize(self.get_image_filepath(image_id))
        except FileNotFoundError:
            return None

    def get_cache_size(self):
        return sum(st.st_size for _name, st in self._entries())

    def get_cached_images(self):
        """Dicts of the cached images: image_id, size, hits,
        last_accessed, last_modified, checksum."""
        on_disk = dict(self._entries())
        rows = {r["image_id"]: r for r in self._index_rows()}
        images = []
        for image_id, st in sorted(on_disk.items()):
            row = rows.get(image_id) or {
                "image_id": image_id, "hits": 0, "checksum": None,
                "last_accessed": st.st_mtime, "last_modified": st.st_mtime}
            images.append(dict(row, size=st.st_size))
        return images

    def get_hit_count(self, image_id):
        if not self.is_cached(image_id):
            return 0
        row = self._index_get(image_id)
        return row["hits"] if row else 0

    def get_least_recently_accessed(self):
        """The cached images, least recently accessed first."""
        return sorted(self.get_cached_images(),
                      key=lambda r: (r["last_accessed"], r["image_id"]))

    def delete_cached_image(self, image_id):
        """Remove one image from the cache; whether it was there."""
        existed = _unlink(self.get_image_filepath(image_id))
        self._index_delete(image_id)
        return existed

    def delete_cached_images(self, image_ids):
        """Remove several images at once (one index transaction); how
        many of them had a file."""
        existed = sum(1 for image_id in image_ids
                      if _unlink(self.get_image_filepath(image_id)))
        self._index_delete_many(image_ids)
        return existed

    def delete_all_cached_images(self):
        count = 0
        for image_id, _st in self._entries():
            if self.delete_cached_image(image_id):
                count += 1
        self._index_clear()
        return count

    # --- reading ---

    def open_for_read(self, image_id):
        """An open binary file of the cached image (FileNotFoundError if
        it is not cached). Call :meth:`record_hit` after reading it."""
        return open(self.get_image_filepath(image_id), "rb")

    def record_hit(self, image_id):
        self._index_hit(image_id, time.time())

    # --- writing ---

    def open_for_write(self, image_id):
        """A locked :class:`Writer`, or CacheBusy when another writer has
        the image (or it is already cached)."""
        path = self.get_image_filepath(image_id, "incomplete")
        for _attempt in range(3):
            # read and write: the writer maps the file's pages
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise CacheBusy(image_id) from e
                raise
            if _same_file(fd, path):
                break
            os.close(fd)  # its writer renamed it away meanwhile
        else:
            raise CacheBusy(image_id)
        if self.is_cached(image_id):
            os.close(fd)
            raise CacheBusy(image_id)
        if os.fstat(fd).st_size:
            # A dead writer's leftovers. Only then: ext4 flushes a file
            # truncated to 0 when it is closed (auto_da_alloc), which
            # made every cached file cost a disk write and a slow unlink.
            os.ftruncate(fd, 0)
        return Writer(self, image_id, fd, path)

    def _move_to_invalid(self, image_id, path):
        LOG.error("Image %s failed its checksum on the way into the cache; "
                  "moved to invalid/", image_id)
        os.rename(path, self.get_image_filepath(image_id, "invalid"))

    # --- maintenance ---

    def get_cache_files(self, sub):
        """Paths of the image files in ``incomplete``/``invalid``."""
        return [os.path.join(self.base_dir, sub, name)
                for name, _st in self._entries(sub)]

    def delete_invalid_files(self):
        """Remove everything in ``invalid/``; (files, bytes)."""
        files = nbytes = 0
        for name, st in self._entries("invalid"):
            if _unlink(self.get_image_filepath(name, "invalid")):
                files += 1
                nbytes += st.st_size
        return files, nbytes

    def delete_stalled_files(self, older_than):
        """Remove incomplete files untouched since ``older_than`` (epoch
        seconds); (files, bytes)."""
        files = nbytes = 0
        for name, st in self._entries("incomplete"):
            if st.st_mtime < older_than:
                LOG.info("Removing stalled incomplete cache file of %s",
                         name)
                if _unlink(self.get_image_filepath(name, "incomplete")):
                    files += 1
                    nbytes += st.st_size
        return files, nbytes

    # --- the queue ---

    def is_queued(self, image_id):
        return os.path.exists(self.get_image_filepath(image_id, "queue"))

    def queue_image(self, image_id):
        """Queue for the prefetcher; False if queued or cached already."""
        if self.is_cached(image_id) or self.is_queued(image_id):
            return False
        path = self.get_image_filepath(image_id, "queue")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o640))
        except FileExistsError:
            return False
        return True

    def get_queued_images(self):
        """Ids of the queued images, first queued first."""
        entries = self._entries("queue")
        entries.sort(key=lambda e: (e[1].st_mtime, e[0]))
        return [name for name, _st in entries]

    def delete_queued_image(self, image_id):
        return _unlink(self.get_image_filepath(image_id, "queue"))

    def delete_all_queued_images(self):
        return sum(1 for name in self.get_queued_images()
                   if self.delete_queued_image(name))

    # --- the index, for subclasses ---

    def _index_configure(self):
        raise NotImplementedError

    def _index_rows(self):
        raise NotImplementedError

    def _index_get(self, image_id):
        raise NotImplementedError

    def _index_add(self, image_id, size, checksum):
        raise NotImplementedError

    def _index_hit(self, image_id, when):
        raise NotImplementedError

    def _index_delete(self, image_id):
        raise NotImplementedError

    def _index_delete_many(self, image_ids):
        for image_id in image_ids:
            self._index_delete(image_id)

    def _index_clear(self):
        raise NotImplementedError


def _same_file(fd, path):
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _unlink(path):
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _looks_like_id(name):
    return bool(name) and not name.startswith(".")


def _check_id(image_id):
    if not image_id or "/" in image_id or image_id in (".", ".."):
        raise exception.Invalid(_("Invalid image id %r") % (image_id,))
