"""The ``image_decompression`` import plugin.

Decompresses staged data that is gzip, bzip2, lzma/xz or a zip archive
holding one file, recognised by its magic bytes; other data is left
alone. The image's ``container_format`` ``compressed`` becomes ``bare``.
"""
import bz2
import gzip
import lzma
import os
import shutil
import zipfile

from oslo_log import log as logging

from glance.common import exception
from glance.db import api as db
from glance.i18n import _

LOG = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"),
         (b"\xfd7zXZ\x00", "lzma"), (b"PK\x03\x04", "zip"))


def detect(path):
    with open(path, "rb") as f:
        head = f.read(8)
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    return None


def _open(kind, path):
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bzip2":
        return bz2.open(path, "rb")
    if kind == "lzma":
        return lzma.open(path, "rb")
    archive = zipfile.ZipFile(path)
    names = [i for i in archive.infolist() if not i.is_dir()]
    if len(names) != 1:
        archive.close()
        raise exception.Invalid(_("A zip archive to import must hold "
                                  "exactly one file."))
    return archive.open(names[0])


def run(context, image, path):
    kind = detect(path)
    if kind is None:
        return image
    tmp = path + ".uncompressed"
    try:
        with _open(kind, path) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        os.replace(tmp, path)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as e:
        raise exception.Invalid(_("Image data could not be decompressed "
                                  "(%(kind)s): %(err)s")
                                % {"kind": kind, "err": e}) from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    LOG.info("Decompressed %s data of image %s", kind, image["id"])
    if image.get("container_format") == "compressed":
        return db.image_update(image["id"], {"container_format": "bare"})
    return image
