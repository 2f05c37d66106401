"""The image_conversion import plugin checks its input before qemu-img
parses it, and its output after, with real qemu-img."""
import os
import shutil

import pytest

from glance.async_.flows.plugins import image_conversion as conversion
from glance.common import exception
from tests import disk_images as di


@pytest.fixture
def qemu(monkeypatch, conf):
    """Real qemu-img, converting to qcow2; records the subcommands run;
    the converted image's database update is recorded instead of
    written."""
    di.need_qemu_img()
    conf(group="image_conversion", output_format="qcow2")
    calls = []
    real = conversion._run

    def run(args):
        calls.append(args[0])
        return real(args)

    monkeypatch.setattr(conversion, "_run", run)
    monkeypatch.setattr(conversion.db, "image_update",
                        lambda image_id, values: dict(values, id=image_id))
    return calls


def image(disk_format="raw", container_format="bare"):
    return {"id": "img", "disk_format": disk_format,
            "container_format": container_format}


def staged(tmp_path, data, name="staged"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_output_format_defaults_to_raw_as_in_glance():
    opt = [o for o in conversion.image_conversion_opts
           if o.name == "output_format"][0]
    assert opt.default == "raw"


def test_raw_converted_to_qcow2(tmp_path, qemu):
    path = staged(tmp_path, di.random_raw(di.MiB))
    got = conversion.run(None, image(), path)
    assert got["disk_format"] == "qcow2"
    assert di.read(path)[:4] == b"QFI\xfb"
    assert qemu == ["info", "convert"]


def test_gpt_disk_converted(tmp_path, qemu):
    path = staged(tmp_path, di.gpt_disk())
    assert conversion.run(None, image(), path)["disk_format"] == "qcow2"


@pytest.mark.parametrize("disk_format,data,text", [
    ("raw", di.gpt_disk(bad="start_lba"), "safety checks"),
    ("qcow2", di.qcow2(backing_file=b"/etc/passwd"), "backing_file"),
    ("qcow2", di.qcow2(data_file=True), "data_file"),
    ("vmdk", di.vmdk(create_type="monolithicFlat"), "vmdk"),
    ("vmdk", di.vmdk(extents=['RW 2048 FLAT "/etc/passwd" 0']), "vmdk"),
    ("raw", di.qcow2(), "qcow2 format"),
    ("raw", di.iso(), "iso format"),
    ("raw", di.luks(), "luks format"),
    ("qcow2", di.random_raw(64 * 1024), "declared disk_format qcow2"),
])
def test_refused_before_qemu_img_runs(tmp_path, qemu, disk_format, data,
                                      text):
    path = staged(tmp_path, data)
    with pytest.raises(exception.InvalidImageData, match=text):
        conversion.run(None, image(disk_format), path)
    assert qemu == []
    assert di.read(path) == data


def test_qemu_made_overlay_refused(tmp_path, qemu):
    di.qemu_img(tmp_path, "base.qcow2", "qcow2")
    path = di.qemu_img(tmp_path, "top.qcow2", "qcow2", backing="base.qcow2")
    with pytest.raises(exception.InvalidImageData, match="backing_file"):
        conversion.run(None, image("qcow2"), path)
    assert qemu == []


def test_qemu_made_vmdk_converted(tmp_path, qemu):
    path = di.qemu_img(tmp_path, "d.vmdk", "vmdk",
                       "subformat=streamOptimized")
    got = conversion.run(None, image("vmdk"), path)
    assert got["disk_format"] == "qcow2"
    assert di.read(path)[:4] == b"QFI\xfb"


def test_target_format_checked_but_not_converted(tmp_path, qemu):
    path = staged(tmp_path, di.read(di.qemu_img(tmp_path, "q", "qcow2")))
    assert conversion.run(None, image("qcow2"), path) == image("qcow2")
    assert qemu == ["info"]


def test_iso_and_containers_left_alone(tmp_path, qemu):
    path = staged(tmp_path, di.iso())
    assert conversion.run(None, image("iso"), path) == image("iso")
    with pytest.raises(exception.InvalidImageData):
        conversion.run(None, image("iso"), staged(tmp_path, di.qcow2()))
    tar = staged(tmp_path, b"ustar" * 100, "tar")
    assert conversion.run(None, image("vmdk", "ova"), tar) == \
        image("vmdk", "ova")
    assert qemu == []


@pytest.mark.parametrize("details,text", [
    ({"format": "vmdk"}, "qemu-img sees the data as vmdk"),
    ({"format": "raw", "backing-filename": "/etc/passwd"}, "backing file"),
    ({"format": "raw", "format-specific": {"data": {
        "data-file": "x"}}}, "data-file"),
])
def test_qemu_img_info_must_agree(tmp_path, monkeypatch, details, text):
    monkeypatch.setattr(conversion, "info", lambda path, fmt: details)
    with pytest.raises(exception.InvalidImageData, match=text):
        conversion.check_qemu_info("x", "raw")


def test_vmdk_create_type_from_qemu_img(monkeypatch, conf):
    details = {"format": "vmdk", "format-specific": {
        "type": "vmdk", "data": {"create-type": "monolithicFlat"}}}
    monkeypatch.setattr(conversion, "info", lambda path, fmt: details)
    with pytest.raises(exception.InvalidImageData, match="monolithicFlat"):
        conversion.check_qemu_info("x", "vmdk")
    conf(group="image_format", vmdk_allowed_types=["monolithicFlat"])
    assert conversion.check_qemu_info("x", "vmdk") is details


def test_output_hiding_another_format_refused(tmp_path, qemu, monkeypatch,
                                              conf):
    # A conversion whose output is not plainly the target format (as if
    # the guest data were a qcow2 itself) is refused; the staged file
    # stays as it was.
    conf(group="image_conversion", output_format="raw")
    real = conversion._run

    def run(args):
        if args[0] == "convert":
            with open(args[-1], "wb") as f:
                f.write(di.qcow2(backing_file=b"/etc/shadow"))
            return None
        return real(args)

    monkeypatch.setattr(conversion, "_run", run)
    data = di.read(di.qemu_img(tmp_path, "q", "qcow2"))
    path = staged(tmp_path, data)
    with pytest.raises(exception.InvalidImageData):
        conversion.run(None, image("qcow2"), path)
    assert di.read(path) == data
    assert not os.path.exists(path + ".raw")


def test_no_qemu_img(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(exception.InvalidConfiguration):
        conversion.run(None, image(), staged(tmp_path, b"data" * 1000))
