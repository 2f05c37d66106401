"""``CacheClient``: the HTTP client of glance-api's cache management API.

It speaks the legacy routes the cache management middleware keeps for it
(``<doc_root>/cached_images``, ``<doc_root>/queued_images``). Errors are
:class:`CacheClientError` subclasses whose message is one readable line.
"""
import os

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1.identity import v3 as ks_v3
from keystoneauth1 import session as ks_session
from oslo_log import log as logging
import requests

LOG = logging.getLogger(__name__)

DEFAULT_PORT = 9292
# Glance's CacheClient used /v1; the version negotiation in front of the
# cache middleware only lets /v2 through here, where the same routes live.
DEFAULT_DOC_ROOT = "/v2"


class CacheClientError(Exception):
    """A request to the cache API failed."""


class CommunicationError(CacheClientError):
    """The server could not be reached."""


class Forbidden(CacheClientError):
    """The server refused (401/403)."""


class NotFound(CacheClientError):
    """No such image (404)."""


class CacheClient:
    """Talks to one glance-api node's cache API."""

    def __init__(self, host, port=None, timeout=None, use_ssl=False,
                 auth_token=None, creds=None, doc_root=None, auth_url=None,
                 configure_via_auth=True, insecure=False, ca_file=None):
        self.host = host
        self.port = port or DEFAULT_PORT
        self.timeout = timeout
        self.use_ssl = use_ssl
        self.auth_token = auth_token
        self.creds = creds or {}
        self.doc_root = (doc_root or DEFAULT_DOC_ROOT).rstrip("/")
        self.auth_url = auth_url
        self.verify = False if insecure else (ca_file or True)
        self.session = requests.Session()

    @property
    def base_url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d%s" % ("https" if self.use_ssl else "http", host,
                                 self.port, self.doc_root)

    # --- the API ---

    def get_cached_images(self, **kwargs):
        """Dicts of the cached images."""
        return self._json("GET", "/cached_images")["cached_images"]

    def get_queued_images(self, **kwargs):
        """Ids of the queued images."""
        return self._json("GET", "/queued_images")["queued_images"]

    def queue_image_for_caching(self, image_id):
        self._request("PUT", "/queued_images/%s" % image_id)
        return True

    def delete_cached_image(self, image_id):
        self._request("DELETE", "/cached_images/%s" % image_id)
        return True

    def delete_all_cached_images(self):
        """The number of images removed."""
        return self._json("DELETE", "/cached_images")["num_deleted"]

    def delete_queued_image(self, image_id):
        self._request("DELETE", "/queued_images/%s" % image_id)
        return True

    def delete_all_queued_images(self):
        return self._json("DELETE", "/queued_images")["num_deleted"]

    # --- authentication ---

    def _login(self):
        """Get a token from Keystone with the v3 password credentials.

        Done at the first request, not in the constructor, so that a failed
        login surfaces as a CacheClientError where the CLI catches them.
        """
        creds = self.creds
        missing = [env for key, env in (("auth_url", "OS_AUTH_URL"),
                                        ("username", "OS_USERNAME"),
                                        ("password", "OS_PASSWORD"))
                   if not creds.get(key)]
        if missing:
            raise CacheClientError("keystone authentication needs %s"
                                   % ", ".join(missing))
        auth_url = _v3_url(creds["auth_url"])
        plugin = ks_v3.Password(auth_url=auth_url,
                                username=creds["username"],
                                password=creds["password"],
                                **_scope(creds))
        session = ks_session.Session(auth=plugin, verify=self.verify,
                                     timeout=self.timeout)
        try:
            self.auth_token = session.get_token()
        except ks_exc.Unauthorized as e:
            raise Forbidden("keystone authentication failed for user %s at "
                            "%s: %s" % (creds["username"], auth_url,
                                        _reason(e))) from e
        except ks_exc.ConnectionError as e:
            raise CommunicationError("cannot reach keystone at %s: %s"
                                     % (auth_url, _reason(e))) from e
        except ks_exc.ClientException as e:
            raise CacheClientError("keystone authentication failed at %s: "
                                   "%s" % (auth_url, _reason(e))) from e

    # --- HTTP ---

    def _json(self, method, path):
        resp = self._request(method, path)
        try:
            return resp.json()
        except ValueError as e:
            raise CacheClientError("%s %s: the answer is not JSON"
                                   % (method, self.base_url + path)) from e

    def _request(self, method, path):
        headers = {"Accept": "application/json"}
        strategy = (self.creds.get("strategy") or "").lower()
        if not self.auth_token and strategy == "keystone":
            self._login()
        if self.auth_token:
            headers["X-Auth-Token"] = self.auth_token
        url = self.base_url + path
        LOG.debug("%s %s", method, url)
        try:
            resp = self.session.request(method, url, headers=headers,
                                        timeout=self.timeout,
                                        verify=self.verify)
        except requests.RequestException as e:
            raise CommunicationError("cannot reach %s: %s"
                                     % (self.base_url, _reason(e))) from e
        LOG.debug("%s %s: %d", method, url, resp.status_code)
        if resp.status_code < 400:
            return resp
        detail = "%d %s" % (resp.status_code, _summary(resp))
        if resp.status_code in (401, 403):
            raise Forbidden("the server refused %s %s: %s"
                            % (method, path, detail))
        if resp.status_code == 404:
            raise NotFound("not found: %s %s: %s" % (method, path, detail))
        raise CacheClientError("%s %s failed: %s" % (method, path, detail))


def _scope(creds):
    """keystoneauth's domain and project arguments: an id given (Glance's
    --os-*-domain-id, --os-project-id) wins over the name."""
    scope = {}
    for kind in ("user_domain", "project_domain"):
        if creds.get(kind + "_id"):
            scope[kind + "_id"] = creds[kind + "_id"]
        else:
            scope[kind + "_name"] = creds.get(kind) or "Default"
    if creds.get("project_id"):
        scope["project_id"] = creds["project_id"]
        scope.pop("project_domain_id", None)
        scope.pop("project_domain_name", None)
    else:
        scope["project_name"] = creds.get("project")
    return scope


def _reason(error):
    text = str(error)
    for marker in ("Connection refused", "timed out", "Name or service "
                   "not known", "CERTIFICATE_VERIFY_FAILED"):
        if marker in text:
            return marker
    return text.splitlines()[0][:200] if text else type(error).__name__


def _v3_url(auth_url):
    # OS_AUTH_URL is often unversioned (http://host:5000) or, in old rc
    # files, /v2.0 (gone from Keystone); the v3 plugin posts to
    # <auth_url>/auth/tokens, so it needs the /v3.
    auth_url = auth_url.rstrip("/")
    if auth_url.endswith("/v3"):
        return auth_url
    return auth_url.removesuffix("/v2.0") + "/v3"


def _summary(resp):
    lines = [line.strip() for line in resp.text.splitlines()
             if line.strip() and not line.strip().startswith("<")]
    return " ".join(lines)[:300] or resp.reason


def get_client(host, port=None, timeout=None, use_ssl=False, username=None,
               password=None, tenant=None, auth_url=None, auth_strategy=None,
               auth_token=None, region=None, is_silent_upload=False,
               insecure=False, project_id=None, user_domain_id=None,
               project_domain_id=None):
    """A CacheClient; credentials not given come from the ``OS_*``
    environment variables (``OS_AUTH_TOKEN``, ``OS_USERNAME``...).
    Domain and project ids, when given or in ``OS_USER_DOMAIN_ID``,
    ``OS_PROJECT_DOMAIN_ID``, ``OS_PROJECT_ID``, win over the names.

    Without a token it logs in to Keystone (v3 password) when the strategy
    is ``keystone``; the strategy defaults to ``keystone`` when an auth URL,
    a user name and a password are all known, else to ``noauth``.
    """
    env = os.environ
    creds = {
        "username": username or env.get("OS_AUTH_USER",
                                        env.get("OS_USERNAME")),
        "password": password or env.get("OS_AUTH_KEY",
                                        env.get("OS_PASSWORD")),
        "project": tenant or env.get("OS_AUTH_TENANT",
                                     env.get("OS_PROJECT_NAME",
                                             env.get("OS_TENANT_NAME"))),
        "user_domain": env.get("OS_USER_DOMAIN_NAME", "Default"),
        "project_domain": env.get("OS_PROJECT_DOMAIN_NAME", "Default"),
        "auth_url": auth_url or env.get("OS_AUTH_URL"),
        "region": region or env.get("OS_REGION_NAME"),
    }
    creds["tenant"] = creds["project"]  # the name Glance's client used
    ids = {"project_id": project_id or env.get("OS_PROJECT_ID"),
           "user_domain_id": user_domain_id or env.get("OS_USER_DOMAIN_ID"),
           "project_domain_id": project_domain_id
           or env.get("OS_PROJECT_DOMAIN_ID")}
    creds.update((k, v) for k, v in ids.items() if v)
    login_possible = all(creds[k] for k in ("auth_url", "username",
                                            "password"))
    creds["strategy"] = (auth_strategy or env.get("OS_AUTH_STRATEGY")
                         or ("keystone" if login_possible else "noauth"))
    token = auth_token or env.get("OS_AUTH_TOKEN") or env.get("OS_TOKEN")
    return CacheClient(host, port=port, timeout=timeout, use_ssl=use_ssl,
                       auth_token=token, creds=creds,
                       auth_url=creds["auth_url"], insecure=insecure)
