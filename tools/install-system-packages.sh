#!/bin/sh
# The Debian packages the test suite needs besides PyPI's: qemu-img (the
# image_conversion import plugin and the qcow2/vmdk upload checks) and
# haproxy (the load balancer in front of three glance-api nodes in
# tests/functional/test_load_balancer.py; only its binary is used, the
# test starts its own on 127.0.0.1) and pgbouncer (the pooler in front of
# PostgreSQL in tests/functional/test_pgbouncer.py, likewise). Installs
# only what is missing.
set -e
MISSING=
command -v qemu-img >/dev/null 2>&1 || MISSING="$MISSING qemu-utils"
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || \
    MISSING="$MISSING haproxy"
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || \
    MISSING="$MISSING pgbouncer"
[ -z "$MISSING" ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 - a list of package names
$SUDO apt-get install -y -q $MISSING >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q $MISSING >/dev/null
}
command -v qemu-img >/dev/null
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]
