"""The application's own CPU per request, without HTTP.

Builds the Images API in this process the way a WSGI host does
(``glance.wsgi.loader``: the config of ``CONFIG_DIR``, the native thread
model, no eventlet), then calls it with the environ of one GET, over and
over, and prints the median CPU ms per call of five rounds. Beside the
server's CPU per request over HTTP (the metadata benchmark prints both),
the difference is what the HTTP layer, the connection handling and the
access line cost: the part a leaner server loop could save.

Run: ``python -m benchmarks.appcost CONFIG_DIR PATH [--header NAME:VALUE]
[--count N]``; it exits 1 if the app answers anything but 2xx.
"""
import argparse
import io
import os
import statistics
import sys
import time
import warnings

import webob

ROUNDS = 5


def environ_of(path, headers):
    """A WSGI environ for ``GET path`` with ``headers`` (name -> value)."""
    return webob.Request.blank(path, headers=headers).environ


def call(app, environ):
    """The status line and body of one GET through ``app`` (on a copy of
    ``environ``: the app adds to the one it is given)."""
    status = []

    def start_response(line, _headers, exc_info=None):
        status.append(line)

    environ = dict(environ, **{"wsgi.input": io.BytesIO()})
    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return status[0], body


def cpu_ms_per_call(app, environ, count):
    """Median CPU ms per call of ``ROUNDS`` rounds of ``count`` calls."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(count):
            call(app, environ)
        rounds.append((time.process_time() - start) / count * 1000)
    return statistics.median(rounds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config_dir")
    parser.add_argument("path")
    parser.add_argument("--header", action="append", default=[],
                        help="NAME:VALUE, repeatable")
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    os.environ["OS_GLANCE_CONFIG_DIR"] = args.config_dir
    warnings.filterwarnings("ignore")
    from glance.wsgi import loader
    app = loader.load_or_exit()
    environ = environ_of(args.path, headers)
    status, body = call(app, environ)
    if not status.startswith("2"):
        print("GET %s: %s %s" % (args.path, status, body[:200]),
              file=sys.stderr)
        return 1
    for _ in range(min(200, args.count)):   # warm the caches first
        call(app, environ)
    ms = cpu_ms_per_call(app, environ, args.count)
    print("app CPU %.3f ms per GET %s (in-process, no HTTP; median of %d "
          "rounds of %d)" % (ms, args.path, ROUNDS, args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
