"""A RabbitMQ consumer of glance-api's notifications, for functional tests.

RabbitMQ runs on 127.0.0.1:5672 (guest/guest) on every machine, CI
included. Each test gets its own exchange (glance-api's
``control_exchange``) and topic, so tests never see each other's events,
and a queue of its own bound to them; the exchange, the queue and the
queues oslo.messaging declares on the exchange are deleted afterwards.
Without a broker the tests are skipped, unless ``CI`` is set: then they
fail.
"""
import json
import os
import socket
import time
import uuid

import pytest

HOST, PORT = "127.0.0.1", 5672
URL = "rabbit://guest:guest@%s:%d/" % (HOST, PORT)
PRIORITIES = ("info", "warn", "error")


def broker_up():
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            return True
    except OSError:
        return False


def require_broker():
    """Skip without a broker; fail instead when CI is set."""
    if broker_up():
        return
    message = "RabbitMQ is not running on %s:%d" % (HOST, PORT)
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Consumer:
    """Collects the notifications published on one exchange and topic."""

    def __init__(self):
        import kombu
        suffix = uuid.uuid4().hex[:12]
        self.exchange_name = "glance-test-%s" % suffix
        self.topic = "notifications-%s" % suffix
        self.connection = kombu.Connection(
            "amqp" + URL[len("rabbit"):], connect_timeout=5)
        # as oslo.messaging declares it (amqp_durable_queues = False)
        self.exchange = kombu.Exchange(self.exchange_name, type="topic",
                                       durable=False, auto_delete=False)
        self.queue = kombu.Queue(
            "glance-test-consumer-%s" % suffix, exchange=self.exchange,
            bindings=[kombu.binding(self.exchange, routing_key="%s.%s"
                                    % (self.topic, p)) for p in PRIORITIES],
            exclusive=True, auto_delete=True)
        self.channel = self.connection.channel()
        self.queue = self.queue(self.channel)
        self.exchange(self.channel).declare()
        self.queue.declare()
        self.events = []

    def conf(self, driver="messagingv2"):
        """glance-api options publishing to this consumer."""
        return {"DEFAULT": {"control_exchange": self.exchange_name},
                "oslo_messaging_notifications": {
                    "driver": driver, "transport_url": URL,
                    "topics": self.topic}}

    def drain(self):
        while True:
            message = self.queue.get(no_ack=True)
            if message is None:
                return
            body = message.payload
            if isinstance(body, (bytes, str)):
                body = json.loads(body)
            if "oslo.message" in body:  # messagingv2's envelope
                body = dict(json.loads(body["oslo.message"]),
                            envelope=body["oslo.version"])
            self.events.append(body)

    def wait_for(self, predicate, timeout=20, message="events"):
        """The events, once ``predicate(events)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            if predicate(self.events):
                return self.events
            if time.monotonic() > deadline:
                raise AssertionError(
                    "timed out waiting for %s; got %s" % (
                        message, [e["event_type"] for e in self.events]))
            time.sleep(0.1)

    def settle(self, api):
        """Every event the server queued so far, in ``self.events``.

        Creates a marker image through ``api`` and waits for its
        image.create: a glance-api process sends its events in order, from
        one queue through one thread (glance/notifier.py), so with one
        worker all that came before the marker has arrived with it. The
        marker's id is returned."""
        marker = api.create(name="marker")["id"]
        self.wait_for(lambda events: any(_about(e, marker) for e in events),
                      message="the marker image's image.create")
        return marker

    def of(self, event_type, image_id=None):
        return [e for e in self.events if e["event_type"] == event_type
                and (image_id is None or _about(e, image_id))]

    def close(self):
        for name in ["%s.%s" % (self.topic, p) for p in PRIORITIES] + [
                self.queue.name]:
            try:
                self.channel.queue_delete(name)
            except Exception:  # noqa: BLE001,S110 - may not exist
                self.channel = self.connection.channel()
        try:
            self.channel.exchange_delete(self.exchange_name)
        finally:
            self.connection.release()


def _about(event, image_id):
    payload = event["payload"]
    return image_id in (payload.get("id"), payload.get("image_id"))


@pytest.fixture
def rabbit():
    require_broker()
    consumer = Consumer()
    yield consumer
    consumer.close()
