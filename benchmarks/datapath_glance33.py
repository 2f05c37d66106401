"""The data-path workloads on Glance 33 too (``datapath --glance33``).

After our daemon's workloads, the same ones (upload, the three
downloads per repeat, the concurrent small downloads) run against real
Glance 33 from the oracle virtualenv of ``tools/differential/oracle.py``,
served by uWSGI with 2 processes (``tools/differential/servers.py``:
SQLite, a file store as the default backend), and its figures and memory
are printed beside ours. Its paste flavor is the differential's
``trustedcache`` one without the image cache (our daemon runs without
one too): ``ContextMiddleware`` trusts the identity headers the
benchmark sends.
"""
import hashlib
import os

import requests

from tools.differential import oracle
from tools.differential import servers

FLAVOR = "trusted"
# trustedcache's pipeline without cache and cachemanage: with them the
# second and third downloads would be cache hits, not store reads
PIPELINE = servers.PIPELINE.replace(" cache cachemanage", "")
PROCESSES = 2
CHECK_BYTES = 1024 * 1024 + 17


class Glance33(servers.GlanceOracle):
    """Glance 33 under uWSGI with ``PROCESSES`` worker processes; ``pid``
    is the uWSGI master's (the workers are its children)."""

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def command(self):
        command, env = super().command()
        command[command.index("--processes") + 1] = str(PROCESSES)
        return command, env


def paste_text(glance_paste):
    """Glance's paste file with the ``trusted`` flavor added."""
    text = servers.trusted_paste(glance_paste)
    return text.replace(servers.FLAVOR, FLAVOR).replace(servers.PIPELINE,
                                                        PIPELINE)


def glance33_server(tmp, log):
    """Glance 33 (not started) with its state under ``tmp``; the oracle
    virtualenv is built on first use (several minutes)."""
    venv = oracle.ensure_venv(log=log)
    uwsgi = oracle.find_uwsgi(venv, log=log)
    paste = paste_text(oracle.paste_file(venv).read_text())
    return Glance33(os.path.join(tmp, "glance33"), venv, uwsgi, paste,
                    {"paste_deploy": {"flavor": FLAVOR}})


def check_round_trip(server, headers):
    """PUT answers 204 and GET gives the same bytes back: else the
    figures would not be of the same work."""
    body = os.urandom(CHECK_BYTES)
    resp = requests.post(server.url + "/v2/images", timeout=30, json={
        "name": "round-trip", "disk_format": "raw",
        "container_format": "bare"}, headers=headers)
    resp.raise_for_status()
    file_url = server.url + "/v2/images/%s/file" % resp.json()["id"]
    try:
        put = requests.put(file_url, data=body, timeout=60, headers=dict(
            headers, **{"Content-Type": "application/octet-stream"}))
        got = requests.get(file_url, headers=headers, timeout=60)
        if put.status_code != 204 or got.status_code != 200 or \
                hashlib.md5(got.content).digest() != \
                hashlib.md5(body).digest():
            raise RuntimeError("glance33 round trip: PUT %d, GET %d, %d of "
                               "%d bytes, md5 %s" % (
                                   put.status_code, got.status_code,
                                   len(got.content), len(body),
                                   "same" if got.content == body
                                   else "differs"))
    finally:
        requests.delete(file_url.rsplit("/", 1)[0], headers=headers,
                        timeout=30)


# --- report ---

ROWS = [("upload", "up"),
        ("first download after the upload", "first"),
        ("download, file on disk only", "cold"),
        ("download, file in page cache", "warm")]


def report(args, ours, theirs, median):
    """Ours beside Glance 33's: ``ours`` and ``theirs`` are (figures,
    concurrent, memory) of the same workloads in the same run."""
    figures, conc, memory = ours
    g_figures, g_conc, g_memory = theirs
    print("vs Glance 33 (uWSGI, %d processes x 4 threads, file store, "
          "SQLite, no image cache), same workloads after ours, median of %d"
          % (PROCESSES, args.repeat))
    print("  %-34s %16s %16s %16s   %s" % (
        "", "MiB/s ours/g33", "ratio ours/g33", "CPU s/GiB o/g33",
        "glance33 runs"))
    for name, key in ROWS:
        f, g = figures[key], g_figures[key]
        print("  %-34s %7.0f %8.0f %7.2f %8.2f %7.2f %8.2f   [%s]" % (
            name, median(f["rates"]), median(g["rates"]),
            median(f["ratios"]), median(g["ratios"]), median(f["cpu"]),
            median(g["cpu"]), " ".join("%.0f" % r for r in g["rates"])))
    print("  %d concurrent downloads of %d MiB on glance33: %d/%d complete,"
          " aggregate %.0f MiB/s (ours %.0f) in %.1f s, per client min %.1f"
          " / max %.1f MiB/s, server CPU %.2f s/GiB (ours %.2f)" % (
              g_conc["clients"], args.small_mib, g_conc["complete"],
              g_conc["clients"], g_conc["aggregate"], conc["aggregate"],
              g_conc["wall"], g_conc["min"], g_conc["max"],
              g_conc["cpu_per_gib"], conc["cpu_per_gib"]))
    for error in g_conc["errors"][:5]:
        print("    glance33 error: %s" % error)
    print("  server memory (MiB, RSS sum / PSS sum of its processes):")
    print("    %-28s %10s %10s" % ("", "ours", "glance33"))
    for (label, mine), (_label, glance) in zip(memory, g_memory,
                                               strict=True):
        print("    %-28s %10s %10s" % (label, "%.0f/%.0f" % mine,
                                       "%.0f/%.0f" % glance))
    (_l, (rss, pss)), (_g, (g_rss, g_pss)) = memory[-1], g_memory[-1]
    print("  at the end (%s): ours %s Glance 33's by RSS sum, %s by PSS "
          "sum" % (memory[-1][0], "<=" if rss <= g_rss else "ABOVE",
                   "<=" if pss <= g_pss else "ABOVE"))
