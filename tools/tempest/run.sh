#!/usr/bin/env bash
# tools/tempest/run.sh [REGEX] - the project's Tempest job (Images API v2).
#
# Installs (once, cached) Keystone and Tempest into virtualenvs of their own (setup.sh),
# starts on 127.0.0.1: Keystone (SQLite, fernet, gunicorn), a web server for the test images,
# and two glance-api daemons of this checkout (flavor keystone+cachemanagement; "primary" =
# service type image, "remote" = image_remote, Tempest's alternate endpoint), checks the
# keystone pipeline against the real Keystone (lib/auth_checks.py), runs
# `tempest run --regex REGEX` (default '^tempest.api.image'), then a second, short run of the
# tests that need another configuration (SECOND_REGEX: the do_secure_hash = False variants
# and ImagesFormatTest's image-only tests; the primary daemon restarted with
# templates/glance-api-second.conf, Tempest told by templates/tempest-second.conf; skipped
# when REGEX selects none of them), stops everything
# it started, and prints one summary of both runs (lib/summarize.py). Exit status non-zero on
# any failed test or check, and on any Traceback or 5xx answer in the daemons' logs.
#
# Env: GLANCE_VENV (the venv with this checkout installed; default ./.venv, else one is made
# in the cache with `pip install -e .`), GLANCE_TEMPEST_CACHE (~/.cache/glance-tempest),
# GLANCE_TEMPEST_WORKDIR (/tmp/glance-tempest: one run-* dir per run, the last 3 kept),
# TEMPEST_CONCURRENCY (2), TEMPEST_TIMEOUT (2400 s), GLANCE_DEBUG (False),
# KEYSTONE_VERSION (30.0.0), TEMPEST_VERSION (47.0.0); GLANCE_CONF_APPEND, TEMPEST_CONF_APPEND:
# files whose lines are appended to glance-api.conf / tempest.conf (later values win), to try
# another configuration; SECOND_REGEX ('' to skip the second run).
set -uo pipefail

main() {
REGEX=${1:-^tempest.api.image}
SECOND_REGEX=${SECOND_REGEX-'^tempest\.api\.image\.v2\.(test_images\.(Multistore)?LocationImportTest\.test_add_location_with_do_secure_hash_false|test_images_formats\.ImagesFormatTest\.test_accept_)'}
HERE=$(cd "$(dirname "$0")" && pwd)
CHECKOUT=$(cd "$HERE/../.." && pwd)
export KEYSTONE_VERSION=${KEYSTONE_VERSION:-30.0.0} TEMPEST_VERSION=${TEMPEST_VERSION:-47.0.0}
export GLANCE_TEMPEST_CACHE=${GLANCE_TEMPEST_CACHE:-$HOME/.cache/glance-tempest}
CACHE=$GLANCE_TEMPEST_CACHE
KS_VENV=$CACHE/ks-$KEYSTONE_VERSION
TEMPEST_VENV=$CACHE/tempest-$TEMPEST_VERSION
WORKROOT=${GLANCE_TEMPEST_WORKDIR:-/tmp/glance-tempest}
CONCURRENCY=${TEMPEST_CONCURRENCY:-2}
TIMEOUT=${TEMPEST_TIMEOUT:-2400}
DEBUG=${GLANCE_DEBUG:-False}
ADMIN_PW=tempest-admin-$RANDOM$RANDOM
SVC_PW=glance-service-$RANDOM$RANDOM
T0=$SECONDS
quiet() { grep -v -e '^WARNING: Location' -e 'is ignored: it is neither' || true; }
phase() { echo "== [$((SECONDS - T0))s] $*"; }

# ---- install -------------------------------------------------------------------------
phase "setup: keystone $KEYSTONE_VERSION and tempest $TEMPEST_VERSION venvs in $CACHE"
bash "$HERE/setup.sh" 2>&1 | quiet
[ "${PIPESTATUS[0]}" = 0 ] || { echo "setup failed"; return 2; }
if [ -n "${GLANCE_VENV:-}" ]; then
  [ -x "$GLANCE_VENV/bin/glance-api" ] || { echo "GLANCE_VENV=$GLANCE_VENV has no bin/glance-api"; return 2; }
elif [ -x "$CHECKOUT/.venv/bin/glance-api" ]; then
  GLANCE_VENV=$CHECKOUT/.venv
else
  GLANCE_VENV=$CACHE/project-venv
  if ! [ -x "$GLANCE_VENV/bin/glance-api" ] || [ "$(project_src "$GLANCE_VENV")" != "$CHECKOUT" ]; then
    phase "setup: project venv $GLANCE_VENV (pip install -e $CHECKOUT)"
    rm -rf "$GLANCE_VENV" && python3 -m venv "$GLANCE_VENV" \
      && "$GLANCE_VENV/bin/pip" install -q -e "$CHECKOUT" 2>&1 | quiet
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "project install failed"; return 2; }
  fi
fi
SRC=$(project_src "$GLANCE_VENV")
echo "project: $GLANCE_VENV/bin/glance-api, package glance from ${SRC:-?}"
[ "$SRC" = "$CHECKOUT" ] || echo "WARNING: that venv's glance package is not this checkout ($CHECKOUT)"
command -v qemu-img >/dev/null || sh "$CHECKOUT/tools/install-system-packages.sh" \
  || { echo "qemu-img missing"; return 2; }

# ---- run directory, ports ------------------------------------------------------------
mkdir -p "$WORKROOT"
ls -1dt "$WORKROOT"/run-* 2>/dev/null | tail -n +3 | xargs -r rm -rf   # keep the last 3
W=$WORKROOT/run-$(date +%Y%m%d-%H%M%S)-$$
OUT=$W/results
mkdir -p "$OUT" "$W/www" "$W/keystone/fernet-keys" "$W/keystone/credential-keys" \
  "$W/shared/staging" "$W/shared/tasks" "$W/shared/images-fast" "$W/shared/images-cheap" \
  "$W/primary/cache" "$W/remote/cache"
ln -sfn "$W" "$WORKROOT/latest"
read -r KS_PORT PORT RPORT HTTP_PORT < <("$TEMPEST_VENV/bin/python" - <<'PY'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
KS=http://127.0.0.1:$KS_PORT; URL=http://127.0.0.1:$PORT; RURL=http://127.0.0.1:$RPORT
HTTP=http://127.0.0.1:$HTTP_PORT
echo "run dir $W; keystone $KS, glance-api $URL (remote $RURL), images $HTTP"

# ---- Keystone ------------------------------------------------------------------------
phase "keystone: db_sync, fernet/credential keys, bootstrap"
KSS=$W/keystone
sed -e "s#@S@#$KSS#g" "$HERE/templates/keystone.conf.in" > "$KSS/keystone.conf"
KM="$KS_VENV/bin/keystone-manage --config-file $KSS/keystone.conf"
{ $KM db_sync && $KM fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" \
  && $KM credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" \
  && $KM bootstrap --bootstrap-password "$ADMIN_PW" --bootstrap-username admin \
       --bootstrap-project-name admin --bootstrap-role-name admin \
       --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
       --bootstrap-admin-url "$KS/v3" --bootstrap-internal-url "$KS/v3" --bootstrap-public-url "$KS/v3"
} > "$KSS/bootstrap.log" 2>&1 || { tail -20 "$KSS/bootstrap.log"; echo "keystone bootstrap failed"; return 1; }
# one sync worker: Keystone's SQLite database answers "database is locked" under two
export OS_KEYSTONE_CONFIG_FILES=$KSS/keystone.conf
start keystone "$KSS/gunicorn.log" \
  "$KS_VENV/bin/gunicorn" --bind "127.0.0.1:$KS_PORT" --workers 1 --timeout 120 \
  --graceful-timeout 10 --access-logfile "$KSS/access.log" --pythonpath "$HERE/lib" \
  keystone_wsgi:application || return 1
wait_http "$KS/v3" keystone "$KSS/gunicorn.log" || return 1
"$KS_VENV/bin/python" "$HERE/lib/ks_setup.py" "$KS" "$ADMIN_PW" "$SVC_PW" "$URL" "$RURL" || return 1

# ---- test images on a local web server ------------------------------------------------
qemu-img create -q -f qcow2 "$W/www/cirros-disk.qcow2" 16M || return 1
make_format_images "$W/formats" || return 1
start http.server "$W/http.log" "$TEMPEST_VENV/bin/python" -m http.server "$HTTP_PORT" \
  --bind 127.0.0.1 --directory "$W/www" || return 1
wait_http "$HTTP/cirros-disk.qcow2" http.server "$W/http.log" || return 1

# ---- glance-api x2 -------------------------------------------------------------------
PASTE=$("$GLANCE_VENV/bin/python" -c 'import glance, os; print(os.path.join(os.path.dirname(glance.__file__), "etc", "glance-api-paste.ini"))')
for node in primary remote; do
  if [ $node = primary ]; then p=$PORT; workers=2; else p=$RPORT; workers=1; fi
  cp "$PASTE" "$W/$node/glance-api-paste.ini"
  sed -e "s#@R@#$W/$node#g" -e "s#@SHARED@#$W/shared#g" -e "s#@PORT@#$p#g" \
      -e "s#@WORKERS@#$workers#g" -e "s#@KS@#$KS#g" -e "s#@SVCPW@#$SVC_PW#g" \
      -e "s#@HTTPPORT@#$HTTP_PORT#g" -e "s#@DEBUG@#$DEBUG#g" \
      "$HERE/templates/glance-api.conf.in" > "$W/$node/glance-api.conf"
  [ -z "${GLANCE_CONF_APPEND:-}" ] || cat "$GLANCE_CONF_APPEND" >> "$W/$node/glance-api.conf"
done
cp "$HERE/templates/glance-api-second.conf" "$W/primary/glance-api-second.conf"
phase "glance-api: db sync, start primary and remote"
"$GLANCE_VENV/bin/glance-manage" --config-file "$W/primary/glance-api.conf" db sync \
  > "$W/primary/manage.log" 2>&1 || { cat "$W/primary/manage.log"; echo "db sync failed"; return 1; }
# the metadata definitions catalog, as devstack loads it: the metadefs tests that need a
# resource type fail (IndexError) on an empty catalog
"$GLANCE_VENV/bin/glance-manage" --config-file "$W/primary/glance-api.conf" db load_metadefs \
  >> "$W/primary/manage.log" 2>&1 \
  || { tail -5 "$W/primary/manage.log"; echo "WARNING: glance-manage db load_metadefs failed"; }
for node in primary remote; do
  start "glance-api-$node" "$W/$node/stdout.log" \
    "$GLANCE_VENV/bin/glance-api" --config-file "$W/$node/glance-api.conf" || return 1
done
wait_http "$URL/versions" glance-api-primary "$W/primary/stdout.log" || return 1
wait_http "$RURL/versions" glance-api-remote "$W/remote/stdout.log" || return 1

# ---- checks with the real Keystone ---------------------------------------------------
phase "auth checks"
"$KS_VENV/bin/python" "$HERE/lib/auth_checks.py" "$KS" "$ADMIN_PW" "$URL" "$RURL"
AUTH_RC=$?

# ---- tempest -------------------------------------------------------------------------
WS=$W/tempest
"$TEMPEST_VENV/bin/tempest" init --workspace-path "$W/workspaces.yaml" "$WS" > /dev/null || return 1
mkdir -p "$WS/locks"
sed -e "s#@WS@#$WS#g" -e "s#@KS@#$KS#g" -e "s#@ADMINPW@#$ADMIN_PW#g" -e "s#@HTTP@#$HTTP#g" \
  -e "s#@FORMATS@#$W/formats#g" "$HERE/templates/tempest.conf.in" > "$WS/etc/tempest.conf"
[ -z "${TEMPEST_CONF_APPEND:-}" ] || cat "$TEMPEST_CONF_APPEND" >> "$WS/etc/tempest.conf"
phase "setup done; tempest run --regex '$REGEX' --concurrency $CONCURRENCY"
T1=$SECONDS
( cd "$WS" && PATH=$TEMPEST_VENV/bin:$PATH tempest run --list-tests --regex "$REGEX" \
    --exclude-list "$HERE/exclude-list.txt" ) > "$OUT/listed.txt" 2>&1
# in the background, so that a signal to this script is handled (and tempest stopped) at once
start tempest "$OUT/console.log" env -C "$WS" PATH="$TEMPEST_VENV/bin:$PATH" \
  timeout -k 30 "$TIMEOUT" tempest run --regex "$REGEX" \
  --exclude-list "$HERE/exclude-list.txt" --concurrency "$CONCURRENCY" || return 1
wait "${PIDS[-1]}"
TEMPEST_RC=$?
phase "tempest exited $TEMPEST_RC after $((SECONDS - T1))s"
( cd "$WS" && "$TEMPEST_VENV/bin/stestr" last --subunit ) > "$OUT/tempest.subunit" 2>/dev/null
T2=$SECONDS
SECOND_RC=0
if [ -n "$SECOND_REGEX" ] && grep -Eq "$SECOND_REGEX" "$OUT/listed.txt"; then
  second_run || SECOND_RC=$?
fi
stop_all
for node in primary remote; do
  cp "$W/$node/glance-api.log" "$OUT/glance-api-$node.log" 2>/dev/null
  cp "$W/$node/stdout.log" "$OUT/glance-api-$node.stdout.log" 2>/dev/null
  cp "$W/$node/glance-api.conf" "$OUT/glance-api-$node.conf"
done
cp "$WS/etc/tempest.conf" "$OUT/tempest.conf"
cp "$WS/etc/tempest-second.conf" "$W/primary/stdout-second.log" "$OUT/" 2>/dev/null
cp "$WS/tempest.log" "$OUT/tempest.log" 2>/dev/null
"$TEMPEST_VENV/bin/python" "$HERE/lib/summarize.py" "$OUT/tempest.subunit" \
  "$HERE/exclude-list.txt" "$OUT/listed.txt" "$OUT"/glance-api-*.log > "$OUT/summary.txt" 2>&1
SUM_RC=$?
echo "results: $OUT (summary.txt, console.log, tempest.subunit, tempest.log, glance-api-*.log)"
echo "times: setup $((T1 - T0))s, tempest $((T2 - T1))s, second run $((SECONDS - T2))s," \
  "total $((SECONDS - T0))s"
[ "$AUTH_RC" = 0 ] || echo "auth checks FAILED (see above)"
[ "$TEMPEST_RC" = 0 ] || echo "tempest exited $TEMPEST_RC (see $OUT/console.log)"
[ "$SECOND_RC" = 0 ] || echo "second run exited $SECOND_RC (see $OUT/console-second.log)"
cat "$OUT/summary.txt"   # its last line: "tempest: N passed, N failed, N skipped"
[ "$TEMPEST_RC" = 0 ] && [ "$SECOND_RC" = 0 ] && [ "$SUM_RC" = 0 ] && [ "$AUTH_RC" = 0 ]
}

# ---- the second configuration ----------------------------------------------------------
# The tests of SECOND_REGEX against the primary daemon restarted on the same port with
# glance-api-second.conf on top of its configuration (same Keystone, database and stores),
# Tempest told so by tempest-second.conf; their results are appended to tempest.subunit, so
# that a test skipped in the first run and run here counts as run.
second_run() {
  phase "second run: glance-api-primary with glance-api-second.conf; tempest --regex '$SECOND_REGEX'"
  stop_one glance-api-primary
  start glance-api-primary "$W/primary/stdout-second.log" "$GLANCE_VENV/bin/glance-api" \
    --config-file "$W/primary/glance-api.conf" \
    --config-file "$W/primary/glance-api-second.conf" || return 1
  wait_http "$URL/versions" glance-api-primary "$W/primary/stdout-second.log" || return 1
  cat "$WS/etc/tempest.conf" "$HERE/templates/tempest-second.conf" > "$WS/etc/tempest-second.conf"
  start tempest-second "$OUT/console-second.log" env -C "$WS" PATH="$TEMPEST_VENV/bin:$PATH" \
    timeout -k 30 "$TIMEOUT" tempest run --config-file "$WS/etc/tempest-second.conf" \
    --regex "$SECOND_REGEX" --exclude-list "$HERE/exclude-list.txt" \
    --concurrency "$CONCURRENCY" || return 1
  wait "${PIDS[-1]}"
  local rc=$?
  phase "second run: tempest exited $rc"
  ( cd "$WS" && "$TEMPEST_VENV/bin/stestr" last --subunit ) >> "$OUT/tempest.subunit" 2>/dev/null
  return $rc
}

# ---- helpers -------------------------------------------------------------------------
PIDS=()
NAMES=()
project_src() { # venv -> the directory holding its glance package's checkout
  "$1/bin/python" -c 'import glance, os; print(os.path.dirname(os.path.dirname(os.path.abspath(glance.__file__))))' 2>/dev/null
}
start() { # name logfile command... : in a process group of its own (setsid), pid recorded
  local name=$1 log=$2; shift 2
  setsid "$@" > "$log" 2>&1 < /dev/null &
  PIDS+=($!); NAMES+=("$name")
  echo "started $name (pid $!)"
}
wait_http() { # url name log : 200/300 within 60 s, or the process's log tail
  local url=$1 name=$2 log=$3 end=$((SECONDS + 60)) pid=${PIDS[-1]} i
  for i in "${!NAMES[@]}"; do [ "${NAMES[$i]}" = "$name" ] && pid=${PIDS[$i]}; done
  while [ $SECONDS -lt $end ]; do
    case $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url") in 200|300) return 0 ;; esac
    kill -0 "$pid" 2>/dev/null || { tail -30 "$log"; echo "$name exited during start-up"; return 1; }
    sleep 0.2
  done
  tail -30 "$log"; echo "$name did not answer at $url within 60 s"; return 1
}
make_format_images() { # dir : a small disk image of each format, and Tempest's manifest of
  # them (images_manifest_file; ImagesFormatTest). Usable images only: an unsafe one (a qcow2
  # with a backing or data file) is refused (415) when staged, where Glance 33 stages it and
  # fails its import, the only answer test_accept_reject_formats_import accepts; our refusal
  # is tested in tests/functional instead.
  local d=$1 f
  mkdir -p "$d" || return 1
  echo "images:" > "$d/manifest.yaml"
  for f in raw qcow2 vmdk vpc:vhd vhdx vdi; do   # qemu-img's name[:Glance's]
    qemu-img create -q -f "${f%:*}" "$d/${f#*:}.img" 1M \
      || { echo "qemu-img could not make a ${f#*:} test image"; return 1; }
    printf '  - {name: %s, format: %s, filename: %s.img, usable: true}\n' \
      "${f#*:}" "${f#*:}" "${f#*:}" >> "$d/manifest.yaml"
  done
}
stop_pid() { # SIGTERM a started process (glance-api drains), then SIGKILL its group
  local pid=$1 n
  if kill -TERM "$pid" 2>/dev/null; then
    for n in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  kill -KILL -- "-$pid" 2>/dev/null || true
}
stop_one() { # name : stop the processes started under that name, and forget them
  local i
  for i in "${!NAMES[@]}"; do
    [ "${NAMES[$i]}" = "$1" ] || continue
    stop_pid "${PIDS[$i]}"
    unset 'PIDS[i]' 'NAMES[i]'
  done
  PIDS=("${PIDS[@]}"); NAMES=("${NAMES[@]}")
}
stop_all() { # every started process, the last started first
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  PIDS=(); NAMES=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

main "$@"
