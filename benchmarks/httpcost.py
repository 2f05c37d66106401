"""The HTTP layer's own CPU per request, in-process.

One process, eventlet patched, serves a small application (a list of
one JSON chunk with its Content-Length, as a webob response is) on
loopback and drives it from a green thread with keep-alive GETs of the
size a client sends, in alternating rounds:

* ``eventlet.wsgi``: glance-api's protocol with every answer made by
  eventlet.wsgi's own ``handle_one_response`` (as before
  ``glance.common.plain_exchange``);
* ``glance-api``: glance-api's protocol as it serves (the environ and
  the answer of a request without a body from ``plain_exchange``);
* ``canned``: a green thread that answers each request with the same
  bytes: the client's and the sockets' share, to subtract.

It prints the median CPU microseconds per request of each, and what
each server path costs above the canned answer. The access line is not
written (no logging is configured), so these are the protocol's costs
only. Run: ``python -m benchmarks.httpcost [--rounds 15] [--count 1000]``.
"""
import argparse
import statistics
import sys
import time

BODY = b'{"id": "6a0c7b2e-0b3f-4a57-9ad6-3c1d5a1d2f00", "name": "x"}' * 10
REQUEST = (b"GET /v2/images/6a0c7b2e-0b3f-4a57-9ad6-3c1d5a1d2f00 HTTP/1.1\r\n"
           b"Host: 127.0.0.1:9292\r\nUser-Agent: bench\r\nAccept: */*\r\n"
           b"X-Auth-Token: gAAAAABl0123456789abcdefghijklmnopqrstuvwxyz\r\n"
           b"Connection: keep-alive\r\n\r\n")


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY))),
                              ("x-openstack-request-id", "req-1")])
    return [BODY]


def serve(protocol):
    """A listening socket served by glance-api's worker entry point
    through ``protocol``."""
    import eventlet
    import eventlet.wsgi

    from glance.common.worker import Worker
    listener = eventlet.listen(("127.0.0.1", 0))
    server = eventlet.wsgi.Server(
        listener, listener.getsockname(), Worker(None, app).dispatch,
        protocol=protocol, log=_Silent(), debug=False, keepalive=True)

    def accept():
        while True:
            conn, addr = listener.accept()
            eventlet.spawn_n(server.process_request,
                             [addr, conn, eventlet.wsgi.STATE_IDLE])
    eventlet.spawn_n(accept)
    return listener.getsockname()


def canned():
    """A listening socket whose connections get the same answer to each
    request."""
    import eventlet
    listener = eventlet.listen(("127.0.0.1", 0))
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))

    def answering(conn):
        pending = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            pending += data
            while b"\r\n\r\n" in pending:
                _head, _sep, pending = pending.partition(b"\r\n\r\n")
                conn.sendall(answer)

    def accept():
        while True:
            conn, _addr = listener.accept()
            eventlet.spawn_n(answering, conn)
    eventlet.spawn_n(accept)
    return listener.getsockname()


class _Silent:
    def info(self, *args, **kwargs):
        pass

    error = debug = warning = exception = info


def drive(address, count):
    """CPU seconds for ``count`` keep-alive GETs on one connection."""
    import socket
    client = socket.create_connection(address)
    reader = client.makefile("rb")
    start = time.process_time()
    for _ in range(count):
        client.sendall(REQUEST)
        length = 0
        while True:
            line = reader.readline()
            if line == b"\r\n":
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        reader.read(length)
    spent = time.process_time() - start
    client.close()
    return spent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args(argv)
    from glance.common import eventlet_setup
    eventlet_setup.monkey_patch()
    eventlet_setup.apply_wsgi_globals(16384)
    from glance.common import connections

    class EventletAnswers(connections.make_protocol()):
        def handle_one_response(self):
            self.plain = False
            super().handle_one_response()

    targets = {"eventlet.wsgi": serve(EventletAnswers),
               "glance-api": serve(connections.make_protocol()),
               "canned": canned()}
    spent = {name: [] for name in targets}
    for address in targets.values():
        drive(address, min(200, args.count))   # warm up
    for _ in range(args.rounds):
        for name, address in targets.items():
            spent[name].append(drive(address, args.count) / args.count)
    us = {name: statistics.median(v) * 1e6 for name, v in spent.items()}
    for name in targets:
        line = "%-14s %6.1f us CPU per request" % (name, us[name])
        if name != "canned":
            line += " (%5.1f above the canned answer)" % (
                us[name] - us["canned"])
        print(line)
    saved = us["eventlet.wsgi"] - us["glance-api"]
    print("glance-api's path saves %.1f us per request (%.0f%% of the "
          "protocol's cost)" % (saved, 100 * saved / max(
              us["eventlet.wsgi"] - us["canned"], 1e-9)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
