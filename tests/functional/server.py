"""Start the real ``glance-api`` as a subprocess, for functional tests.

The fixtures of ``tests/functional/conftest.py`` are the usual way in::

    def test_something(glance_server):
        srv = glance_server(workers=1,
                            conf={"DEFAULT": {"image_size_cap": 1024}})
        assert srv.get("/versions").status_code == 200
        srv.update_config({"DEFAULT": {"image_size_cap": 2048}})
        srv.send_signal(signal.SIGHUP)        # reload

    def test_other(api_server):               # one server per module
        requests.get(api_server.url + "/v2/images")

:class:`GlanceServer` writes ``etc/glance-api.conf`` into its own directory
(``bind_host = 127.0.0.1``, a free ``bind_port``, ``workers = 2``,
``state_path`` and ``[database] connection`` (SQLite) under ``state/``,
``log_file = glance-api.log``), merges the ``conf`` you give
(``{group: {option: value}}``; lists and dicts are written the oslo.config
way, ``None`` removes an option), runs ``python -m glance.cmd.api`` with it
and waits until ``GET /versions`` answers 200. ``paste_ini`` (the text of a
paste file) or ``paste_file`` (a path) replaces the paste file, ``flavor``
picks a pipeline, ``host`` changes ``bind_host`` (``"::1"`` works),
``tls=True`` serves HTTPS with a fresh self-signed certificate
(``cert_file``; :meth:`GlanceServer.request` verifies against it),
``debug=True`` logs at debug level. ``url``, ``pid``, ``log_file``,
``output_file`` (stdout and stderr), ``conf_file`` and ``state_path`` are
there to look at; :meth:`tail` shows the end of the logs for an assertion
message; :meth:`worker_pids` lists the live workers. ``stop()`` sends SIGTERM,
waits, then SIGKILLs the server and its workers (only processes it
started); the fixtures call it at teardown.
"""
import atexit
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import requests

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT = 30
STOP_TIMEOUT = 30

_RUNNING = set()


class ServerError(RuntimeError):
    """The server did not start, or did not stop, as expected."""


def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.1, message="condition"):
    """Poll ``predicate`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s"
                                 % (timeout, message))
        time.sleep(interval)


def child_pids(pid):
    """PIDs of the children of process ``pid`` (Linux /proc, else ps)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return sorted(int(p) for p in f.read().split())
    except OSError:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)],
                             capture_output=True, text=True).stdout
        return sorted(int(p) for p in out.split())


def _hex_address(address):
    host, port = address[:2]
    return "%s:%04X" % (socket.inet_aton(host)[::-1].hex().upper(), port)


def holder_of(pids, client):
    """The pid (of ``pids``) holding the server end of socket ``client``,
    found in /proc (the connection's inode among their fds); None if none
    does. The /proc/net/tcp line must match both ends and have an inode:
    a TIME_WAIT line (inode 0) of an earlier connection from the same
    client port would otherwise hide the live one."""
    wanted = (_hex_address(client.getpeername()),
              _hex_address(client.getsockname()))
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if (fields[1], fields[2]) == wanted and fields[9] != "0":
                inodes.add("socket:[%s]" % fields[9])
    for pid in pids:
        fds = "/proc/%d/fd" % pid
        try:
            names = os.listdir(fds)
        except OSError:
            continue
        for fd in names:
            try:
                if os.readlink(os.path.join(fds, fd)) in inodes:
                    return pid
            except OSError:
                continue
    return None


def pid_alive(pid):
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def format_conf(conf):
    """The text of an ini file from ``{group: {option: value}}``."""
    lines = []
    for group, options in conf.items():
        lines.append("[%s]" % group)
        for name, value in options.items():
            if value is not None:
                lines.append("%s = %s" % (name, _format_value(value)))
        lines.append("")
    return "\n".join(lines)


def _format_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join("%s:%s" % kv for kv in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def merge_conf(base, extra):
    """``extra`` ({group: {option: value}}) merged into ``base``."""
    for group, options in (extra or {}).items():
        base.setdefault(group, {}).update(options)
    return base


def make_self_signed_cert(directory, hosts=("localhost", "127.0.0.1")):
    """(cert_file, key_file) of a new self-signed certificate."""
    directory = pathlib.Path(directory)
    cert, key = directory / "server.crt", directory / "server.key"
    try:
        _cert_with_cryptography(cert, key, hosts)
    except ImportError:
        sans = ",".join(("IP:%s" if h[0].isdigit() else "DNS:%s") % h
                        for h in hosts)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "2", "-subj", "/CN=%s" % hosts[0],
                        "-addext", "subjectAltName=%s" % sans,
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
    return str(cert), str(key)


def _cert_with_cryptography(cert_path, key_path, hosts):
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    alt = []
    for host in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class GlanceServer:
    """One ``glance-api`` process with its own config, state and logs."""

    def __init__(self, base_dir, conf=None, workers=2, flavor=None,
                 paste_ini=None, paste_file=None, tls=False, env=None,
                 debug=False, host="127.0.0.1"):
        self.base_dir = pathlib.Path(base_dir)
        self.etc_dir = self.base_dir / "etc"
        self.state_path = self.base_dir / "state"
        self.conf_file = self.etc_dir / "glance-api.conf"
        self.log_file = self.base_dir / "glance-api.log"
        self.output_file = self.base_dir / "glance-api.out"
        self.host = host
        self.port = free_port(self.host)
        self.env = dict(env or {})
        self.process = None
        self.cert_file = self.key_file = None
        (self.etc_dir / "glance-api.conf.d").mkdir(parents=True,
                                                   exist_ok=True)
        self.state_path.mkdir(parents=True, exist_ok=True)
        self.conf = self._base_conf(workers, debug)
        if paste_ini is not None:
            paste_file = self.etc_dir / "glance-api-paste.ini"
            paste_file.write_text(paste_ini)
        if paste_file is not None or flavor is not None:
            self.conf["paste_deploy"] = {
                "config_file": str(paste_file) if paste_file else None,
                "flavor": flavor}
        if tls:
            self.cert_file, self.key_file = make_self_signed_cert(
                self.etc_dir, hosts=("localhost", host))
            self.conf["DEFAULT"].update(cert_file=self.cert_file,
                                        key_file=self.key_file)
        merge_conf(self.conf, conf)
        self.write_config()

    def _base_conf(self, workers, debug):
        return {
            "DEFAULT": {"bind_host": self.host, "bind_port": self.port,
                        "workers": workers, "debug": debug,
                        "state_path": str(self.state_path),
                        "log_file": str(self.log_file),
                        "graceful_shutdown_timeout": 10},
            "database": {"connection": "sqlite:///%s"
                         % (self.state_path / "glance.sqlite")},
        }

    # configuration

    @property
    def scheme(self):
        return "https" if self.cert_file else "http"

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def write_config(self):
        self.conf_file.write_text(format_conf(self.conf))

    def update_config(self, conf):
        """Merge ``conf`` into the config file (then SIGHUP to reload)."""
        merge_conf(self.conf, conf)
        self.write_config()

    # process control

    def command(self):
        return [sys.executable, "-m", "glance.cmd.api",
                "--config-file", str(self.conf_file),
                "--config-dir", str(self.etc_dir / "glance-api.conf.d")]

    def start(self, wait=True, timeout=START_TIMEOUT):
        """Start the daemon; with ``wait``, until it answers."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        env.update(self.env)
        with open(self.output_file, "ab") as out:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), env=env,
                start_new_session=True)
        _RUNNING.add(self)
        if wait:
            self.wait_until_ready(timeout)
        return self

    def wait_until_ready(self, timeout=START_TIMEOUT):
        """Wait until ``GET /versions`` answers 200."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServerError("glance-api exited with status %d before "
                                  "answering\n%s" % (code, self.tail()))
            try:
                if self.get("/versions", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise ServerError("glance-api did not answer within %ss\n%s"
                                  % (timeout, self.tail()))
            time.sleep(0.1)

    def send_signal(self, sig):
        os.kill(self.pid, sig)

    def worker_pids(self):
        """The PIDs of the daemon's live worker processes."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [p for p in child_pids(self.pid) if pid_alive(p)]

    def wait_for_workers(self, count, timeout=10.0):
        """The PIDs of the live workers once there are ``count`` of them:
        the daemon answers from its first worker while the others may
        still be starting."""
        def counted():
            pids = self.worker_pids()   # one look: a worker may die
            return len(pids) == count and pids

        return wait_for(counted, timeout=timeout,
                        message="%d workers" % count)

    def wait_for_exit(self, timeout=STOP_TIMEOUT):
        """The exit status; ServerError if still running after timeout."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ServerError("glance-api still running after %ss\n%s"
                              % (timeout, self.tail())) from None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait, SIGKILL if need be; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            workers = self.worker_pids()
            self.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(workers)
        _RUNNING.discard(self)
        return self.process.returncode

    def kill(self, workers=None):
        """SIGKILL the daemon and its workers (ours only), reap it."""
        if self.process is None:
            return
        pids = list(workers or []) + self.worker_pids()
        for pid in [self.pid] + pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(10)
        _RUNNING.discard(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # HTTP and logs

    def request(self, method, path, **kwargs):
        """requests.request against the server (TLS verified)."""
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        if self.cert_file:
            kwargs.setdefault("verify", self.cert_file)
        return requests.request(method, self.url + path, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def log_text(self):
        return _read(self.log_file)

    def output_text(self):
        return _read(self.output_file)

    def tail(self, lines=40):
        """The end of the log and of stdout/stderr, for messages."""
        parts = []
        for label, text in (("log", self.log_text()),
                            ("stdout/stderr", self.output_text())):
            end = "\n".join(text.splitlines()[-lines:])
            parts.append("--- %s (%s) ---\n%s" % (label, self.base_dir,
                                                  end))
        return "\n".join(parts)


def _read(path):
    try:
        return pathlib.Path(path).read_text(errors="replace")
    except OSError:
        return ""


@atexit.register
def _kill_leftovers():
    for srv in list(_RUNNING):
        try:
            srv.kill()
        except Exception:  # noqa: BLE001,S110 - exiting anyway
            pass
