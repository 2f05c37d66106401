"""Notifications: the events Glance sends on the message bus.

Service functions call one of the ``image_*``/``member_event``/
``task_event`` steps after their database write committed; a failed
operation sends nothing. The event types and payloads are Glance's
(``image.create``, ``image.prepare``, ``image.upload``,
``image.activate``, ``image.send``, ``image.update``, ``image.delete``,
``image.member.*``, ``task.*``), published with ``default_publisher_id``
through oslo.messaging as ``[oslo_messaging_notifications]`` configures
it (``driver`` messaging, messagingv2, log, noop; ``transport_url``;
``topics``). ``disabled_notifications`` turns single events
(``image.update``) or groups (``image``, ``task``) off.

Nothing here waits for the broker. An event goes into a bounded queue
(``notification_queue_size``) that one background thread per process
drains into oslo.messaging; when the queue is full (the broker is down
or slow) the event is dropped and a warning says how many were. Off
(no driver, or ``noop``, the default) an event costs one option lookup.
"""
import atexit
import datetime
import queue
import threading
import time

import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_messaging import opts as messaging_opts

from glance.common import process
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

NOTIFICATIONS_GROUP = "oslo_messaging_notifications"

notifier_opts = [
    cfg.StrOpt("default_publisher_id", default="image.localhost",
               help=_("Publisher id of the notifications this service "
                      "sends, usually image.<host name>.")),
    cfg.ListOpt("disabled_notifications", default=[],
                help=_("Notifications not to send: event types "
                       "(image.update, task.success) or whole groups "
                       "(image, image.member, task).")),
    cfg.IntOpt("notification_queue_size", default=1000, min=1,
               help=_("Notifications a process holds while the message "
                      "bus is slow or unreachable; when full, new ones "
                      "are dropped with a warning. Requests never wait "
                      "for the bus.")),
]

CONF.register_opts(notifier_opts)

# oslo.messaging registers these when a transport is made; they are
# registered now so that the configuration is read (and checked) at
# start-up, and so the sample configuration lists them.
oslo_messaging.set_transport_defaults("glance")
_MESSAGING_OPTS = {(group or "DEFAULT"): opts
                   for group, opts in messaging_opts.list_opts()}
_TRANSPORT_OPTS = [o for o in _MESSAGING_OPTS["DEFAULT"]
                   if o.dest in ("transport_url", "control_exchange")]
CONF.register_opts(_TRANSPORT_OPTS)
CONF.register_opts(_MESSAGING_OPTS[NOTIFICATIONS_GROUP],
                   group=NOTIFICATIONS_GROUP)

FLUSH_TIMEOUT = 2.0          # seconds a process waits at exit
DROP_WARNING_INTERVAL = 60.0  # seconds between two "dropped" warnings
FOREVER = 2 ** 31             # connection retries of the sending thread


def list_opts():
    return [(None, notifier_opts + _TRANSPORT_OPTS),
            (NOTIFICATIONS_GROUP, _MESSAGING_OPTS[NOTIFICATIONS_GROUP])]


def enabled(event_type=None):
    """Whether a driver is configured (and ``event_type`` not disabled)."""
    drivers = [d for d in CONF.oslo_messaging_notifications.driver or ()
               if d and d != "noop"]
    if not drivers:
        return False
    if event_type is None:
        return True
    disabled = CONF.disabled_notifications or ()
    group = event_type.split(".", 1)[0]
    # Glance matches the event type and its first word; image.member
    # (a group of its own) is matched too.
    names = {event_type, group, event_type.rsplit(".", 1)[0]}
    return not names.intersection(disabled)


class Notifier:
    """One process's queue of events and the thread sending them."""

    def __init__(self, size):
        self.queue = queue.Queue(maxsize=size)
        self.dropped = 0
        self.last_warning = 0.0
        self._notifier = None
        self._thread = threading.Thread(target=self._run,
                                        name="glance-notifier",
                                        daemon=True)
        self._thread.start()

    def put(self, priority, event_type, payload):
        try:
            self.queue.put_nowait((priority, event_type, payload))
        except queue.Full:
            self._dropped(event_type)

    def _dropped(self, event_type):
        self.dropped += 1
        now = time.monotonic()
        if now - self.last_warning >= DROP_WARNING_INTERVAL:
            LOG.warning("Notification queue full (the message bus is "
                        "unreachable or slow): dropped %(n)d notification(s)"
                        ", the latest %(event)s",
                        {"n": self.dropped, "event": event_type})
            self.last_warning = now
            self.dropped = 0

    def _oslo_notifier(self):
        if self._notifier is None:
            transport = oslo_messaging.get_notification_transport(CONF)
            self._notifier = oslo_messaging.Notifier(
                transport, publisher_id=CONF.default_publisher_id,
                retry=_retry())
        return self._notifier

    def _run(self):
        while True:
            priority, event_type, payload = self.queue.get()
            try:
                if event_type is not None:
                    send = getattr(self._oslo_notifier(), priority)
                    send({}, event_type, payload)
            except Exception:  # noqa: BLE001 - the thread must go on
                LOG.exception("Could not send notification %s", event_type)
            finally:
                self.queue.task_done()

    def flush(self, timeout):
        """Wait up to ``timeout`` seconds for the queue to empty; whether
        it did."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


def _retry():
    """``[oslo_messaging_notifications] retry``; its default, -1
    ("retry forever"), reaches kombu as "never retry", which would lose
    every event of a broker restart: it is made a count never reached.
    The thread then waits for the broker while the queue takes, then
    drops, new events."""
    retry = CONF.oslo_messaging_notifications.retry
    return FOREVER if retry is None or retry < 0 else retry


_NOTIFIER = None
_LOCK = threading.Lock()
# a child forked after events were sent starts its own queue and thread
process.per_process(__name__, "_NOTIFIER", locks=["_LOCK"])


def get_notifier():
    """This process's notifier (a new one after fork)."""
    global _NOTIFIER
    current = _NOTIFIER
    if current is None:
        with _LOCK:
            if _NOTIFIER is None:
                _NOTIFIER = Notifier(CONF.notification_queue_size)
            current = _NOTIFIER
    return current


@atexit.register
def flush(timeout=FLUSH_TIMEOUT):
    """Give queued events ``timeout`` seconds to leave (at exit)."""
    current = _NOTIFIER
    if current is not None:
        current.flush(timeout)


def notify(event_type, payload, priority="info"):
    """Queue one event (if enabled); never raises, never waits."""
    try:
        if enabled(event_type):
            get_notifier().put(priority, event_type, payload)
    except Exception:  # noqa: BLE001 - a request never fails for it
        LOG.exception("Could not queue notification %s", event_type)


# --- payloads (Glance's fields) ---

def isotime(at=None):
    """Glance's timestamp form, ``2024-05-01T12:00:00Z``; None stays."""
    if at is None:
        return None
    if at.tzinfo is not None:
        at = at.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def image_payload(image):
    """Glance's image payload; locations are left out, as Glance does,
    since their URLs may hold store credentials. ``os_hash_algo``,
    ``os_hash_value`` and ``os_hidden`` are added to Glance's fields."""
    return {
        "id": image["id"], "name": image.get("name"),
        "status": image["status"],
        "created_at": isotime(image.get("created_at")),
        "updated_at": isotime(image.get("updated_at")),
        "min_disk": image.get("min_disk"), "min_ram": image.get("min_ram"),
        "protected": image.get("protected"),
        "checksum": image.get("checksum"),
        "os_hash_algo": image.get("os_hash_algo"),
        "os_hash_value": image.get("os_hash_value"),
        "owner": image.get("owner"),
        "disk_format": image.get("disk_format"),
        "container_format": image.get("container_format"),
        "size": image.get("size"), "virtual_size": image.get("virtual_size"),
        "is_public": image.get("visibility") == "public",
        "visibility": image.get("visibility"),
        "os_hidden": image.get("os_hidden"),
        "properties": dict(image.get("properties") or {}),
        "tags": list(image.get("tags") or ()),
        "deleted": False, "deleted_at": None,
    }


def _import_properties(image):
    props = image.get("properties") or {}

    def split(name):
        return [s for s in (props.get(name) or "").split(",") if s]
    return {"os_glance_importing_to_stores":
            split("os_glance_importing_to_stores"),
            "os_glance_failed_import": split("os_glance_failed_import")}


def member_payload(member):
    return {"image_id": member["image_id"], "member_id": member["member"],
            "status": member["status"],
            "created_at": isotime(member.get("created_at")),
            "updated_at": isotime(member.get("updated_at")),
            "deleted": False, "deleted_at": None}


def task_payload(task):
    """Glance's task payload: input, result and message are never sent
    (they may hold credentials)."""
    return {"id": task["id"], "type": task["type"],
            "status": task["status"], "result": None,
            "owner": task.get("owner"), "message": None,
            "expires_at": isotime(task.get("expires_at")),
            "created_at": isotime(task.get("created_at")),
            "updated_at": isotime(task.get("updated_at")),
            "deleted": False, "deleted_at": None}


# --- the steps services call ---

def image_event(event_type, image, **extra):
    """``image.create``, ``image.update``...; returns ``image``."""
    if enabled(event_type):
        payload = image_payload(image)
        payload.update(extra)
        notify(event_type, payload)
    return image


def image_updated(image):
    """``image.update``; returns ``image``."""
    return image_event("image.update", image)


def image_deleted(image):
    """``image.delete`` (the image as deleted: ``deleted_at`` now)."""
    return image_event("image.delete", image, deleted=True,
                       deleted_at=isotime(_now()))


def image_prepare(image, backend=None):
    """``image.prepare``: data is about to be written."""
    extra = _import_properties(image) if enabled("image.prepare") else {}
    if backend:
        extra["backend"] = backend
    return image_event("image.prepare", image, **extra)


def image_uploaded(image, activated=True):
    """``image.upload`` and, when the write made it active,
    ``image.activate``; returns ``image``."""
    if enabled("image.upload"):
        image_event("image.upload", image, **_import_properties(image))
    if activated and image.get("status") == "active":
        image_event("image.activate", image)
    return image


def member_event(event_type, member, deleted=False):
    """``image.member.create``/``update``/``delete``; returns ``member``."""
    if enabled(event_type):
        payload = member_payload(member)
        if deleted:
            payload.update(deleted=True, deleted_at=isotime(_now()))
        notify(event_type, payload)
    return member


def task_event(event_type, task):
    """``task.create``, ``task.processing``, ``task.success``...;
    returns ``task``."""
    if task is not None and enabled(event_type):
        notify(event_type, task_payload(task))
    return task


def image_send(context, image, chunks, expected, destination_ip=None):
    """``chunks`` of a download, sending ``image.send`` (bytes sent,
    receiver) when the body is closed; error priority when fewer than
    ``expected`` bytes went. ``chunks`` unchanged when off."""
    if not enabled("image.send"):
        return chunks
    return SentCounter(chunks, expected, {
        "image_id": image["id"], "owner_id": image.get("owner"),
        "receiver_tenant_id": getattr(context, "project_id", None),
        "receiver_user_id": getattr(context, "user_id", None),
        "destination_ip": destination_ip or getattr(
            context, "remote_address", None)})


class SentCounter:
    """A download body counting the bytes that go, iterated or sent by
    ``sendfile`` (it keeps the body's ``sendfile`` when it has one)."""

    def __init__(self, body, expected, payload):
        self.body = body
        self.region = body   # what file_body tunes (chunk sizes)
        self.iterator = None
        self.expected = expected
        self.payload = payload
        self.sent = 0
        self.closed = False
        if hasattr(body, "sendfile"):
            self.sendfile = self._sendfile

    def __iter__(self):
        return self

    def __next__(self):
        if self.iterator is None:
            self.iterator = iter(self.body)
        try:
            chunk = next(self.iterator)
        except StopIteration:
            # a wrapping iterator (the cache tee) may not close us
            self.close()
            raise
        self.sent += len(chunk)
        return chunk

    def _sendfile(self, send):
        def counted(fd, offset, count):
            done = send(fd, offset, count)
            self.sent += done or 0
            return done
        return self.body.sendfile(counted)

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            payload = dict(self.payload, bytes_sent=self.sent)
            notify("image.send", payload, "info"
                   if self.sent == self.expected else "error")
