"""The ``image_conversion`` import plugin: qemu-img convert.

Converts the staged data to ``[image_conversion] output_format`` (qcow2
by default) with ``qemu-img`` (Debian's qemu-utils) and sets the image's
``disk_format`` to it. The source must really be in the image's
``disk_format`` (as ``qemu-img info`` sees it) and must not name a
backing file or data file; data already in the output format is left
alone. The converted file replaces the staged one.
"""
import json
import os
import shutil
import subprocess

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import exception
from glance.db import api as db
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

image_conversion_opts = [
    cfg.StrOpt("output_format", default="qcow2",
               choices=("qcow2", "raw", "vmdk"),
               help=_("Disk format imported images are converted to.")),
]

CONF.register_opts(image_conversion_opts, group="image_conversion")

TIMEOUT = 3600


def list_opts():
    return [("image_conversion", image_conversion_opts)]


def qemu_img():
    """The path of qemu-img, or None."""
    return shutil.which("qemu-img")


def _run(args):
    binary = qemu_img()
    if binary is None:
        raise exception.InvalidConfiguration(
            reason=_("image_conversion needs qemu-img (qemu-utils)"))
    try:
        return subprocess.run([binary] + args, capture_output=True,
                              text=True, check=True, timeout=TIMEOUT)
    except subprocess.CalledProcessError as e:
        raise exception.Invalid(_("qemu-img failed: %s")
                                % (e.stderr or e).strip()) from e
    except subprocess.TimeoutExpired as e:
        raise exception.Invalid(_("qemu-img timed out")) from e


def info(path, fmt):
    out = _run(["info", "--output=json", "-f", fmt, path]).stdout
    return json.loads(out)


def run(context, image, path):
    target = CONF.image_conversion.output_format
    source = image.get("disk_format")
    if source == target:
        return image
    if source not in ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx"):
        raise exception.Invalid(_("Cannot convert images of disk_format "
                                  "%s") % source)
    details = info(path, {"vhd": "vpc"}.get(source, source))
    if details.get("backing-filename") or (
            details.get("format-specific", {}).get("data", {})
            .get("data-file")):
        raise exception.Invalid(_("Image has a backing or data file: "
                                  "refusing to convert it"))
    tmp = path + "." + target
    try:
        _run(["convert", "-f", {"vhd": "vpc"}.get(source, source),
              "-O", target, path, tmp])
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    LOG.info("Converted image %s from %s to %s", image["id"], source,
             target)
    return db.image_update(image["id"], {"disk_format": target})
