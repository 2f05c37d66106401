"""glance.image_format: the format and safety checks of oslo.utils'
inspectors as an upload (stage, import, conversion) applies them, on
crafted and qemu-img made images."""
import pytest

from glance.common.exception import InvalidImageData
from glance import image_format
from tests import disk_images as di

MiB = di.MiB


def check(disk_format, data, chunk=64 * 1024, strict=None):
    """Feed ``data`` to a FormatCheck in chunks; the finished check."""
    fc = image_format.FormatCheck(disk_format, strict=strict)
    for start in range(0, len(data), chunk):
        fc.feed(data[start:start + chunk])
    fc.finish()
    return fc


def refused(disk_format, data, match=None, **kw):
    with pytest.raises(InvalidImageData, match=match) as err:
        check(disk_format, data, **kw)
    assert err.value.code == 415   # as Glance answers
    return str(err.value)


# --- partitioned disks ---

def test_gpt_disk_declared_raw_is_raw():
    fc = check("raw", di.gpt_disk())
    assert fc.detected == "gpt" and fc.virtual_size == MiB


@pytest.mark.parametrize("bad", di.BAD_PROTECTIVE_MBRS)
def test_gpt_with_bad_protective_mbr_refused(bad):
    text = refused("raw", di.gpt_disk(bad=bad), "failed safety checks")
    assert "mbr:" in text


def test_mbr_disk_accepted():
    assert check("raw", di.mbr_disk()).virtual_size == MiB


def test_gpt_check_can_be_made_nonfatal(conf):
    conf(group="image_format", gpt_safety_checks_nonfatal=["mbr"])
    fc = check("raw", di.gpt_disk(bad="start_lba"))
    assert fc.detected == "gpt"
    # only the GPT/MBR checks can be relaxed
    refused("qcow2", di.qcow2(backing_file=b"/etc/passwd"), "backing_file")


def test_kernel_images_may_look_like_a_bad_mbr():
    fc = check("aki", di.gpt_disk(bad="boot_flag"))
    assert fc.detected == "gpt" and fc.virtual_size is None
    refused("ami", di.gpt_disk(bad="boot_flag"), "mbr")


def test_formats_without_inspector_refuse_other_formats():
    assert check("ami", b"kernel" * 1000).detected == "raw"
    refused("ami", di.qcow2(), "qcow2 format, not the declared "
            "disk_format ami")


def test_declared_gpt_data_refused_in_other_formats():
    refused("qcow2", di.gpt_disk(), "not in the declared disk_format qcow2")


# --- qcow2 ---

@pytest.mark.parametrize("data,name", [
    (di.qcow2(backing_file=b"/etc/shadow"), "backing_file"),
    (di.qcow2(data_file=True), "data_file"),
    (di.qcow2(version=4), "unknown_features"),
])
def test_unsafe_qcow2_refused_whatever_is_declared(data, name):
    refused("qcow2", data, name)
    refused("qcow2", data, name, strict=False)
    refused("raw", data)


def test_unsafe_qcow2_refused_at_the_header():
    fc = image_format.FormatCheck("qcow2")
    with pytest.raises(InvalidImageData, match="backing_file"):
        fc.feed(di.qcow2(backing_file=b"x")[:4096])


# --- VMDK ---

def test_vmdk_monolithic_sparse_accepted():
    assert check("vmdk", di.vmdk(sectors=4096)).virtual_size == 4096 * 512


@pytest.mark.parametrize("create_type", ["monolithicFlat", "vmfs",
                                         "twoGbMaxExtentSparse"])
def test_vmdk_bad_create_type_refused(create_type):
    refused("vmdk", di.vmdk(create_type=create_type), "vmdk")


@pytest.mark.parametrize("extents", [
    ['RW 2048 SPARSE "/var/lib/glance/images/other"'],
    ['RW 2048 FLAT "disk-flat.vmdk" 0'],
    ['RW 2048 SPARSE "disk.vmdk"', 'RW 2048 SPARSE "other.vmdk"'],
    ['RW 2048 VMFS "disk.vmdk"'],
])
def test_vmdk_bad_extent_refused(extents):
    refused("vmdk", di.vmdk(extents=extents))


def test_vmdk_descriptor_file_refused():
    # A text descriptor alone: whatever it names, its data is elsewhere.
    descriptor = di.vmdk_descriptor(extents=['RW 2048 SPARSE "image-id"'])
    refused("vmdk", descriptor, "descriptor without its sparse extent")


def test_vmdk_declared_raw_refused():
    refused("raw", di.vmdk(), "vmdk format")


# --- ISO ---

def test_iso_accepted():
    fc = check("iso", di.iso(size=128 * 1024))
    assert fc.detected == "iso" and fc.virtual_size == 128 * 1024


def test_hybrid_iso_with_gpt_is_an_iso():
    data = di.iso(system_area=di.gpt_disk(size=4096))
    assert check("iso", data).detected == "iso"


@pytest.mark.parametrize("inner", [di.qcow2(length=4096),
                                   di.vmdk(length=4096),
                                   di.luks(length=4096)])
def test_iso_that_is_also_something_else_refused(inner):
    data = di.iso(system_area=inner)
    refused("iso", data)
    text = refused(inner_format(inner), data)
    assert "several formats" in text or "iso" in text


def inner_format(data):
    return {b"QFI": "qcow2", b"KDM": "vmdk", b"LUK": "raw"}[data[:3]]


# --- LUKS, QED ---

def test_luks_declared_raw_refused():
    refused("raw", di.luks(), "luks format")


def test_luks_safety_checks_run():
    assert check("luks", di.luks(version=1)).detected == "luks"
    refused("luks", di.luks(version=2), "version")


def test_qed_banned():
    refused("raw", di.qed())
    refused("qed", di.qed(), "banned")


# --- plain data ---

def test_plain_raw_accepted():
    data = di.random_raw(MiB)
    fc = check("raw", data)
    assert fc.detected == "raw" and fc.virtual_size == MiB


def test_container_data_not_inspected():
    assert image_format.FormatCheck.for_image(
        {"container_format": "ova", "disk_format": "vmdk"}) is None


def test_inspect_file(tmp_path):
    path = tmp_path / "disk"
    path.write_bytes(di.gpt_disk(bad="extra_partition"))
    with pytest.raises(InvalidImageData, match="extra partitions"):
        image_format.inspect_file(str(path), "raw")
    path.write_bytes(di.qcow2())
    assert image_format.inspect_file(str(path), "qcow2").detected == "qcow2"
    # a mismatch is refused even when uploads do not require a match
    with pytest.raises(InvalidImageData, match="qcow2 format"):
        image_format.inspect_file(str(path), "raw")


# --- images made by qemu-img ---

@pytest.mark.parametrize("name,fmt,options,declared,ok", [
    ("base.qcow2", "qcow2", (), "qcow2", True),
    ("df.qcow2", "qcow2", ("data_file=df.raw",), "qcow2", False),
    ("ms.vmdk", "vmdk", ("subformat=monolithicSparse",), "vmdk", True),
    ("so.vmdk", "vmdk", ("subformat=streamOptimized",), "vmdk", True),
    ("mf.vmdk", "vmdk", ("subformat=monolithicFlat",), "vmdk", False),
    ("tg.vmdk", "vmdk", ("subformat=twoGbMaxExtentSparse",), "vmdk", False),
    ("d.vhdx", "vhdx", (), "vhdx", True),
    ("d.vdi", "vdi", (), "vdi", True),
    ("d.vhd", "vpc", (), "vhd", True),
    ("d.qcow2", "qcow2", (), "raw", False),
])
def test_qemu_img_images(tmp_path, name, fmt, options, declared, ok):
    data = di.read(di.qemu_img(tmp_path, name, fmt, *options))
    if ok:
        assert check(declared, data).virtual_size >= 10 * MiB
    else:
        refused(declared, data)


def test_qemu_img_overlay_refused(tmp_path):
    di.qemu_img(tmp_path, "base.qcow2", "qcow2")
    overlay = di.qemu_img(tmp_path, "top.qcow2", "qcow2",
                          backing="base.qcow2")
    refused("qcow2", di.read(overlay), "backing_file")


@pytest.mark.parametrize("disk_format,data", [
    ("raw", di.random_raw(4 * MiB)), ("raw", di.gpt_disk(size=4 * MiB)),
    ("qcow2", di.qcow2(length=4 * MiB)), ("iso", di.iso(size=4 * MiB))])
def test_inspectors_stop_reading_once_they_know(disk_format, data):
    fc = image_format.FormatCheck(disk_format)
    fc.feed(data[:MiB])
    assert fc.hungry == []          # the rest is only counted
    fc.feed(data[MiB:])
    fc.finish()
    assert fc.virtual_size == (MiB if disk_format == "qcow2" else 4 * MiB)
