"""Notifications benchmark: create+delete with the messaging driver off
and on.

Starts ``glance-api`` (2 workers, SQLite, trusted identity headers) three
times: notifications off (the default, no driver), ``messagingv2`` to
the RabbitMQ on 127.0.0.1:5672 (an exchange of its own, deleted after),
and ``messagingv2`` to a port nothing listens on (events queued, then
dropped). Each drives create+delete pairs with 8 keep-alive clients and
prints requests/s, p50 and the server's CPU per request.
Run: ``python -m benchmarks notifications [--quick] [--runs N]``.
"""
import argparse
import json
import statistics
import tempfile
import uuid

from benchmarks import loadgen
from tests.functional.server import GlanceServer, free_port

HEADERS = {"X-Identity-Status": "Confirmed", "X-Project-Id": "bench",
           "X-User-Id": "bench-user", "X-Roles": "admin,member,reader",
           "Content-Type": "application/json"}
RABBIT = "rabbit://guest:guest@127.0.0.1:%d/"


def create_delete(offset):
    def make(i):
        iid = "00000000-0000-4000-8000-%012d" % (i + offset)
        body = json.dumps({"id": iid, "name": "cd", "disk_format": "raw",
                           "container_format": "bare"})
        return [("POST", "/v2/images", body, HEADERS, (201,)),
                ("DELETE", "/v2/images/" + iid, None, HEADERS, (204,))]
    return make


def configs():
    exchange = "glance-bench-%s" % uuid.uuid4().hex[:8]
    on = {"DEFAULT": {"control_exchange": exchange},
          "oslo_messaging_notifications": {
              "driver": "messagingv2", "transport_url": RABBIT % 5672,
              "topics": exchange}}
    down = {"oslo_messaging_notifications": {
        "driver": "messagingv2", "transport_url": RABBIT % free_port()}}
    return exchange, [("notifications off", {}),
                      ("messagingv2 -> RabbitMQ", on),
                      ("messagingv2, broker down", down)]


def measure(name, conf, runs, total):
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        with GlanceServer(tmp, workers=2, flavor="trusted-auth",
                          conf=conf) as server:
            # warm-up: connections, the broker's exchange, caches
            loadgen.run("warm-up", server.url, create_delete(10 ** 9),
                        concurrency=8, total=100, seconds=120)
            for r in range(runs):
                before = loadgen.process_cpu_seconds(server.pid)
                result = loadgen.run(name, server.url,
                                     create_delete(r * 10 ** 6),
                                     concurrency=8, total=total,
                                     seconds=300)
                cpu = loadgen.process_cpu_seconds(server.pid) - before
                results.append((result, cpu))
    return results


def cleanup(exchange):
    try:
        import kombu
        with kombu.Connection("amqp://guest:guest@127.0.0.1:5672//",
                              connect_timeout=5) as conn:
            channel = conn.channel()
            for priority in ("info", "warn", "error"):
                channel.queue_delete("%s.%s" % (exchange, priority))
            channel.exchange_delete(exchange)
    except Exception as e:  # noqa: BLE001 - a benchmark leftover only
        print("  (could not delete exchange %s: %s)" % (exchange, e))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    total = 200 if args.quick else 1000
    exchange, cases = configs()
    print("notifications benchmark: create+delete, 8 clients, glance-api "
          "with 2 workers, %d runs of %d pairs" % (args.runs, total))
    try:
        for name, conf in cases:
            results = measure(name, conf, args.runs, total)
            for result, cpu in results:
                print("  " + result.line(cpu))
            rate = statistics.median(r.rate for r, _c in results)
            p50 = statistics.median(loadgen.percentile(r.latencies, 0.5)
                                    for r, _c in results)
            cpu = statistics.median(c / max(len(r.latencies), 1) * 1000
                                    for r, c in results)
            print("  => %-26s median %.1f req/s, p50 %.1f ms, "
                  "%.2f ms CPU/request" % (name, rate, p50 * 1000, cpu))
    finally:
        cleanup(exchange)


if __name__ == "__main__":
    main()
