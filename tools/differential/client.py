"""Scenario runtime: callers with identities, recording every exchange.

A scenario is a function ``fn(s)`` run once per side with a
:class:`Session` ``s``; it makes requests through ``s.admin``,
``s.member``, ``s.reader`` (project ``p1``), ``s.other`` (project ``p2``),
``s.third`` (project ``p3``) and ``s.anon`` (no identity headers). Each
request is recorded under a step label (``step=`` or the request line) and
compared with the same step of the other side. ``record=False`` requests
(polling) are not compared.
"""
import json as jsonlib
import random
import time

import requests

from tools.differential.normalize import Normalizer, body_view

ADMIN = "admin,member,reader"
MEMBER = "member,reader"
READER = "reader"
PATCH_CT = "application/openstack-images-v2.1-json-patch"
PATCH_CT_20 = "application/openstack-images-v2.0-json-patch"
OCTET = "application/octet-stream"
TIMEOUT = 60

# headers a client reads; openstack-image-* are added by prefix
HEADERS = ("location", "content-type", "content-range", "content-md5",
           "content-length", "allow", "www-authenticate", "accept-patch",
           "x-openstack-request-id")


def new_token():
    """Letters no UUID, time or hex digest contains."""
    return "x" + "".join(random.choice("ghjkmnpqrstuvwxyz")  # noqa: S311
                         for _ in range(7))


class Response:
    """What a scenario sees of an answer."""

    def __init__(self, resp):
        self.raw = resp
        self.status = resp.status_code
        self.headers = resp.headers
        self.content = resp.content

    @property
    def json(self):
        try:
            return jsonlib.loads(self.content)
        except ValueError:
            return None

    @property
    def id(self):
        body = self.json
        return body.get("id") if isinstance(body, dict) else None


class Exchange:
    """One recorded request and its normalised answer."""

    def __init__(self, step, request, status, headers, body):
        self.step = step
        self.request = request
        self.status = status
        self.headers = headers
        self.body = body

    def as_dict(self):
        return {"step": self.step, "request": self.request,
                "status": self.status, "headers": self.headers,
                "body": self.body}


class Caller:
    """Requests as one identity."""

    def __init__(self, session, project, roles, user=None):
        self.session = session
        self.project = project
        self.roles = roles
        self.user = user or (("u-" + project) if project else None)

    def identity(self):
        if self.project is None:
            return {}
        return {"X-Identity-Status": "Confirmed",
                "X-Project-Id": self.project, "X-User-Id": self.user,
                "X-Roles": self.roles}

    def request(self, method, path, step=None, record=True, headers=None,
                identity=True, **kw):
        all_headers = self.identity() if identity else {}
        all_headers.update(headers or {})
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        resp = Response(requests.request(method, self.session.url + path,
                                         headers=all_headers, **kw))
        if record:
            self.session.record(step, self, method, path, kw, all_headers,
                                resp)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def patch(self, image_id, ops, content_type=PATCH_CT, **kw):
        data = ops if isinstance(ops, (str, bytes)) else jsonlib.dumps(ops)
        headers = dict(kw.pop("headers", {}) or {})
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.request("PATCH", "/v2/images/%s" % image_id, data=data,
                            headers=headers, **kw)

    # helpers (each records its requests like any other)

    def create(self, step=None, **props):
        """POST /v2/images; the new id or None."""
        return self.post("/v2/images", json=props, step=step).id

    def upload(self, image_id, data, step=None, **kw):
        headers = {"Content-Type": OCTET}
        headers.update(kw.pop("headers", {}))
        return self.put("/v2/images/%s/file" % image_id, data=data,
                        headers=headers, step=step, **kw)

    def stage(self, image_id, data, step=None):
        return self.put("/v2/images/%s/stage" % image_id, data=data,
                        headers={"Content-Type": OCTET}, step=step)

    def wait_image(self, image_id, until=("active", "killed", "deleted"),
                   timeout=30, check=None):
        """Poll (unrecorded) until the image's status is one of ``until``
        (or ``check(image)`` is true); the last image seen."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.get("/v2/images/%s" % image_id, record=False)
            image = resp.json if resp.status == 200 else None
            if image is None or image.get("status") in until or (
                    check and check(image)):
                return image
            if time.monotonic() > deadline:
                return image
            time.sleep(0.2)


class Session:
    """One scenario's run on one side: callers and the recording."""

    def __init__(self, side, token):
        self.side = side
        self.url = side.url
        self.token = token
        self.norm = Normalizer(side.url, side.state_dirs, token)
        self.exchanges = []
        self.labels = {}
        self.admin = Caller(self, self.project("adm"), ADMIN)
        self.member = Caller(self, self.project("p1"), MEMBER)
        self.reader = Caller(self, self.project("p1"), READER,
                             user="r-" + self.project("p1"))
        self.other = Caller(self, self.project("p2"), MEMBER)
        self.third = Caller(self, self.project("p3"), MEMBER)
        self.other_admin = Caller(self, self.project("adm2"), ADMIN)
        self.anon = Caller(self, None, None)

    def project(self, name):
        return "%s-%s" % (name, self.token)

    def caller(self, project, roles):
        return Caller(self, self.project(project), roles)

    def see(self, *values):
        """Number UUIDs in this order, so both sides name them alike even
        when they first show up in an order that differs (sorting by id)."""
        for value in values:
            self.norm.see(value)

    def record(self, step, caller, method, path, kw, headers, resp):
        self.norm.step(None)
        request = "%s %s" % (method, self.norm.text(path))
        if kw.get("params"):
            request += " " + self.norm.text(
                jsonlib.dumps(kw["params"], sort_keys=True))
        label = step or request
        count = self.labels.get(label, 0) + 1
        self.labels[label] = count
        if count > 1:
            label = "%s #%d" % (label, count)
        self.norm.step(label)
        who = caller.roles and "%s(%s)" % (
            self.norm.text(caller.project), caller.roles) or "anonymous"
        shown = {k: v for k, v in headers.items()
                 if not k.lower().startswith("x-") or k.lower() ==
                 "x-openstack-request-id"}
        body = kw.get("json", kw.get("data"))
        if isinstance(body, bytes) and len(body) > 200:
            body = "<%d bytes>" % len(body)
        elif not isinstance(body, (str, bytes, dict, list, type(None))):
            body = "<stream>"
        request_desc = {"line": request, "as": who,
                        "headers": self.norm.data(shown),
                        "body": self.norm.data(
                            body.decode("utf-8", "replace")
                            if isinstance(body, bytes) else body)}
        kept = {}
        for name, value in resp.headers.items():
            lname = name.lower()
            if lname in HEADERS or lname.startswith("openstack-image-"):
                kept[lname] = self.norm.text(value)
        kind, value = body_view(self.norm, resp.headers.get("content-type"),
                                resp.content)
        if kind in ("json", "text"):
            kept.pop("content-length", None)   # spacing and wrapping vary
        self.exchanges.append(Exchange(label, request_desc, resp.status,
                                       kept, {"kind": kind, "value": value}))
