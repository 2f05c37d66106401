"""GET load with wrk (Debian's ``wrk`` package), when it is installed.

A C load generator does not fight the server for the GIL the way the
Python threads of ``loadgen`` do, so on a 2-core machine it shows what the
server itself can answer.

Each line also prints the clients divided by the rate: with closed-loop
clients (each sends its next request when its last is answered) that is
their mean latency (Little's law), set by the server's throughput alone.
A p50 near it says the requests wait their turn in a busy server; a p99
far above it says some wait much longer than others.
"""
import re
import shutil
import subprocess

from benchmarks import loadgen

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def available():
    return shutil.which("wrk") is not None


def _seconds(text):
    match = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    if match is None:
        raise ValueError("unexpected wrk duration %r" % text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def run(name, url, path, headers, connections=16, seconds=10, pid=None):
    """(one summary line, requests/s) of ``seconds`` of GETs of ``path``."""
    args = ["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds,
            "--latency"]
    for key, value in headers.items():
        args += ["-H", "%s: %s" % (key, value)]
    before = loadgen.process_cpu_seconds(pid) if pid else None
    out = subprocess.run(args + [url + path], capture_output=True,
                         text=True, timeout=seconds + 60).stdout
    cpu = loadgen.process_cpu_seconds(pid) - before if pid else None
    return summary(name, out, connections, cpu)


def summary(name, out, connections, cpu=None):
    """(one line, requests/s) of wrk's ``--latency`` output ``out`` for
    ``connections`` clients; ``cpu``: the server's CPU seconds meanwhile."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # anchored: "68.50%" on the Req/Sec line must not match "50%"
    p50 = _seconds(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _seconds(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    line = ("%-28s %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  n=%d "
            "errors=%d  clients/rate %.1f ms"
            % (name + " (wrk)", rate, p50 * 1000, p99 * 1000, total, errors,
               1000.0 * connections / rate))
    if cpu is not None and total:
        line += "  server CPU %.3f ms/req" % (1000 * cpu / total)
    return line, rate
