"""Builds the request context from the identity headers.

``ContextMiddleware`` trusts the headers keystonemiddleware's ``authtoken``
sets (``X-Identity-Status: Confirmed``, ``X-Project-Id``, ``X-User-Id``,
``X-Roles``...), and keeps the caller's service catalog
(``X-Service-Catalog``, JSON) in the context, where glance-download finds
the other region's endpoint; ``UnauthenticatedContextMiddleware`` makes
every request an admin one, for the no-auth default deployment.
"""
import json

import webob.exc
from oslo_config import cfg
from oslo_log import log as logging

from glance import policy
from glance.common import wsgi
from glance import context
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

context_opts = [
    cfg.IntOpt("max_request_id_length", default=64, min=0, max=16384,
               help=_("Longest X-Openstack-Request-ID a client may send "
                      "(longer ones are refused with 431); 0: no "
                      "limit.")),
]
CONF.register_opts(context_opts)

CLIENT_REQUEST_ID = "X-Openstack-Request-ID"


def list_opts():
    return [(None, context_opts)]


def _attach(req, ctx, request_id=None):
    if request_id:
        req.environ[wsgi.REQUEST_ID_ENV] = request_id
    ctx.request_id = wsgi.request_id_for(req.environ)
    ctx.remote_address = req.remote_addr  # image.send's destination_ip
    req.context = ctx
    req.environ["glance.context"] = ctx


def client_request_id(req):
    """The request id an authenticated client sent, as Glance takes it
    for the request's own; None without one; 431 when too long."""
    request_id = req.headers.get(CLIENT_REQUEST_ID)
    limit = CONF.max_request_id_length
    if request_id and 0 < limit < len(request_id):
        raise webob.exc.HTTPRequestHeaderFieldsTooLarge(explanation=_(
            "x-openstack-request-id is too long, max size %s") % limit)
    return request_id or None


def _service_catalog(req):
    """The decoded ``X-Service-Catalog``, None without one. Glance answers
    500 for one that is not JSON; it is the caller's input (authtoken
    replaces a client's), so 400 here."""
    header = req.headers.get("X-Service-Catalog")
    if header is None:
        return None
    try:
        return json.loads(header)
    except ValueError:
        raise webob.exc.HTTPBadRequest(
            explanation=_("Invalid service catalog json.")) from None


class BaseContextMiddleware(wsgi.Middleware):
    """Answers with the context's request id, always ``req-`` prefixed.

    The header is added as the app starts its answer (not by
    ``process_response``, which would copy every answer into a webob
    Response); an error raised here, such as the 401, has none, as in
    Glance.
    """

    def wrap_start_response(self, req, start_response):
        def start(status, headers, exc_info=None):
            request_id = _answer_request_id(req)
            if request_id:
                headers = [(name, value) for name, value in headers
                           if name.lower() != wsgi.REQUEST_ID_HEADER]
                headers.append((wsgi.REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)
        return start


def _answer_request_id(req):
    ctx = req.environ.get("glance.context")
    if ctx is None or not ctx.request_id:
        return None
    request_id = ctx.request_id
    return request_id if request_id.startswith("req-") else \
        "req-" + request_id


class ContextMiddleware(BaseContextMiddleware):
    """Context from trusted identity headers; 401 when unconfirmed."""

    def process_request(self, req):
        status = req.headers.get("X-Identity-Status", "Confirmed")
        if status == "Confirmed" and "X-Identity-Status" in req.headers:
            _attach(req, self._authenticated_context(req),
                    client_request_id(req))
        elif CONF.allow_anonymous_access:
            _attach(req, self._anonymous_context())
        else:
            # webob's own text, and no request id, as Glance answers
            raise webob.exc.HTTPUnauthorized()

    @staticmethod
    def _anonymous_context():
        return context.RequestContext(read_only=True, is_admin=False,
                                      roles=[])

    @staticmethod
    def _authenticated_context(req):
        ctx = context.RequestContext.from_environ(
            req.environ, service_catalog=_service_catalog(req))
        # Glance compares roles in lower case
        ctx.roles = [r.strip().lower() for r in ctx.roles
                     if r and r.strip()]
        ctx.is_admin = policy.check_is_admin(ctx)
        return ctx


class UnauthenticatedContextMiddleware(BaseContextMiddleware):
    """An admin context for every request (no authentication)."""

    def process_request(self, req):
        project = req.headers.get("X-Project-Id") or req.headers.get(
            "X-Tenant-Id")
        ctx = context.RequestContext(is_admin=True, roles=["admin",
                                                           "member",
                                                           "reader"],
                                     project_id=project,
                                     user_id=req.headers.get("X-User-Id"))
        _attach(req, ctx)
