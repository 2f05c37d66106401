"""A real OpenStack Swift on 127.0.0.1, for functional tests.

:class:`SwiftCluster` runs PyPI's ``swift`` (the test extra) as four
processes of this interpreter over one temporary directory, as a
Swift-All-In-One does with one replica::

    cluster = SwiftCluster(tmp_path).start()   # rings, configs, servers
    cluster.connection().get_container("glance")   # python-swiftclient
    cluster.write_store_config(path)   # glance_store's swift references
    cluster.stop()

``start()`` checks that the directory takes extended attributes (the
object server keeps its metadata in them), writes ``etc/swift.conf``
(``swift_dir`` points every server at it, nothing is read from
/etc/swift) and the three rings (``swift-ring-builder``: one device
``d1`` under ``srv/``, ``mount_check = false``, one replica, part power
6), starts the account, container and object servers and the proxy
(``workers = 0``: one process each, started in their own sessions) on
free ports, and waits until a container and an object can be written.

The proxy authenticates with ``tempauth`` (the user ``test:tester``,
key ``testing``, of the account ``AUTH_test``) and answers Identity v3
token requests under ``/v3`` for the same users
(``tests/functional/swift_filters.py``): glance_store's swift driver only
speaks Keystone v3, so ``identity_url`` is its ``auth_address``. The
tests themselves look at the objects with auth v1 (:meth:`connection`).

Logs: ``log/<server>.log`` (the servers log to stderr; their syslog
handler is pointed at an unused UDP port of 127.0.0.1). ``stop()``
SIGTERMs the four processes, then SIGKILLs what is left (only processes
it started); an ``atexit`` hook does the same for a cluster left running.
"""
import atexit
import importlib.util
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.functional.server import REPO_ROOT, free_port, format_conf

START_TIMEOUT = 60
STOP_TIMEOUT = 15
STORAGE_SERVERS = {"account": "swift.account.server",
                   "container": "swift.container.server",
                   "object": "swift.obj.server"}
PROXY_SERVER = "swift.proxy.server"
DEVICE = "d1"
PART_POWER = 6

ACCOUNT = "test"
USER = "tester"
KEY = "testing"

_RUNNING = set()

# swift-ring-builder's commands, run in one process (each command of the
# CLI would start an interpreter of its own: seconds).
RING_BUILDER = r"""
import json, sys
from swift.cli.ringbuilder import main
for args in json.loads(sys.argv[1]):
    try:
        main(["swift-ring-builder"] + args)
    except SystemExit as e:
        if e.code not in (None, 0):
            sys.exit("swift-ring-builder %s: exit status %s"
                     % (" ".join(args), e.code))
"""

SERVER_MAIN = "import sys; from %s import main; sys.exit(main())"

PROXY_PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache "
                  "listing_formats keystone_v3 tempauth copy slo dlo "
                  "versioned_writes proxy-logging proxy-server")


class SwiftError(RuntimeError):
    """The cluster did not start as expected."""


def check_xattrs(directory):
    """Swift's object server keeps object metadata in user xattrs."""
    probe = pathlib.Path(directory) / ".xattr-probe"
    probe.touch()
    try:
        os.setxattr(probe, "user.swift.probe", b"1")
    except OSError as e:
        raise SwiftError("the filesystem of %s does not take user extended "
                         "attributes, which Swift's object server needs: "
                         "%s" % (directory, e)) from e
    finally:
        probe.unlink()


class SwiftCluster:
    """A proxy and one account, container and object server."""

    def __init__(self, base_dir, users=None):
        self.base_dir = pathlib.Path(base_dir)
        self.etc_dir = self.base_dir / "etc"
        self.devices = self.base_dir / "srv"
        self.log_dir = self.base_dir / "log"
        self.users = dict(users or {"%s:%s" % (ACCOUNT, USER): KEY})
        self.ports = {kind: free_port()
                      for kind in list(STORAGE_SERVERS) + ["proxy"]}
        self.processes = {}

    # addresses

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.ports["proxy"]

    @property
    def auth_url(self):
        """tempauth's v1 authentication URL."""
        return self.url + "/auth/v1.0"

    @property
    def identity_url(self):
        """The Identity v3 endpoint (glance_store's ``auth_address``)."""
        return self.url + "/v3"

    @property
    def storage_url(self):
        return self.url + "/v1/AUTH_" + ACCOUNT

    # configuration

    def write_configs(self):
        for path in (self.etc_dir, self.devices / DEVICE, self.log_dir):
            path.mkdir(parents=True, exist_ok=True)
        (self.etc_dir / "swift.conf").write_text(format_conf({
            "swift-hash": {"swift_hash_path_prefix": secrets.token_hex(8),
                           "swift_hash_path_suffix": secrets.token_hex(8)},
            "storage-policy:0": {"name": "Policy-0", "default": "yes"},
        }))
        for kind in STORAGE_SERVERS:
            app = {"use": "egg:swift#%s" % kind}
            if kind == "object":
                # a listing right after a write shows it, even on a busy
                # machine: the object server waits for the container
                # update (else it goes on in the background)
                app.update(container_update_timeout=10, node_timeout=10)
            self._conf_path(kind).write_text(format_conf({
                "DEFAULT": dict(self._server_defaults(kind),
                                devices=self.devices, mount_check=False),
                "pipeline:main": {"pipeline": "%s-server" % kind},
                "app:%s-server" % kind: app,
            }))
        tempauth = {"use": "egg:swift#tempauth"}
        for name, key in self.users.items():
            account, user = name.split(":")
            tempauth["user_%s_%s" % (account, user)] = "%s .admin" % key
        filters = {name: {"use": "egg:swift#" + name.replace("-", "_")}
                   for name in ("catch_errors", "gatekeeper", "healthcheck",
                                "proxy-logging", "listing_formats", "copy",
                                "slo", "dlo", "versioned_writes")}
        filters["cache"] = {"paste.filter_factory":
                            "tests.functional.swift_filters:memory_cache"}
        filters["keystone_v3"] = {"paste.filter_factory":
                                  "tests.functional.swift_filters:"
                                  "keystone_v3"}
        filters["tempauth"] = tempauth
        conf = {"DEFAULT": self._server_defaults("proxy"),
                "pipeline:main": {"pipeline": PROXY_PIPELINE},
                "app:proxy-server": {"use": "egg:swift#proxy",
                                     "account_autocreate": True}}
        conf.update(("filter:" + name, options)
                    for name, options in filters.items())
        self._conf_path("proxy").write_text(format_conf(conf))

    def _server_defaults(self, kind):
        return {"bind_ip": "127.0.0.1", "bind_port": self.ports[kind],
                "swift_dir": self.etc_dir, "workers": 0,
                "log_name": kind + "-server",
                "log_udp_host": "127.0.0.1",
                "log_udp_port": free_port()}

    def _conf_path(self, kind):
        return self.etc_dir / ("%s-server.conf" % kind)

    def build_rings(self):
        commands = []
        for kind in STORAGE_SERVERS:
            builder = str(self.etc_dir / ("%s.builder" % kind))
            commands += [
                [builder, "create", str(PART_POWER), "1", "1"],
                [builder, "add", "--region", "1", "--zone", "1",
                 "--ip", "127.0.0.1", "--port", str(self.ports[kind]),
                 "--device", DEVICE, "--weight", "100"],
                [builder, "rebalance"]]
        result = subprocess.run(
            [sys.executable, "-c", RING_BUILDER, json.dumps(commands)],
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise SwiftError("building the rings failed:\n%s%s"
                             % (result.stdout, result.stderr))

    def write_store_config(self, path, reference="ref1"):
        """glance_store's ``swift_store_config_file``: one reference to
        this cluster's account, as Glance operators write it."""
        user = next(iter(self.users))
        pathlib.Path(path).write_text(format_conf({reference: {
            "auth_address": self.identity_url, "user": user,
            "key": self.users[user], "user_domain_id": "default",
            "project_domain_id": "default"}}))
        return path

    # processes

    def start(self, timeout=START_TIMEOUT):
        self.devices.mkdir(parents=True, exist_ok=True)
        check_xattrs(self.devices)
        self.write_configs()
        self.build_rings()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        _RUNNING.add(self)
        modules = dict(STORAGE_SERVERS, proxy=PROXY_SERVER)
        for kind, module in modules.items():
            with open(self.log_dir / ("%s.log" % kind), "ab") as log:
                self.processes[kind] = subprocess.Popen(
                    [sys.executable, "-c", SERVER_MAIN % module,
                     str(self._conf_path(kind)), "--verbose"],
                    stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), env=env,
                    start_new_session=True)
        try:
            self.wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_ready(self, timeout=START_TIMEOUT):
        """Until a container and an object can be written and removed."""
        deadline = time.monotonic() + timeout
        for kind in self.processes:
            self._wait(lambda k=kind: self._listening(k), deadline,
                       "%s server listening" % kind)
        self._wait(self._probe, deadline, "an object written")

    def _wait(self, predicate, deadline, what):
        while True:
            for kind, proc in self.processes.items():
                if proc.poll() is not None:
                    raise SwiftError("the swift %s server exited with status "
                                     "%d\n%s" % (kind, proc.returncode,
                                                 self.tail()))
            try:
                if predicate():
                    return
            except Exception as e:  # noqa: BLE001 - retried until deadline
                last = e
            else:
                last = None
            if time.monotonic() > deadline:
                raise SwiftError("swift not ready: %s (%s)\n%s"
                                 % (what, last, self.tail()))
            time.sleep(0.1)

    def _listening(self, kind):
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", self.ports[kind])) == 0

    def _probe(self):
        conn = self.connection()
        conn.put_container(".probe")
        conn.put_object(".probe", "probe", b"ok")
        conn.delete_object(".probe", "probe")
        conn.delete_container(".probe")
        return True

    def connection(self, user=None):
        """A python-swiftclient connection (auth v1, tempauth)."""
        import swiftclient
        user = user or next(iter(self.users))
        return swiftclient.Connection(
            authurl=self.auth_url, user=user, key=self.users[user],
            auth_version="1", retries=0, timeout=30)

    def stop(self, timeout=STOP_TIMEOUT):
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        _RUNNING.discard(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_text(self, kind="proxy"):
        try:
            return (self.log_dir / ("%s.log" % kind)).read_text(
                errors="replace")
        except OSError:
            return ""

    def tail(self, lines=20):
        parts = []
        for kind in list(STORAGE_SERVERS) + ["proxy"]:
            end = "\n".join(self.log_text(kind).splitlines()[-lines:])
            parts.append("--- swift %s (%s) ---\n%s"
                         % (kind, self.log_dir, end))
        return "\n".join(parts)


@atexit.register
def _stop_leftovers():
    for cluster in list(_RUNNING):
        try:
            cluster.stop(timeout=5)
        except Exception:  # noqa: BLE001,S110 - exiting anyway
            pass


def swiftclient_or_skip(tests):
    """python-swiftclient, once the test extra's ``swift`` (the servers)
    is known installed too; else skip the calling module, named ``tests``
    in the message (with ``CI`` set: the ImportError, as a failure)."""
    try:
        import swiftclient

        if importlib.util.find_spec("swift") is None:
            raise ImportError("No module named 'swift'")
    except ImportError as e:  # pragma: no cover - depends on the extras
        if os.environ.get("CI"):
            raise
        pytest.skip("%s need swift and python-swiftclient (pip install "
                    "-e .[test]): %s" % (tests, e), allow_module_level=True)
    return swiftclient
