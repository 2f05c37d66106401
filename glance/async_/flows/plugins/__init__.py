"""Import plugins: steps run on the staged data before it is stored.

``[image_import_opts] image_import_plugins`` lists them by name, in
order: ``image_decompression``, ``image_conversion``,
``inject_image_metadata``, ``no_op``. Each is a module here with
``run(context, image, path)``: it may rewrite the file at ``path`` and
returns the image (changed in the database if it changed anything).
Plugins run for glance-direct and web-download, not for copy-image.
"""
import importlib

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import config
from glance.common import exception
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

KNOWN = ("image_decompression", "image_conversion", "inject_image_metadata",
         "no_op")

image_import_opts = [
    # Glance's syntax, [a, 'b']; an unknown plugin stops start-up
    config.BracketListOpt(
        "image_import_plugins", default=[],
        item_type=cfg.types.String(choices=KNOWN, quotes=True),
        help=_("Import plugins to run on imported data, in order, e.g. "
               "[image_decompression, image_conversion]: "
               "image_decompression, image_conversion, "
               "inject_image_metadata, no_op.")),
]

CONF.register_opts(image_import_opts, group="image_import_opts")


def list_opts():
    return [("image_import_opts", image_import_opts)]


def load(name):
    """The plugin module called ``name`` (Invalid if unknown)."""
    if name not in KNOWN:
        raise exception.InvalidConfiguration(
            reason=_("unknown image import plugin %s") % name)
    return importlib.import_module("glance.async_.flows.plugins." + name)


def run_all(context, image, path):
    """Run the configured plugins on the staged file; the image."""
    for name in CONF.image_import_opts.image_import_plugins:
        plugin = load(name)
        LOG.debug("Running import plugin %s on image %s", name, image["id"])
        image = plugin.run(context, image, path) or image
    return image
