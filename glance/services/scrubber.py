"""The scrubber: deletes the data of images deleted with ``delayed_delete``.

``Scrubber.run()`` is one pass (``glance-scrubber`` from cron):
every image ``pending_delete`` for at least ``scrub_time`` seconds has
each of its locations, in every store, claimed (a compare-and-set on the
location's status, so two scrubbers never delete the same data), deleted
and marked ``deleted``; then the image goes ``deleted``. A location whose
delete fails is logged and left ``pending_delete``: the next run tries
again. Images are scrubbed ``scrub_pool_size`` at a time.
``Scrubber.run_forever(wakeup_time)`` is ``glance-scrubber --daemon``.
``restore(image_id)`` (``glance-scrubber --restore``) brings a
``pending_delete`` image back to ``active``.
"""
import datetime
import threading

from oslo_config import cfg
from oslo_log import log as logging

import glance.async_
from glance.common import exception
from glance.db import api as db
from glance.i18n import _
from glance import store

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

PAGE_SIZE = 1000
# a claim ("deleting") older than this was left by a scrubber that died
STALE_CLAIM = 3600

scrubber_opts = [
    cfg.IntOpt("scrub_time", default=0, min=0,
               help=_("Seconds an image stays pending_delete (its data "
                      "kept, so it can be restored) before the scrubber "
                      "deletes its data. Used with delayed_delete.")),
    cfg.IntOpt("scrub_pool_size", default=1, min=1,
               help=_("Images the scrubber deletes in parallel.")),
]

scrubber_cmd_opts = [
    cfg.IntOpt("wakeup_time", default=300, min=0,
               help=_("Seconds between two passes of glance-scrubber "
                      "--daemon.")),
]

scrubber_cli_opts = [
    cfg.BoolOpt("daemon", short="D", default=False,
                help=_("Run as a daemon, scrubbing every wakeup_time "
                       "seconds, instead of once (from cron).")),
    cfg.StrOpt("restore", metavar="<IMAGE_ID>",
               help=_("Bring a pending_delete image back to active, with "
                      "its data, instead of scrubbing. Stop the scrubber "
                      "daemon first.")),
]

CONF.register_opts(scrubber_opts)


def list_opts():
    """glance-api's scrubber options (with delayed_delete, in config)."""
    return [(None, scrubber_opts)]


def list_scrubber_opts():
    """Every option of glance-scrubber (the glance.scrubber namespace)."""
    from glance.common import config
    delayed = [o for o in config.common_opts if o.dest == "delayed_delete"]
    return [(None, delayed + scrubber_opts + scrubber_cmd_opts
             + scrubber_cli_opts)]


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Scrubber:
    """Deletes the data of ``pending_delete`` images; see the module."""

    def __init__(self, scrub_time=None, pool_size=None,
                 stale_after=STALE_CLAIM):
        self.scrub_time = CONF.scrub_time if scrub_time is None \
            else scrub_time
        self.pool_size = pool_size or CONF.scrub_pool_size
        self.stale_after = stale_after

    def run(self):
        """One pass: ``(images scrubbed, locations that failed)``."""
        cutoff = _utcnow() - datetime.timedelta(seconds=self.scrub_time)
        pool = glance.async_.get_threadpool_model()(self.pool_size)
        scrubbed = failed = 0
        marker = None
        try:
            while True:
                images = db.pending_images(cutoff, PAGE_SIZE, marker)
                if not images:
                    break
                marker = images[-1]["id"]
                for done, errors in pool.map(self.scrub_image, images):
                    scrubbed += done
                    failed += errors
                if len(images) < PAGE_SIZE:
                    break
        finally:
            pool.shutdown()
        if scrubbed or failed:
            LOG.info("Scrubbed %(n)d image(s); %(f)d location(s) could not "
                     "be scrubbed and wait for the next run",
                     {"n": scrubbed, "f": failed})
        return scrubbed, failed

    def scrub_image(self, image):
        """Delete the data of one image: ``(1 if the image is now
        deleted else 0, locations that failed)``."""
        failed = 0
        for location in image["locations"]:
            if not db.location_claim(location, self.stale_after):
                continue  # another scrubber has it, or had it
            failed += not self._scrub_location(image["id"], location)
        try:
            store.delete_staged_data(image["id"])
        except Exception:  # noqa: BLE001 - the stores' data matters
            LOG.exception("Could not remove staged data of image %s",
                          image["id"])
        if db.image_scrubbed(image["id"]):
            LOG.info("Image %s has been scrubbed", image["id"])
            return 1, failed
        return 0, failed

    @staticmethod
    def _scrub_location(image_id, location):
        try:
            if not store.delete_image_data(location):
                LOG.info("Image %(id)s had no data at %(url)s; marking the "
                         "location deleted", {"id": image_id,
                                              "url": location["url"]})
        except Exception as e:  # noqa: BLE001 - retried next run
            LOG.error("Unable to scrub image %(id)s from %(url)s: %(err)s; "
                      "trying again on the next run",
                      {"id": image_id, "url": location["url"], "err": e})
            db.location_release(location["id"], scrubbed=False)
            return False
        db.location_release(location["id"], scrubbed=True)
        return True

    def run_forever(self, interval, stop=None):
        """``run()`` now and every ``interval`` seconds until ``stop`` (an
        Event) is set; a failing pass is logged and the loop goes on."""
        stop = stop or threading.Event()
        while True:
            try:
                self.run()
            except Exception:  # noqa: BLE001 - a daemon goes on
                LOG.exception("Scrubber pass failed; trying again in %ss",
                              interval)
            if stop.wait(interval):
                return


def restore(image_id):
    """``pending_delete`` -> ``active`` (``glance-scrubber --restore``);
    the image. ImageNotFound or Conflict (not pending, nothing left)."""
    try:
        image = db.image_restore(image_id)
    except exception.NotFound:
        raise exception.ImageNotFound(image_id=image_id) from None
    LOG.info("Image %s restored to active", image_id)
    return image
