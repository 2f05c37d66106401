"""Format inspection of image data on its way into a store.

``FormatCheck`` is fed the chunks of an upload (or stage, import, copy)
as they pass, with oslo.utils' format inspectors (the ones Glance uses),
and runs their full set of safety checks: a qcow2 backing file, data
file or unknown feature, a VMDK create-type or extent that is not one
sparse file, a protective MBR that does not describe a proper GPT disk
(or an MBR with no or bad partitions), an unsupported LUKS version, a
banned format (QED), data that looks like two formats at once (an ISO
that is also a qcow2). It refuses data whose detected format cannot be
the declared ``disk_format`` and unsafe images as soon as it can tell,
and gives ``virtual_size``. ``inspect_file`` does the same for a file
(the image_conversion plugin checks its input and output with it).

The rules, as Glance's:

- Only ``container_format`` ``bare`` data is inspected: inside a
  container the data is not the disk.
- The detected format must be the declared one
  (``[image_format] require_image_format_match``). A disk with a
  partition table (detected ``gpt``) is ``raw``; so is an ISO that also
  carries a GPT (a hybrid boot image is an ``iso``). Formats we cannot
  inspect (``ami``, ``aki``, ``ari``, ``ploop``...) take data in which no
  other format is detected.
- The detected format's safety checks always run, match or not; a
  failure refuses the data. The only exceptions are the GPT/MBR checks
  named in ``[image_format] gpt_safety_checks_nonfatal``, and the ``mbr``
  check for kernel and ramdisk images (``aki``, ``ari``), whose boot
  sectors may look like an MBR on purpose.
"""
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils.imageutils import format_inspector

from glance.common.exception import InvalidImageData
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.import_group("image_format", "glance.common.config")

image_format_opts = [
    cfg.ListOpt("gpt_safety_checks_nonfatal", default=[],
                help=_("Names of the MBR/GPT safety checks (oslo.utils' "
                       "format inspector: 'mbr') whose failure is only "
                       "logged for data detected as a partitioned disk, "
                       "instead of refusing it. Empty (the default, as in "
                       "Glance): a disk whose protective MBR does not "
                       "describe a proper GPT disk, or whose MBR has "
                       "invalid or no partitions, is refused. Setting "
                       "'mbr' accepts legitimate disks with sloppy MBRs, "
                       "and loosens what a valid disk image is.")),
]

CONF.register_opts(image_format_opts, group="image_format")

# Partitioned disks: data of these declared formats may carry an MBR/GPT.
DISK_WITH_TABLE = "gpt"
# Kernel and ramdisk images may hold a boot sector that looks like an MBR.
MBR_NONFATAL_FORMATS = ("aki", "ari")
# Formats whose virtual size is counted from the whole data.
SIZED_BY_LENGTH = ("luks",)
FILE_CHUNK = 1024 * 1024


def list_opts():
    return [("image_format", image_format_opts)]


def inspectable(disk_format):
    """Whether oslo.utils has an inspector for ``disk_format``."""
    return disk_format in format_inspector.ALL_FORMATS


def _matches(inspector):
    try:
        return bool(inspector.format_match)
    except Exception:  # noqa: BLE001 - a confused inspector is no match
        return False


class FormatCheck:
    """Format inspection of one stream of image data, fed as it passes.

    Every known inspector but raw sees the first chunks; each is dropped
    as soon as it fails or has read enough to know the data is not its
    format, and one whose format matched stops reading once it has what
    it needs (the rest is only counted). A format detected mid-stream
    that cannot be right (a qcow2 header in a 'raw' upload, a backing
    file) refuses the data there; the verdict on the whole stream is
    given by ``finish``. ``strict`` (default:
    ``require_image_format_match``) refuses a format mismatch; the
    safety checks run either way.
    """

    def __init__(self, disk_format, strict=None):
        self.disk_format = disk_format
        if strict is None:
            strict = CONF.image_format.require_image_format_match
        self.strict = strict
        self.live = [cls() for name, cls in
                     format_inspector.ALL_FORMATS.items() if name != "raw"]
        self.hungry = list(self.live)   # those still reading the data
        self.checked = set()
        self.settled = set()
        self.matched = []   # settled inspectors whose format matched
        self.total = 0
        self.detected = None

    @classmethod
    def for_image(cls, image):
        """The check for ``image``, or None when its data is not a bare
        disk image (inside a container the data is not the disk)."""
        if image.get("container_format") != "bare":
            return None
        return cls(image.get("disk_format"))

    def compatible(self, detected):
        """Whether data detected as ``detected`` may be ``disk_format``."""
        if detected == self.disk_format:
            return True
        if detected in ("raw", DISK_WITH_TABLE):
            return (self.disk_format == "raw"
                    or not inspectable(self.disk_format))
        return False

    def feed(self, chunk):
        self.total += len(chunk)
        if not self.hungry:
            return
        chunk = bytes(chunk)  # the parsers keep slices; a view changes
        for inspector in list(self.hungry):
            try:
                inspector.eat_chunk(chunk)
            except Exception as e:  # noqa: BLE001 - the parser gave up
                self._drop(inspector)
                if inspector.NAME == self.disk_format and self.strict:
                    self._refuse(_("the data is not valid %(fmt)s: %(err)s")
                                 % {"fmt": self.disk_format, "err": e})
                continue
            if inspector.complete and inspector not in self.settled:
                self._settled(inspector)

    def _settled(self, inspector):
        """An inspector has read all it needs (mid-stream)."""
        self.settled.add(inspector)
        if not _matches(inspector):
            self._drop(inspector)
            if inspector.NAME == self.disk_format and self.strict:
                self._mismatch()
            return
        if inspector.NAME not in SIZED_BY_LENGTH:
            # All it needs is read: the rest of the data is not its.
            self.hungry.remove(inspector)
        self.matched.append(inspector)
        names = sorted(i.NAME for i in self.matched)
        if len(names) > 1 and names != [DISK_WITH_TABLE, "iso"]:
            self._several(names)
        if inspector.NAME == DISK_WITH_TABLE:
            return  # may still turn out to be a hybrid ISO: judge at EOF
        if self.strict and not self.compatible(inspector.NAME):
            self._mismatch(inspector.NAME)
        self._safety(inspector)

    def _drop(self, inspector):
        self.live.remove(inspector)
        if inspector in self.hungry:
            self.hungry.remove(inspector)

    def finish(self):
        """Judge the whole stream; sets ``detected`` or refuses."""
        for inspector in self.live:
            inspector.finish()
        found = [i for i in self.live if _matches(i)]
        names = sorted(i.NAME for i in found)
        if names == [DISK_WITH_TABLE, "iso"]:
            # A bootable ISO may legitimately start with a GPT: an ISO.
            found = [i for i in found if i.NAME == "iso"]
        elif len(found) > 1:
            self._several(names)
        detected = found[0] if found else None
        name = detected.NAME if detected else "raw"
        if self.strict and not self.compatible(name):
            self._mismatch(name)
        if detected is not None:
            self._safety(detected)
        self.detected = name

    @property
    def virtual_size(self):
        """The disk's size as the guest sees it, once ``finish`` accepted
        the data; None when unknown or the format did not match."""
        if self.detected is None or not inspectable(self.disk_format):
            return None
        if not self.compatible(self.detected):
            return None
        if self.detected in ("raw", DISK_WITH_TABLE):
            return self.total
        inspector = [i for i in self.live if i.NAME == self.detected][0]
        try:
            return inspector.virtual_size or None
        except Exception:  # noqa: BLE001 - unknown, not fatal
            return None

    def _nonfatal(self):
        """The GPT/MBR safety checks whose failure is only logged."""
        names = {n.strip() for n in
                 CONF.image_format.gpt_safety_checks_nonfatal if n.strip()}
        if self.disk_format in MBR_NONFATAL_FORMATS:
            names.add("mbr")
        return names

    def _safety(self, inspector):
        if inspector in self.checked:
            return
        self.checked.add(inspector)
        try:
            inspector.safety_check()
        except format_inspector.SafetyCheckFailed as e:
            failed = set(e.failures)
            if inspector.NAME == DISK_WITH_TABLE and failed <= \
                    self._nonfatal():
                LOG.warning("Accepting image data whose MBR/GPT failed "
                            "safety checks made non-fatal "
                            "(gpt_safety_checks_nonfatal): %s",
                            _describe(e))
                return
            self._refuse(_("the %(fmt)s image failed safety checks: "
                           "%(err)s") % {"fmt": inspector.NAME,
                                          "err": _describe(e)})
        except Exception as e:  # noqa: BLE001 - cannot tell it is safe
            self._refuse(_("the %(fmt)s image could not be checked: "
                           "%(err)s") % {"fmt": inspector.NAME, "err": e})
        if inspector.NAME == "vmdk":
            self._check_vmdk(inspector)

    def _check_vmdk(self, inspector):
        if not inspector.has_region("header"):
            # A bare descriptor file: its data is all in other files.
            self._refuse(_("the VMDK is a descriptor without its sparse "
                           "extent; only single-file VMDKs are accepted"))
        allowed = [t.lower() for t in CONF.image_format.vmdk_allowed_types]
        subformat = getattr(inspector, "vmdktype", None)
        if subformat not in allowed:
            self._refuse(_("VMDK create-type %s is not allowed")
                         % subformat)
        extents = [line for line in (inspector.desc_text or "").splitlines()
                   if line.strip().split(" ")[0] in ("rw", "rdonly",
                                                     "noaccess")]
        if len(extents) != 1 or " sparse " not in extents[0] + " ":
            # A monolithic image holds its one sparse extent itself; any
            # other extent names data outside the uploaded file.
            self._refuse(_("the VMDK descriptor names extents outside the "
                           "image"))

    def _several(self, names):
        # One format hidden in another: what reads it depends on who asks.
        self._refuse(_("the data matches several formats: %s")
                     % ", ".join(names))

    def _mismatch(self, detected=None):
        if detected is None:
            self._refuse(_("the data is not in the declared disk_format "
                           "%s") % self.disk_format)
        self._refuse(_("the data is in %(found)s format, not the "
                       "declared disk_format %(fmt)s") %
                     {"found": detected, "fmt": self.disk_format})

    def _refuse(self, reason):
        LOG.info("Refusing image data: %s", reason)
        raise InvalidImageData(reason=reason)


def inspect_file(path, disk_format, strict=True):
    """Run ``FormatCheck`` over the file at ``path``; the check, whose
    ``detected`` names the format found (InvalidImageData if refused)."""
    check = FormatCheck(disk_format, strict=strict)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(FILE_CHUNK)
            if not chunk:
                break
            check.feed(chunk)
    check.finish()
    return check


def _describe(error):
    failures = getattr(error, "failures", None)
    if failures:
        return "; ".join("%s: %s" % (k, v) for k, v in failures.items())
    return str(error)
