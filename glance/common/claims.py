"""Which worker process holds which claim on an image, on local disk.

An upload claims its image (``saving``), a stage too (``uploading``), an
import takes the image's lock; the database says the image is taken, not
by whom. When a glance-api worker dies (killed, or stopped by the
watchdog) its supervisor must give back what that worker held at once,
instead of waiting for the stall timeouts meant for a whole node that
died. So each claim is also recorded here, as an empty file::

    <directory>/<pid>/<kind>.<image id>[.<detail>]

created after the claim was taken in the database and removed before
the image is given back (so a recorded claim is never someone else's).
The supervisor lists a dead worker's files and has them released
(``glance.services.recovery``), then removes the worker's directory.

A process records claims only once a registry is :func:`activate`-d in
it (glance-api workers do); elsewhere (tools, uwsgi) :func:`hold`
returns a claim that records nothing.
"""
import os
import shutil

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

__all__ = ["Claim", "ClaimRegistry", "activate", "active", "hold"]

_ACTIVE = None


class ClaimRegistry:
    """The claim files under ``directory``, one sub-directory per pid."""

    def __init__(self, directory):
        self.directory = directory

    def _dir(self, pid):
        return os.path.join(self.directory, str(pid))

    def record(self, kind, *parts):
        """Record a claim of this process; the file's path, or None if it
        could not be written (the claim then falls back on the stall
        timeouts)."""
        name = ".".join((kind,) + tuple(str(p) for p in parts))
        if os.sep in name or name.startswith("."):
            raise ValueError("invalid claim %r" % name)
        directory = self._dir(os.getpid())
        path = os.path.join(directory, name)
        try:
            os.makedirs(directory, mode=0o750, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o640))
        except OSError as e:
            LOG.warning("Could not record claim %s: %s", name, e)
            return None
        return path

    def claims_of(self, pid):
        """``[(kind, [parts...])]`` recorded by process ``pid``."""
        try:
            names = sorted(os.listdir(self._dir(pid)))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [(name.split(".")[0], name.split(".")[1:]) for name in names]

    def forget(self, pid):
        """Remove every claim recorded by ``pid``."""
        shutil.rmtree(self._dir(pid), ignore_errors=True)


class Claim:
    """A recorded claim; :meth:`end` (idempotent) removes its record."""

    def __init__(self, path=None):
        self.path = path

    def end(self):
        path, self.path = self.path, None
        if path is None:
            return
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            LOG.warning("Could not remove claim record %s: %s", path, e)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.end()


def activate(registry):
    """Record this process's claims in ``registry`` (None: stop).

    Records left by an earlier process with the same pid are removed.
    """
    global _ACTIVE
    _ACTIVE = registry
    if registry is not None:
        registry.forget(os.getpid())


def active():
    """The registry this process records claims in, or None."""
    return _ACTIVE


def hold(kind, *parts):
    """Record that this process holds ``kind`` on ``parts`` (an image id,
    then details); a :class:`Claim` to :meth:`~Claim.end` when the claim
    is given back or handed on."""
    registry = _ACTIVE
    if registry is None:
        return Claim()
    return Claim(registry.record(kind, *parts))
