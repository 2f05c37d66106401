"""Give back what a dead glance-api worker held.

When a worker dies (SIGKILL, a crash, the watchdog), the supervisor
(``glance.common.server``) forks a short-lived process that runs
:func:`release_claims` on the claims the worker recorded
(``glance.common.claims``):

* ``upload.<image>.saving``: an upload; the image goes back to
  ``queued`` and its partial data is removed from the file stores;
* ``stage.<image>.uploading``: a stage; the partial staged data is
  removed and the image goes back to ``queued``;
* ``import.<image>.<task>``: an import running in that worker; its task
  fails, the lock is released, the data it wrote is removed and the image
  goes back (see ``glance.services.image_import.release_lock``).

Each release first checks the image is still in the state the claim
left it in, so a claim that ended just before the worker died changes
nothing. The stall timeouts (``saving_stall_timeout``, ``[task]
import_lock_timeout``) stay the fallback for a node that dies whole.
"""
from oslo_log import log as logging

from glance.services import image_data
from glance.services import image_import

LOG = logging.getLogger(__name__)

__all__ = ["release_claims"]


def _upload(image_id, status="saving"):
    return image_data.release_abandoned(image_id, status)


def _import(image_id, task_id):
    return image_import.release_lock(image_id, task_id,
                                     image_import.DEAD_WORKER)


RELEASES = {"upload": _upload, "stage": _upload, "import": _import}


def release_claims(registry, pid):
    """Release every claim recorded by dead process ``pid``, then forget
    them; the number released (claims already over are not counted)."""
    released = 0
    for kind, parts in registry.claims_of(pid):
        release = RELEASES.get(kind)
        if release is None:
            LOG.warning("Unknown claim %s of process %d: ignored", kind, pid)
            continue
        try:
            if release(*parts):
                released += 1
        except Exception:  # noqa: BLE001 - the others still go back
            LOG.exception("Could not release claim %s %s of dead worker "
                          "%d; the stall timeout will", kind, parts, pid)
    registry.forget(pid)
    return released
