"""Paste filters of the test Swift proxy (``swift_server.py`` beside this).

They run inside the ``swift-proxy-server`` process, not in the tests:

- ``memory_cache``: what Swift's ``cache`` filter (memcache) gives the
  pipeline, ``env['swift.cache']``, kept in the proxy's memory. tempauth
  keeps its tokens there and the proxy its account and container info;
  the proxy runs with ``workers = 0`` (one process), so one dict is the
  whole cache and no memcached is needed.
- ``keystone_v3``: the part of the Identity v3 API that glance_store's
  swift driver speaks (``POST /v3/auth/tokens``, a password scoped to a
  project), in front of tempauth. glance_store (5.x) only
  authenticates with Keystone v3, as Glance operators run it; each token
  request becomes a tempauth ``GET /auth/v1.0`` for ``<project>:<user>``
  and answers with the token tempauth issued and a catalog whose
  ``object-store`` endpoint is the account's storage URL. Swift itself
  (tempauth) decides who gets in and checks the token on every request.
"""
import copy
import datetime
import json
import threading
import time

from swift.common.swob import Request, Response

MEMCACHE_TIME_LIMIT = 30 * 24 * 3600


class MemoryCache:
    """The MemcacheRing methods Swift's middleware and proxy call."""

    def __init__(self):
        self._items = {}
        self._lock = threading.Lock()

    @staticmethod
    def _expiry(ttl):
        if not ttl:
            return None
        # memcache: up to 30 days a relative time, past that a timestamp
        return ttl if ttl > MEMCACHE_TIME_LIMIT else time.time() + ttl

    def _live(self, key):
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.time():
            del self._items[key]
            return None
        return item

    def get(self, key, raise_on_error=False, **kwargs):
        with self._lock:
            item = self._live(key)
            # a copy, as a value that went through memcache would be
            return None if item is None else copy.deepcopy(item[0])

    def set(self, key, value, serialize=True, time=0, **kwargs):
        if serialize:
            value = json.loads(json.dumps(value))
        with self._lock:
            self._items[key] = (value, self._expiry(time))

    def incr(self, key, delta=1, time=0, **kwargs):
        with self._lock:
            item = self._live(key)
            value = max(int(item[0]) + delta, 0) if item else max(delta, 0)
            self._items[key] = (value, item[1] if item else
                                self._expiry(time))
            return value

    def decr(self, key, delta=1, time=0, **kwargs):
        return self.incr(key, -delta, time)

    def delete(self, key, **kwargs):
        with self._lock:
            self._items.pop(key, None)

    def get_multi(self, keys, server_key=None, **kwargs):
        return [self.get(key) for key in keys]

    def set_multi(self, mapping, server_key=None, serialize=True, time=0,
                  **kwargs):
        for key, value in mapping.items():
            self.set(key, value, serialize=serialize, time=time)


def memory_cache(global_conf, **local_conf):
    cache = MemoryCache()

    def make_filter(app):
        def cached(env, start_response):
            env["swift.cache"] = cache
            return app(env, start_response)
        return cached
    return make_filter


class KeystoneV3:
    """``/v3`` of an Identity service whose users are tempauth's."""

    def __init__(self, app, conf):
        self.app = app
        self.region = conf.get("region", "RegionOne")

    def __call__(self, env, start_response):
        path = env.get("PATH_INFO", "").rstrip("/")
        method = env.get("REQUEST_METHOD")
        if path == "/v3/auth/tokens" and method == "POST":
            return self.issue_token(Request(env))(env, start_response)
        return self.app(env, start_response)

    def issue_token(self, req):
        try:
            auth = json.loads(req.body)["auth"]
            user = auth["identity"]["password"]["user"]
            project = auth["scope"]["project"]
            project_name = project.get("name") or project["id"]
            user_name, password = user.get("name") or user["id"], \
                user["password"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "Bad Request",
                          "Only password authentication scoped to a "
                          "project is served here.")
        sub = Request.blank("/auth/v1.0", environ={
            "REQUEST_METHOD": "GET",
            "swift.cache": req.environ.get("swift.cache")}, headers={
            "Host": req.host,
            "X-Auth-User": "%s:%s" % (project_name, user_name),
            "X-Auth-Key": password})
        resp = sub.get_response(self.app)
        if resp.status_int != 200:
            return _error(401, "Unauthorized", "The request you have made "
                          "requires authentication.")
        token = resp.headers["X-Auth-Token"]
        life = int(resp.headers.get("X-Auth-Token-Expires", 3600))
        return _json(201, self.token_body(
            user_name, project_name, resp.headers["X-Storage-Url"], life),
            {"X-Subject-Token": token})

    def token_body(self, user, project, storage_url, life):
        now = datetime.datetime.now(datetime.timezone.utc)

        def stamp(moment):
            return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        domain = {"id": "default", "name": "Default"}
        endpoints = [{"id": "%s-%s" % (project, interface),
                      "interface": interface, "region": self.region,
                      "region_id": self.region, "url": storage_url}
                     for interface in ("public", "internal", "admin")]
        return {"token": {
            "methods": ["password"],
            "issued_at": stamp(now),
            "expires_at": stamp(now + datetime.timedelta(seconds=life)),
            "user": {"id": user, "name": user, "domain": domain,
                     "password_expires_at": None},
            "project": {"id": project, "name": project, "domain": domain},
            "roles": [{"id": "admin", "name": "admin"}],
            "catalog": [{"id": "swift", "type": "object-store",
                         "name": "swift", "endpoints": endpoints}]}}


def _json(status, body, headers=None):
    resp = Response(status=status, body=json.dumps(body).encode(),
                    content_type="application/json")
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def _error(status, title, message):
    return _json(status, {"error": {"code": status, "title": title,
                                    "message": message}})


def keystone_v3(global_conf, **local_conf):
    conf = dict(global_conf, **local_conf)

    def make_filter(app):
        return KeystoneV3(app, conf)
    return make_filter
