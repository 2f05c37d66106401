"""A small HTTP load generator: C keep-alive clients, latency percentiles.

Each client is a thread with its own ``http.client`` connection; the
figures are requests/s over the wall time and p50/p99 latency.
"""
import http.client
import statistics
import threading
import time
import urllib.parse


def percentile(samples, fraction):
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Result:
    def __init__(self, name, latencies, errors, wall):
        self.name = name
        self.latencies = latencies
        self.errors = errors
        self.wall = wall

    @property
    def rate(self):
        return len(self.latencies) / self.wall if self.wall else 0.0

    def line(self, cpu_seconds=None):
        text = ("%-28s %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  "
                "n=%d errors=%d" % (
                    self.name, self.rate,
                    1000 * percentile(self.latencies, 0.5),
                    1000 * percentile(self.latencies, 0.99),
                    len(self.latencies), self.errors))
        if cpu_seconds is not None and self.latencies:
            text += "  server CPU %.3f ms/req" % (
                1000 * cpu_seconds / len(self.latencies))
        return text

    def median_latency(self):
        return statistics.median(self.latencies) if self.latencies else 0


def run(name, base_url, make_request, concurrency=16, total=2000,
        seconds=30.0):
    """Send ``total`` requests (or stop after ``seconds``).

    ``make_request(i)`` returns (method, path, body, headers, ok_statuses);
    it may also be a list of those, sent in order as one unit of work.
    """
    parsed = urllib.parse.urlsplit(base_url)
    counter = iter(range(total))
    lock = threading.Lock()
    latencies, errors = [], [0]
    deadline = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                          timeout=60)
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            steps = make_request(i)
            if isinstance(steps, tuple):
                steps = [steps]
            start = time.perf_counter()
            ok = True
            for method, path, body, headers, ok_statuses in steps:
                try:
                    conn.request(method, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    ok = ok and resp.status in ok_statuses
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = http.client.HTTPConnection(
                        parsed.hostname, parsed.port, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(name, latencies, errors[0], time.perf_counter() - start)


def process_cpu_seconds(pid):
    """CPU seconds (user+system) of a process and its live children."""
    total = 0.0
    ticks = _clock_ticks()
    for p in [pid] + _children(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except OSError:
            continue
    return total


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _clock_ticks():
    import os
    return os.sysconf("SC_CLK_TCK")
