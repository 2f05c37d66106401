"""HAProxy (Debian's package) in front of glance-api nodes, on 127.0.0.1.

Used by ``tests/functional/test_load_balancer.py`` and ``python -m
benchmarks nodes``::

    with HAProxy(base_dir, [node_a.url, node_b.url]) as proxy:
        requests.get(proxy.url + "/versions")

The configuration is plain HTTP mode, ``balance roundrobin``, no
stickiness: each request (even on a kept-alive client connection) goes
to the next node. ``start()`` writes ``haproxy.cfg`` in ``base_dir``,
runs ``haproxy -f haproxy.cfg -db`` (foreground, in its own session) on
a free port and waits until ``GET /versions`` answers through it;
``stop()`` SIGTERMs it (SIGKILL after 10 s): only the process it
started.
"""
import os
import pathlib
import shutil
import signal
import subprocess

import requests

from tests.functional.server import free_port, wait_for

CONFIG = """
global
    maxconn 512
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend glance
    bind 127.0.0.1:%(port)d
    default_backend nodes
backend nodes
    balance roundrobin
%(servers)s
"""


def haproxy_binary():
    """The haproxy executable, or None (/usr/sbin is not always on PATH)."""
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK)
        else None)


def answers(url):
    try:
        return requests.get(url + "/versions", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def server_lines(node_urls):
    lines = []
    for index, url in enumerate(node_urls):
        address = url.split("://", 1)[1].rstrip("/")
        lines.append("    server node%d %s" % (index, address))
    return "\n".join(lines)


class HAProxy:
    """One haproxy process balancing over ``node_urls`` (http://h:p)."""

    def __init__(self, base_dir, node_urls, binary=None):
        self.base_dir = pathlib.Path(base_dir)
        self.node_urls = list(node_urls)
        self.binary = binary or haproxy_binary()
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def start(self, timeout=10):
        if self.binary is None:
            raise RuntimeError("haproxy is not installed "
                               "(tools/install-system-packages.sh)")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        cfg = self.base_dir / "haproxy.cfg"
        cfg.write_text(CONFIG % {"port": self.port,
                                 "servers": server_lines(self.node_urls)})
        self.process = subprocess.Popen(
            [self.binary, "-f", str(cfg), "-db"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(lambda: self._running() and answers(self.url),
                     timeout=timeout, message="haproxy on %s" % self.url)
        except BaseException:
            self.stop()
            raise
        return self

    def _running(self):
        if self.process.poll() is not None:
            raise RuntimeError("haproxy exited with status %d"
                               % self.process.returncode)
        return True

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

