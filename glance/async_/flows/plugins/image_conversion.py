"""The ``image_conversion`` import plugin: qemu-img convert.

Converts the staged data to ``[image_conversion] output_format`` (raw
by default, as in Glance) with ``qemu-img`` (Debian's qemu-utils) and
sets the image's ``disk_format`` to it. The converted file replaces the
staged one.

qemu-img must never parse a file it should not, so, as Glance does,
every step is checked before the next one runs:

1. our own format inspection (``glance.image_format.inspect_file``, the
   checks of an upload, a format mismatch always refused) on the staged
   file: it must be in the image's ``disk_format`` and pass the safety
   checks (no backing or data file, one-file VMDK, a sane MBR/GPT...);
   an ISO is left alone;
2. ``qemu-img info`` must agree on the format and find no backing file,
   no data file, and a VMDK create-type in ``vmdk_allowed_types``;
3. after ``qemu-img convert`` the output is inspected again and must be
   in the output format, unhidden in something else.

Data that is already in the output format goes through 1 and 2 and is
left alone; data inside a container (``container_format`` not ``bare``)
is not a disk image and is not converted.
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
from glance import image_format

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.import_group("image_format", "glance.common.config")

image_conversion_opts = [
    cfg.StrOpt("output_format", default="raw",
               choices=("qcow2", "raw", "vmdk"),
               help=_("Disk format imported images are converted to.")),
]

CONF.register_opts(image_conversion_opts, group="image_conversion")

TIMEOUT = 3600
# Our disk_format names as qemu-img calls them.
QEMU_NAMES = {"vhd": "vpc"}
CONVERTIBLE = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")


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
    out = _run(["info", "--output=json", "-f", QEMU_NAMES.get(fmt, fmt),
                path]).stdout
    return json.loads(out)


def _refuse(reason):
    LOG.warning("image_conversion refuses the image: %s", reason)
    raise exception.InvalidImageData(reason=reason)


def inspect(path, disk_format):
    """The format found in the file at ``path`` ('gpt' counts as 'raw')
    after the upload checks, a mismatch with ``disk_format`` refused."""
    try:
        detected = image_format.inspect_file(path, disk_format).detected
    except exception.InvalidImageData as e:
        LOG.warning("image_conversion refuses the image (%s): %s",
                    os.path.basename(path), e)
        raise
    return "raw" if detected == image_format.DISK_WITH_TABLE else detected


def check_qemu_info(path, disk_format):
    """What ``qemu-img info`` says must agree with our inspection."""
    details = info(path, disk_format)
    expected = QEMU_NAMES.get(disk_format, disk_format)
    if details.get("format") != expected:
        _refuse(_("qemu-img sees the data as %(found)s, not %(fmt)s")
                % {"found": details.get("format"), "fmt": disk_format})
    specific = (details.get("format-specific") or {}).get("data") or {}
    if details.get("backing-filename") or details.get("full-backing-"
                                                      "filename"):
        _refuse(_("images with a backing file are not allowed"))
    if specific.get("data-file"):
        _refuse(_("images with a data-file are not allowed"))
    if expected == "vmdk":
        create_type = specific.get("create-type")
        allowed = CONF.image_format.vmdk_allowed_types
        if not create_type:
            _refuse(_("the VMDK create-type cannot be determined"))
        if create_type not in allowed:
            _refuse(_("VMDK create-type %(type)s is not one of "
                      "vmdk_allowed_types (%(allowed)s)")
                    % {"type": create_type,
                       "allowed": ", ".join(allowed) or "none"})
    return details


def run(context, image, path):
    target = CONF.image_conversion.output_format
    source = image.get("disk_format")
    if image.get("container_format") != "bare":
        LOG.info("Not converting image %s: its data is in a %s container",
                 image["id"], image.get("container_format"))
        return image
    if source == "iso":
        inspect(path, source)      # an ISO indeed (a hybrid one may be)
        LOG.debug("Not converting ISO image %s", image["id"])
        return image
    if source not in CONVERTIBLE:
        raise exception.Invalid(_("Cannot convert images of disk_format "
                                  "%s") % source)
    inspect(path, source)
    check_qemu_info(path, source)
    if source == target:
        return image
    tmp = path + "." + target
    try:
        _run(["convert", "-f", QEMU_NAMES.get(source, source),
              "-O", QEMU_NAMES.get(target, target), path, tmp])
        # Whatever went in, what comes out must be plainly the target.
        inspect(tmp, target)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    LOG.info("Converted image %s from %s to %s", image["id"], source,
             target)
    return db.image_update(image["id"], {"disk_format": target})
