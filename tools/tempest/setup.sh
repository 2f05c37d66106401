#!/usr/bin/env bash
# tools/tempest/setup.sh - install (once) what the Tempest job needs, each in a virtualenv of
# its own under $GLANCE_TEMPEST_CACHE (default ~/.cache/glance-tempest), reused when present:
#   ks-<ver>/       Keystone + gunicorn + python-keystoneclient
#   tempest-<ver>/  Tempest (and stestr, subunit)
# The project itself runs from $GLANCE_VENV (see run.sh). A venv is marked complete by a
# .ok file written after its install succeeded, so an interrupted install is redone.
set -euo pipefail
KEYSTONE_VERSION=${KEYSTONE_VERSION:-30.0.0}
TEMPEST_VERSION=${TEMPEST_VERSION:-47.0.0}
CACHE=${GLANCE_TEMPEST_CACHE:-$HOME/.cache/glance-tempest}
PY=${PYTHON:-python3}
mkdir -p "$CACHE"

make_venv() { # dir check-command pip-args...
  local dir=$1 check=$2; shift 2
  if [ -f "$dir/.ok" ] && "$dir/bin/python" -c "$check" 2>/dev/null; then
    return 0
  fi
  echo "== installing $* into $dir"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip >/dev/null
  "$dir/bin/pip" install -q "$@"
  touch "$dir/.ok"
}

KS_VENV=$CACHE/ks-$KEYSTONE_VERSION
TEMPEST_VENV=$CACHE/tempest-$TEMPEST_VERSION
make_venv "$KS_VENV" 'import keystone, gunicorn, keystoneclient' \
  "keystone==$KEYSTONE_VERSION" gunicorn python-keystoneclient &
ks_job=$!
make_venv "$TEMPEST_VENV" 'import tempest, stestr, subunit' "tempest==$TEMPEST_VERSION" &
tempest_job=$!
rc=0
wait $ks_job || { echo "keystone venv install failed"; rc=1; }
wait $tempest_job || { echo "tempest venv install failed"; rc=1; }
exit $rc
