"""Forwarding a request to the node that holds an image's staged data.

Several glance-api nodes share one database and one store, but the
staging area of ``glance-direct`` is each node's own directory. As in
Glance, a node that stages data records itself in the image's
``os_glance_stage_host`` property (its ``worker_self_reference_url``,
else its ``public_endpoint``); an import (``glance-direct``) or a delete
of that image arriving at another node is sent on to the stage host with
the caller's identity (:func:`forward`), which then does the work as if
the caller had called it: the import runs where the data is, the staged
file of a deleted image is removed by the node that has it.

Answers, as Glance's:

* the stage host's own answer when it is an error (its status, its
  message): the request was judged there;
* 504 ``Stage host is unavailable`` when the stage host cannot be
  reached (connection refused, timeout), 502 for any other failure to
  talk to it. An import then leaves the image as it was (``uploading``,
  the lock not taken): it can be retried once the node is back, or
  deleted. A delete goes on locally (:func:`delete_elsewhere` answers
  False): the image is deleted and the staged file stays on the
  unreachable node until its start-up clean-up (:func:`clean_staging`)
  removes it.

The caller's identity travels as the headers the stage host's context
middleware reads: ``X-Auth-Token`` (keystone validates it again there)
and the identity headers keystonemiddleware sets (trusted-auth
deployments trust them, as they trust the client's), plus the request
id, so that both nodes log the request under the same id.
"""
import os

import requests
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import config
from glance.common import exception
from glance.common import utils
from glance.db import api as db
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

STAGE_HOST = "os_glance_stage_host"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0   # Glance's proxy timeout


class StageHostUnreachable(exception.GlanceException):
    """The stage host did not answer (504), as Glance answers."""

    message = _("Stage host is unavailable")
    code = 504
    shown = "after"
    public = True   # the reason is shown although the status is 5xx


class StageHostFailed(StageHostUnreachable):
    """Talking to the stage host failed otherwise (502)."""

    code = 502


class ForwardedError(exception.GlanceException):
    """The stage host's error answer, relayed: its status, its message."""

    public = True

    def __init__(self, code, message):
        self.code = code
        super().__init__(message)


def self_url():
    """The URL other nodes reach this one at, as Glance decides it."""
    return CONF.worker_self_reference_url or CONF.public_endpoint


def stage_host(image):
    """The other node that holds ``image``'s staged data, or None when it
    is this one (or none is recorded)."""
    host = (image.get("properties") or {}).get(STAGE_HOST)
    if not host or _same_url(host, self_url()):
        return None
    return host


def _same_url(one, other):
    return bool(other) and one.rstrip("/") == other.rstrip("/")


def identity_headers(context):
    """The headers that carry ``context``'s caller to another node."""
    headers = {"Accept": "application/json"}
    if context.auth_token:
        headers["X-Auth-Token"] = context.auth_token
    if context.user_id or context.project_id:
        headers["X-Identity-Status"] = "Confirmed"
    pairs = (("X-User-Id", context.user_id),
             ("X-Project-Id", context.project_id),
             ("X-Tenant-Id", context.project_id),
             ("X-User-Domain-Id", context.user_domain_id),
             ("X-Project-Domain-Id", context.project_domain_id),
             ("X-User-Name", getattr(context, "user_name", None)),
             ("X-Project-Name", getattr(context, "project_name", None)),
             ("X-Roles", ",".join(context.roles or ())),
             ("X-Openstack-Request-ID", context.request_id))
    for name, value in pairs:
        if value:
            headers[name] = value
    return headers


def forward(context, host, method, path, body=None, headers=None):
    """Send the caller's request on to ``host``; its (2xx) response.

    StageHostUnreachable (504) or StageHostFailed (502) when ``host``
    cannot be talked to; ForwardedError with the host's status and
    message when it answers an error.
    """
    url = host.rstrip("/") + path
    all_headers = identity_headers(context)
    all_headers.update(headers or {})
    LOG.info("Forwarding %(method)s %(path)s to the stage host %(host)s",
             {"method": method, "path": path, "host": host})
    try:
        resp = requests.request(method, url, json=body, headers=all_headers,
                                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                                allow_redirects=False)
    except (requests.exceptions.ConnectionError,
            requests.exceptions.Timeout) as e:
        LOG.error("Failed to forward %s to %r: %s", method, url, e)
        raise StageHostUnreachable() from e
    except requests.exceptions.RequestException as e:
        LOG.error("Failed to forward %s to %r: %s", method, url, e)
        raise StageHostFailed() from e
    if resp.status_code // 100 != 2:
        raise ForwardedError(resp.status_code, _remote_message(resp))
    return resp


def _remote_message(resp):
    """The message of the stage host's error answer."""
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("message"):
        return str(doc["message"]).replace("<br /><br />", " ").strip()
    return resp.text.strip() or resp.reason or str(resp.status_code)


# --- the two forwarded calls ---

def import_elsewhere(context, image, body, store_header=None):
    """Send a glance-direct import of ``image`` to its stage host; False
    if the data is staged here (nothing was sent)."""
    host = stage_host(image)
    if host is None:
        return False
    headers = {"X-Image-Meta-Store": store_header} if store_header else {}
    forward(context, host, "POST", "/v2/images/%s/import" % image["id"],
            body=body, headers=headers)
    return True


def delete_elsewhere(context, image):
    """Delete ``image`` through its stage host, which removes the staged
    data it holds. True if that node did it; False if the image is not
    staged elsewhere, or the stage host cannot be reached (the caller
    then deletes the image here; the staged file is left to that node's
    start-up clean-up). The stage host's error answers are raised."""
    host = stage_host(image)
    if host is None:
        return False
    try:
        forward(context, host, "DELETE", "/v2/images/%s" % image["id"])
    except StageHostUnreachable:
        LOG.warning("Deleting image %(id)s here: its stage host %(host)s "
                    "is unavailable and keeps the staged data until it "
                    "starts again", {"id": image["id"], "host": host})
        return False
    return True


# --- the staging area at start-up ---

def clean_staging():
    """Remove staged files of images that no longer exist (deleted while
    this node was away); (files removed, files kept). Never raises: a
    node starts whatever this finds."""
    try:
        return _clean_staging(config.staging_dir())
    except Exception:  # noqa: BLE001 - start anyway, say why
        LOG.exception("Could not clean up the staging area")
        return 0, 0


def _clean_staging(directory):
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0, 0
    removed = kept = 0
    for name in names:
        image_id = name.split(".", 1)[0]
        if not utils.is_uuid_like(image_id) or _image_exists(image_id):
            kept += 1
            continue
        try:
            os.unlink(os.path.join(directory, name))
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as e:
            LOG.error("Could not remove the stale staged file %s: %s",
                      name, e)
    if removed:
        LOG.info("Removed %d staged files of deleted images", removed)
    return removed, kept


def _image_exists(image_id):
    try:
        db.image_get(image_id)
    except exception.NotFound:
        return False
    return True
