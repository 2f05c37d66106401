"""A tiny HTTP client for functional tests: one identity per instance.

Identity comes from the headers keystonemiddleware would set, which the
``trusted-auth`` paste flavor's ContextMiddleware trusts.
"""
import json
import uuid

import requests

ADMIN = "admin,member,reader"
MEMBER = "member,reader"
READER = "reader"
PATCH_CT = "application/openstack-images-v2.1-json-patch"
PATCH_CT_20 = "application/openstack-images-v2.0-json-patch"
OCTET = "application/octet-stream"


def identity_headers(project, roles=MEMBER, user=None):
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project,
            "X-User-Id": user or "u-" + project, "X-Roles": roles}


class Api:
    """Requests against one server as one project with some roles."""

    def __init__(self, base_url, project, roles=MEMBER):
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.roles = roles
        self.session = requests.Session()

    def request(self, method, path, headers=None, **kw):
        all_headers = identity_headers(self.project, self.roles)
        all_headers.update(headers or {})
        kw.setdefault("timeout", 30)
        kw.setdefault("allow_redirects", False)
        return self.session.request(method, self.base_url + path,
                                    headers=all_headers, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def patch(self, image_id, ops, content_type=PATCH_CT):
        data = ops if isinstance(ops, (str, bytes)) else json.dumps(ops)
        return self.request("PATCH", "/v2/images/%s" % image_id, data=data,
                            headers={"Content-Type": content_type})

    def create(self, expect=201, **props):
        resp = self.post("/v2/images", json=props)
        assert resp.status_code == expect, (resp.status_code, resp.text)
        return resp.json() if expect == 201 else resp

    def image(self, image_id):
        resp = self.get("/v2/images/%s" % image_id)
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return resp.json()

    def list_ids(self, **params):
        resp = self.get("/v2/images", params=params)
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return [i["id"] for i in resp.json()["images"]]

    def active(self, data):
        """The id of a new raw/bare image, ``data`` uploaded to it."""
        image = self.create(disk_format="raw", container_format="bare")
        resp = self.put("/v2/images/%s/file" % image["id"], data=data,
                        headers={"Content-Type": OCTET})
        assert resp.status_code == 204, (resp.status_code, resp.text)
        return image["id"]

    def as_role(self, roles):
        return Api(self.base_url, self.project, roles)


def new_project(prefix="p"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])
