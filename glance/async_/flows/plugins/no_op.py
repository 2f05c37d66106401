"""The ``no_op`` import plugin: does nothing (a template and a test)."""
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def run(context, image, path):
    LOG.debug("no_op import plugin ran for image %s", image["id"])
    return image
