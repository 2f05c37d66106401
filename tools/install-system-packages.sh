#!/bin/sh
# The Debian packages the test suite needs besides PyPI's: qemu-img (the
# image_conversion import plugin and the qcow2/vmdk upload checks).
set -e
command -v qemu-img >/dev/null 2>&1 && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q qemu-utils >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q qemu-utils >/dev/null
}
command -v qemu-img >/dev/null
