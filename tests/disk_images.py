"""Disk images crafted byte by byte for the format safety tests, and
``qemu_img`` to make real ones where qemu-img (apt qemu-utils) exists.

Each builder gives the smallest data the format inspectors of oslo.utils
(and qemu) take for the format, with the one detail a test is about.
"""
import os
import shutil
import struct
import subprocess

import pytest

KiB = 1024
MiB = 1024 * KiB
SECTOR = 512

def random_raw(size=MiB):
    """Random bytes, without the MBR signature a random disk has once in
    65536 tries (a random MBR then fails the partition checks)."""
    data = bytearray(os.urandom(size))
    data[510:512] = b"\0\0"
    return bytes(data)


# --- partitioned disks (MBR / GPT) ---

# What can be wrong with a protective MBR, as oslo.utils' GPT inspector
# checks it.
BAD_PROTECTIVE_MBRS = ("start_lba", "start_chs", "boot_flag",
                       "extra_partition", "no_partition")


def _partition_entry(table, index, boot=0, chs=(0, 2, 0), ostype=0xEE,
                     start=1, sectors=0):
    struct.pack_into("<B3BB3BII", table, 446 + 16 * index, boot, *chs,
                     ostype, 0xFF, 0xFF, 0xFF, start, sectors)


def gpt_disk(size=MiB, bad=None):
    """A GPT disk: a protective MBR (one 0xEE partition from LBA 1) and
    the GPT header at LBA 1; ``bad`` (one of BAD_PROTECTIVE_MBRS) breaks
    the protective MBR the way it says."""
    disk = bytearray(size)
    entry = {"start": 1, "sectors": size // SECTOR - 1}
    if bad == "start_lba":
        entry["start"] = 2
    elif bad == "start_chs":
        entry["chs"] = (0, 1, 0)
    elif bad == "boot_flag":
        entry["boot"] = 0x7F
    if bad != "no_partition":
        _partition_entry(disk, 0, **entry)
    if bad == "extra_partition":
        _partition_entry(disk, 1, chs=(0, 0, 0), ostype=0x83, start=2048,
                         sectors=100)
    disk[510:512] = b"\x55\xaa"
    disk[512:520] = b"EFI PART"
    struct.pack_into("<IIIIQQ", disk, 520, 0x00010000, 92, 0, 0, 1,
                     size // SECTOR - 1)
    return bytes(disk)


def mbr_disk(size=MiB):
    """A classic MBR disk with one Linux partition."""
    disk = bytearray(size)
    _partition_entry(disk, 0, boot=0x80, chs=(0, 0x21, 0), ostype=0x83,
                     start=2048, sectors=size // SECTOR - 2048)
    disk[510:512] = b"\x55\xaa"
    return bytes(disk)


# --- qcow2 ---

def qcow2(virtual_size=MiB, backing_file=None, data_file=False, version=3,
          length=64 * KiB):
    """A qcow2 header padded to ``length``; ``backing_file`` (bytes) is
    written after the header, ``data_file`` sets that incompatible
    feature bit."""
    header = bytearray(length)
    bf_offset = 0x200 if backing_file else 0
    bf_size = len(backing_file) if backing_file else 0
    struct.pack_into(">4sIQIIQ", header, 0, b"QFI\xfb", version, bf_offset,
                     bf_size, 16, virtual_size)
    if version == 3:
        features = 0x04 if data_file else 0
        struct.pack_into(">QQQII", header, 0x48, features, 0, 0, 4, 104)
    if backing_file:
        header[0x200:0x200 + bf_size] = backing_file
    return bytes(header)


# --- VMDK ---

def vmdk_descriptor(create_type="monolithicSparse", extents=None,
                    sectors=2048):
    extents = extents or ['RW %d SPARSE "disk.vmdk"' % sectors]
    return "\n".join(
        ["# Disk DescriptorFile", "version=1", "CID=fffffffe",
         "parentCID=ffffffff", 'createType="%s"' % create_type, "",
         "# Extent description"] + list(extents) +
        ["", "# The Disk Data Base", "#DDB", "",
         'ddb.virtualHWVersion = "4"', ""]).encode("ascii")


def vmdk(create_type="monolithicSparse", extents=None, sectors=2048,
         length=64 * KiB):
    """A hosted sparse extent VMDK: the KDMV header, then its embedded
    descriptor (with ``create_type`` and ``extents``)."""
    descriptor = vmdk_descriptor(create_type, extents, sectors)
    image = bytearray(length)
    struct.pack_into("<4sIIQQQQIQQ", image, 0, b"KDMV", 1, 3, sectors, 128,
                     1, 20, 512, 0, 21)
    image[512:512 + len(descriptor)] = descriptor
    return bytes(image)


# --- ISO 9660 ---

def iso(size=64 * KiB, system_area=b""):
    """An ISO 9660 image: a primary volume descriptor at 32 KiB; the
    system area before it (free for boot code) holds ``system_area``."""
    data = bytearray(size)
    data[:len(system_area)] = system_area
    pvd = 32 * KiB
    data[pvd] = 1
    data[pvd + 1:pvd + 7] = b"CD001\x01"
    blocks = size // 2048
    struct.pack_into("<I", data, pvd + 80, blocks)
    struct.pack_into(">I", data, pvd + 84, blocks)
    struct.pack_into("<H", data, pvd + 128, 2048)
    struct.pack_into(">H", data, pvd + 130, 2048)
    return bytes(data)


# --- LUKS and QED ---

def luks(version=1, length=64 * KiB):
    """A LUKS header (no usable key slot)."""
    header = bytearray(length)
    struct.pack_into(">6sH32s32s32sII20s32sI", header, 0, b"LUKS\xba\xbe",
                     version, b"aes", b"xts-plain64", b"sha256", 4096, 64,
                     bytes(20), bytes(32), 1000)
    return bytes(header)


def qed(length=64 * KiB):
    header = bytearray(length)
    header[:4] = b"QED\x00"
    return bytes(header)


# --- qemu-img ---

def have_qemu_img():
    return shutil.which("qemu-img") is not None


def need_qemu_img():
    """Skip unless qemu-img is installed; CI must have it."""
    if have_qemu_img():
        return
    if os.environ.get("CI"):
        pytest.fail("qemu-img is not installed: run "
                    "tools/install-system-packages.sh")
    pytest.skip("qemu-img is not installed (apt qemu-utils)")


def qemu_img(directory, name, fmt, *options, size="10M", backing=None):
    """Make ``name`` in ``directory`` with qemu-img create; its path."""
    need_qemu_img()
    path = os.path.join(str(directory), name)
    args = ["qemu-img", "create", "-q", "-f", fmt]
    for option in options:
        args += ["-o", option]
    if backing:
        args += ["-b", backing, "-F", "qcow2"]
    subprocess.run(args + [path] + ([] if backing else [size]),
                   check=True, cwd=str(directory))
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()
