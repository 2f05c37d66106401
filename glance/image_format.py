"""Format inspection of image data on its way into a store.

``FormatCheck`` is fed the chunks of an upload (or import) as they pass,
with oslo.utils' format inspectors (the ones Glance uses): it refuses
data whose detected format cannot be the declared ``disk_format``, and
unsafe images (a qcow2 backing or data file, VMDK extents outside the
image...), as soon as it can tell, and gives ``virtual_size``.
"""
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils.imageutils import format_inspector

from glance.common.exception import InvalidImageData
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

image_format_opts = [
    cfg.BoolOpt("gpt_safety_checks_nonfatal", default=True,
                help=_("Only log (do not refuse) images whose MBR/GPT "
                       "partition table fails the safety checks; many "
                       "legitimate raw disk images have imperfect "
                       "protective MBRs.")),
]

CONF.register_opts(image_format_opts, group="image_format")


def list_opts():
    return [("image_format", image_format_opts)]



def _compatible(disk_format, detected):
    # A raw disk image often starts with an MBR/GPT: that is still raw.
    return detected == disk_format or (disk_format == "raw"
                                       and detected == "gpt")


def _matches(inspector):
    try:
        return bool(inspector.format_match)
    except Exception:  # noqa: BLE001 - a confused inspector is no match
        return False


class FormatCheck:
    """Format inspection of one upload, fed the chunks as they pass.

    Every known inspector but raw sees the first chunks; each is dropped
    as soon as it fails or has read enough to know the data is not its
    format. A format detected mid-stream that cannot be right (a qcow2
    header in a 'raw' upload, a backing file) refuses the upload there;
    the verdict on the whole stream is given by ``finish``.
    """

    def __init__(self, disk_format):
        self.disk_format = disk_format
        self.strict = (CONF.image_format.require_image_format_match
                       and disk_format in format_inspector.ALL_FORMATS)
        self.live = [cls() for name, cls in
                     format_inspector.ALL_FORMATS.items() if name != "raw"]
        self.checked = set()
        self.settled = set()
        self.total = 0
        self.detected = None

    @classmethod
    def for_image(cls, image):
        """The check for ``image``, or None when its data is not a bare
        disk image (inside a container the data is not the disk)."""
        if image.get("container_format") != "bare":
            return None
        return cls(image.get("disk_format"))

    def feed(self, chunk):
        self.total += len(chunk)
        if not self.live:
            return
        chunk = bytes(chunk)  # the parsers keep slices; a view changes
        for inspector in list(self.live):
            try:
                inspector.eat_chunk(chunk)
            except Exception as e:  # noqa: BLE001 - the parser gave up
                self.live.remove(inspector)
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
            self.live.remove(inspector)
            if inspector.NAME == self.disk_format and self.strict:
                self._mismatch()
            return
        if inspector.NAME == "gpt":
            return  # may still turn out to be a hybrid ISO: judge at EOF
        if self.strict and not _compatible(self.disk_format, inspector.NAME):
            self._mismatch(inspector.NAME)
        self._safety(inspector)

    def finish(self):
        """Judge the whole stream; sets ``detected`` or refuses."""
        for inspector in self.live:
            inspector.finish()
        found = [i for i in self.live if _matches(i)]
        names = sorted(i.NAME for i in found)
        if names == ["gpt", "iso"]:
            found = [i for i in found if i.NAME == "iso"]
        elif len(found) > 1:
            self._refuse(_("the data matches several formats: %s")
                         % ", ".join(names))
        detected = found[0] if found else None
        name = detected.NAME if detected else "raw"
        if self.strict and not _compatible(self.disk_format, name):
            self._mismatch(name)
        if detected is not None:
            self._safety(detected)
        self.detected = name

    @property
    def virtual_size(self):
        """The disk's size as the guest sees it, once ``finish`` accepted
        the data; None when unknown or the format did not match."""
        if self.detected is None:
            return None
        if not _compatible(self.disk_format, self.detected):
            return None
        if self.detected in ("raw", "gpt"):
            return self.total
        inspector = [i for i in self.live if i.NAME == self.detected][0]
        return inspector.virtual_size or None

    def _safety(self, inspector):
        if inspector in self.checked:
            return
        self.checked.add(inspector)
        try:
            inspector.safety_check()
        except (format_inspector.SafetyCheckFailed,
                format_inspector.ImageFormatError) as e:
            if (inspector.NAME == "gpt"
                    and CONF.image_format.gpt_safety_checks_nonfatal):
                LOG.warning("Ignoring failed GPT/MBR safety checks: %s", e)
                return
            self._refuse(_("the %(fmt)s image failed safety checks: "
                           "%(err)s") % {"fmt": inspector.NAME,
                                          "err": _describe(e)})
        if inspector.NAME == "vmdk":
            self._check_vmdk(inspector)

    def _check_vmdk(self, inspector):
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


def _describe(error):
    failures = getattr(error, "failures", None)
    if failures:
        return "; ".join("%s: %s" % (k, v) for k, v in failures.items())
    return str(error)
