"""The WSGI toolkit: requests, middleware, routing, (de)serialization.

``Resource`` is the one place where exceptions become HTTP responses. The
server side (``BaseServer``, ``PosixServer``, sockets) lives in
``glance.common.server`` and ``glance.common.arbiter``; it is not imported
here, so that the WSGI application does not import eventlet.
"""
import datetime
import errno
import json
import os
import re

import orjson
import routes
import routes.middleware
import webob.dec
import webob.exc
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import exception
from glance.common import request_body
from glance.common import utils
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

REQUEST_ID_ENV = "openstack.request_id"
REQUEST_ID_HEADER = "x-openstack-request-id"


def request_id_for(environ):
    """The request id of this request, made once and kept in the environ."""
    rid = environ.get(REQUEST_ID_ENV)
    if not rid:
        rid = environ[REQUEST_ID_ENV] = new_request_id()
    return rid


def new_request_id():
    """``req-`` and a random (version 4) UUID, as oslo.context makes
    them, from the same 16 random bytes ``uuid.uuid4`` reads, without its
    ``UUID`` object (half the time; one is made per request)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40     # version 4
    raw[8] = raw[8] & 0x3F | 0x80     # the RFC 4122 variant
    h = raw.hex()
    return "req-%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20],
                                   h[20:])


class Request(webob.Request):
    """A webob request with content negotiation and Range helpers."""

    SUPPORTED_CONTENT_TYPES = ("application/json",
                               "application/octet-stream")

    def best_match_content_type(self):
        """The response content type the client prefers (JSON default)."""
        if not self.accept:
            return "application/json"
        offers = self.accept.acceptable_offers(self.SUPPORTED_CONTENT_TYPES)
        return offers[0][0] if offers else "application/json"

    def get_content_type(self, allowed_content_types):
        """The request's Content-Type, if it is one of those allowed."""
        if "Content-Type" not in self.headers:
            raise exception.InvalidContentType(content_type=None)
        content_type = self.content_type
        if content_type not in allowed_content_types:
            raise exception.InvalidContentType(content_type=content_type)
        return content_type

    def best_match_language(self):
        """The best Accept-Language among the available translations."""
        if not self.accept_language:
            return None
        import oslo_i18n
        langs = oslo_i18n.get_available_languages("glance")
        found = self.accept_language.lookup(langs, default="fake_LANG")
        return None if found == "fake_LANG" else found

    @property
    def body_file(self):
        # The input stream, unbuffered: never let webob buffer an image
        # body; dechunked whichever server hosts the app.
        if self.is_body_readable or request_body.is_chunked(self.environ):
            return request_body.body_stream(self.environ)
        return webob.Request.body_file.fget(self)

    @body_file.setter
    def body_file(self, value):
        webob.Request.body_file.fset(self, value)

    @property
    def params(self):
        """The query parameters (never the body: it may be image data)."""
        try:
            return self.GET
        except UnicodeDecodeError as e:
            raise webob.exc.HTTPBadRequest(
                explanation=_("Query string is not valid UTF-8")) from e


class Middleware:
    """Base WSGI middleware: ``process_request`` then the app, then
    ``process_response``.

    ``process_request`` may return a response to short-circuit the app.
    The request id is made here (``request_id_for``); the context
    middleware puts it on the responses to requests it built a context
    for, as Glance does (not on version documents nor on a 401).
    """

    def __init__(self, application):
        self.application = application

    @classmethod
    def factory(cls, global_conf, **local_conf):
        def filter(app):
            return cls(app)
        return filter

    def process_request(self, req):
        return None

    def process_response(self, response):
        return response

    def __call__(self, environ, start_response):
        # Plain WSGI rather than webob's wsgify: wsgify makes a Response
        # per layer per request, and a layer that leaves the response
        # alone passes the app's answer through untouched.
        req = Request(environ)
        response = self._answer(req)
        if response is None:
            return self.application(
                environ, self.wrap_start_response(req, start_response))
        return response(environ, start_response)

    def wrap_start_response(self, req, start_response):
        """The ``start_response`` the app answers through when this layer
        hands its answer through (a cheaper way than
        ``process_response`` to change only the head)."""
        return start_response

    def _answer(self, req):
        """The response to send, or None to pass the app's own through."""
        request_id_for(req.environ)
        try:
            try:
                response = (check_url_encoding(req)
                            or self.process_request(req))
            except Exception as e:
                response = database_unavailable(req, e)
                if response is None:
                    raise
            if response is None:
                if not self._filters_responses():
                    return None
                response = req.get_response(self.application)
            response.request = req
            return self.process_response(response)
        except webob.exc.HTTPException as e:
            return e

    def _filters_responses(self):
        return (getattr(self.process_response, "__func__", None)
                is not Middleware.process_response)


def check_url_encoding(req):
    """A 400 response when the URL path or query is not valid UTF-8."""
    try:
        req.path_info.encode("utf-8")
        req.environ.get("QUERY_STRING", "").encode("latin-1").decode(
            "utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return webob.exc.HTTPBadRequest(
            explanation=_("The URL is not valid UTF-8."))
    return None


class APIMapper(routes.Mapper):
    """A routes Mapper that copes with the empty URL."""

    def routematch(self, url=None, environ=None):
        if url == "":
            result = self._match("", environ)
            return result[0], result[1]
        return routes.Mapper.routematch(self, url, environ)

    def _create_regs(self, *args, **kwargs):
        super()._create_regs(*args, **kwargs)
        # routes first tries a URL on the union of every route, handing
        # re.match the compiled union, and re hashes a compiled pattern's
        # whole program to look it up in its cache, where it never is:
        # 6 us of every request here. Without the union (routes' own path
        # when it is too big to compile) each URL is tried on the routes
        # of its prefix only, which refuse what the union would.
        self._master_regexp = None

    def connect_methods(self, path, controller, actions, reject=True):
        """Route ``path`` by HTTP method, 405 with ``Allow`` for the rest
        (with ``reject`` false, they match nothing here: 404).

        ``actions`` maps methods to controller actions, e.g.
        ``{"GET": "show", "DELETE": "delete"}``.
        """
        for method, action in actions.items():
            self.connect(path, controller=controller, action=action,
                         conditions={"method": [method]})
        if not reject:
            return
        allowed = ", ".join(actions)
        self.connect(path, controller=RejectMethodController.resource(),
                     action="reject", allowed_methods=allowed)


class RejectMethodController:
    """Answers 405 Method Not Allowed with the ``Allow`` header."""

    _resource = None

    @classmethod
    def resource(cls):
        if cls._resource is None:
            cls._resource = Resource(cls())
        return cls._resource

    def reject(self, req, allowed_methods, *args, **kwargs):
        raise webob.exc.HTTPMethodNotAllowed(
            headers=[("Allow", allowed_methods)])


_PARSED_QUERY = "webob._parsed_query_vars"   # webob's cache of req.GET


class Router:
    """Dispatches a request to the controller its route names."""

    def __init__(self, mapper):
        mapper.redirect("", "/")
        self.map = mapper
        # No '_method' overrides: they would parse form bodies. Not a
        # singleton: nothing here reads routes' per-thread request
        # config, and keeping it costs green-thread-local lookups.
        self._router = routes.middleware.RoutesMiddleware(
            self._dispatch, self.map, use_method_override=False,
            singleton=False)

    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls(APIMapper())

    def __call__(self, environ, start_response):
        app = check_url_encoding(Request(environ)) or self._router
        return app(environ, start_response)

    @staticmethod
    def _dispatch(environ, start_response):
        # routes' URLGenerator holds the environ and is kept in it twice
        # (``routes.url``, the routing args' positional part), and webob
        # keeps the parsed query there, which holds it too: such cycles
        # leave each request's objects to the garbage collector, whose
        # collections pause the process, under any WSGI server. Nothing
        # here makes URLs with routes, and a query read again after the
        # action is parsed again.
        environ.pop("routes.url", None)
        match = environ["wsgiorg.routing_args"][1]
        if match:
            _decode_route_args(match)
        environ["wsgiorg.routing_args"] = ((), match)
        app = match["controller"] if match else webob.exc.HTTPNotFound()
        try:
            return app(environ, start_response)
        finally:
            environ.pop(_PARSED_QUERY, None)


def _decode_route_args(match):
    """The route's arguments as the text the URL encodes. routes matches
    the WSGI path, whose characters are the URL's bytes (latin-1), so a
    percent-encoded UTF-8 tag or name came out as mojibake ('caf%C3%A9'
    as 'cafÃ©', which Glance stores: a quirk we do not copy). The path
    is valid UTF-8 (``check_url_encoding``), and so is each argument,
    cut at ASCII characters."""
    for key, value in match.items():
        if isinstance(value, str) and not value.isascii():
            try:
                match[key] = value.encode("latin-1").decode("utf-8")
            except UnicodeError:
                pass    # not from the path: left as routes gave it


class JSONRequestDeserializer:
    """Turns a JSON request body into the action's ``body`` argument."""

    valid_transfer_encoding = frozenset(["chunked", "compress", "deflate",
                                         "gzip", "identity"])
    httpverb_may_have_body = frozenset(["POST", "PUT", "PATCH"])

    def is_valid_encoding(self, request):
        value = request.headers.get("transfer-encoding", "").lower()
        return value in self.valid_transfer_encoding

    def is_valid_method(self, request):
        return request.method.upper() in self.httpverb_may_have_body

    def has_body(self, request):
        """Whether the request carries a body to decode."""
        # (webob's is_body_readable setter would claim the server ended
        # the input, which request_body must be able to tell for itself)
        if self.is_valid_encoding(request) and self.is_valid_method(request):
            return True
        if request.content_length is not None and request.content_length > 0:
            return True
        return False

    @staticmethod
    def _sanitizer(obj):
        return obj

    def from_json(self, datastring):
        try:
            if isinstance(datastring, bytes):
                datastring = datastring.decode("utf-8")
            data = json.loads(datastring, object_hook=self._sanitizer)
            if _SURROGATE_ESCAPE.search(datastring):
                _refuse_lone_surrogates(data)
            return data
        except RecursionError as e:
            raise webob.exc.HTTPBadRequest(
                explanation=_("JSON body is nested too deeply.")) from e
        except (ValueError, UnicodeDecodeError) as e:
            msg = _("Malformed JSON in request body: %s") % e
            raise webob.exc.HTTPBadRequest(explanation=msg) from e

    def default(self, request):
        # Bodies of GET, DELETE, HEAD... carry no meaning: ignore them.
        if self.is_valid_method(request) and self.has_body(request):
            return {"body": self.from_json(read_body(request))}
        return {}


# JSON's \uD800-\uDFFF escapes: a pair of them is one character, a lone
# one is no character at all (no database or UTF-8 encoder takes it)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(data):
    """ValueError if a string of ``data`` holds a lone surrogate."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a \\u escape of a lone surrogate (D800-DFFF) "
                         "is not a character") from None


def read_body(request, limit=None):
    """The request body, refusing more than ``max_request_body_size``."""
    limit = limit or CONF.max_request_body_size
    declared = request.content_length
    if declared is not None and declared > limit:
        raise exception.RequestEntityTooLarge(limit=limit)
    try:
        data = request.body_file.read(limit + 1) if declared is None \
            else request.body_file.read(declared)
    except (ValueError, OSError) as e:  # bad or cut-off chunked body
        raise webob.exc.HTTPBadRequest(
            explanation=_("Malformed or incomplete request body: %s")
            % e) from e
    if len(data) > limit:
        raise exception.RequestEntityTooLarge(limit=limit)
    return data


def empty_response(status=204):
    """An answer with no body, headed as Glance's are (webob's default
    ``text/html; charset=UTF-8`` and ``Content-Length: 0``)."""
    response = webob.Response()
    response.status_int = status
    return response


# datetimes and dataclasses go to the sanitizer, as they do with json
_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME
                   | orjson.OPT_PASSTHROUGH_DATACLASS)


class JSONResponseSerializer:
    """Writes an action's result as a JSON response body."""

    def _sanitizer(self, obj):
        if isinstance(obj, datetime.datetime):
            return obj.replace(microsecond=0).isoformat()
        if isinstance(obj, (set, frozenset)):
            return sorted(obj)
        if hasattr(obj, "to_dict"):
            return obj.to_dict()
        return str(obj)

    def to_json(self, data):
        """The JSON text of ``data``, UTF-8 encoded: orjson's, a tenth of
        json's time (a page of 25 images: 8 us against 96 us), or json's
        for what orjson refuses (an integer past 64 bits, a key that is
        not a string, a lone surrogate). orjson writes no spaces after
        separators and writes non-ASCII characters unescaped: the same
        JSON value as json's, in other bytes."""
        try:
            return orjson.dumps(data, default=self._sanitizer,
                                option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return json.dumps(data, default=self._sanitizer).encode("utf-8")

    def default(self, response, result):
        response.content_type = "application/json"
        response.body = self.to_json(result)


def exception_response(exc):
    """The webob HTTP error for one of our exceptions."""
    cls = webob.exc.status_map.get(exc.code, webob.exc.HTTPInternalServerError)
    headers = list((exc.headers or {}).items())
    if exc.shown == "after":     # after webob's sentence, as the detail
        return cls(detail=str(exc), headers=headers)
    if exc.shown == "status":    # webob's sentence only
        return cls(headers=headers)
    return cls(explanation=str(exc), headers=headers)


def translate_exception(req, e):
    """Translate a message to the request's best-match language."""
    import oslo_i18n
    locale = req.best_match_language()
    if isinstance(e, webob.exc.HTTPError):
        e.explanation = oslo_i18n.translate(e.explanation, locale)
        e.detail = oslo_i18n.translate(e.detail, locale)
        if getattr(e, "body_template", None):
            e.body_template = oslo_i18n.translate(e.body_template, locale)
    return e


class Resource:
    """deserializer -> controller action -> serializer, and the one place
    where exceptions become HTTP responses.

    A 5xx answer carries only the request id; the traceback goes to the log.
    """

    def __init__(self, controller, deserializer=None, serializer=None):
        self.controller = controller
        self.serializer = serializer or JSONResponseSerializer()
        self.deserializer = deserializer or JSONRequestDeserializer()

    @webob.dec.wsgify(RequestClass=Request)
    def __call__(self, request):
        try:
            return self._handle(request)
        except webob.exc.HTTPException as e:
            return translate_exception(request, e)
        except exception.GlanceException as e:
            if e.code >= 500 and not getattr(e, "public", False):
                return self._internal_error(request, e)
            return translate_exception(request, exception_response(e))
        except Exception as e:  # noqa: BLE001 - the last line of defence
            return self._internal_error(request, e)

    def _handle(self, request):
        action_args = self.get_action_args(request.environ)
        action = action_args.pop("action", None)
        body_args = self.dispatch(self.deserializer, action, request)
        action_args.update(body_args)
        result = self.dispatch(self.controller, action, request,
                               **action_args)
        if isinstance(result, webob.Response):
            return result
        response = webob.Response(request=request)
        self.dispatch(self.serializer, action, response, result)
        return response

    def _internal_error(self, request, e):
        unavailable = database_unavailable(request, e)
        if unavailable is not None:
            return unavailable
        rid = request_id_for(request.environ)
        if is_bad_request_body(e):
            LOG.info("Bad request body in %s %s (%s): %s", request.method,
                     request.path, rid, e)
            return webob.exc.HTTPBadRequest(
                explanation=_("Malformed or incomplete request body: %s")
                % e)
        if _is_disconnect(e):
            LOG.info("Client went away during %s %s (%s)", request.method,
                     request.path, rid)
        else:
            LOG.exception("Unhandled error in %s %s (%s)", request.method,
                          request.path, rid)
        code = getattr(e, "code", 500)
        cls = webob.exc.status_map.get(code,
                                       webob.exc.HTTPInternalServerError)
        return cls(explanation=_("The server failed to handle the request "
                                 "(request id %s).") % rid)

    def dispatch(self, obj, action, *args, **kwargs):
        """Call ``obj.action``, or ``obj.default`` when there is none."""
        try:
            method = getattr(obj, action)
        except (AttributeError, TypeError):
            method = obj.default
        return method(*args, **kwargs)

    def get_action_args(self, request_environment):
        """The route's arguments, without ``controller`` and ``format``."""
        try:
            args = request_environment["wsgiorg.routing_args"][1].copy()
        except (KeyError, IndexError):
            return {}
        args.pop("controller", None)
        args.pop("format", None)
        return args


def is_bad_request_body(e):
    """Whether ``e`` comes from reading a malformed or cut-off body.

    eventlet raises ChunkReadError (a ValueError) for bad chunk framing
    and a plain OSError for a chunked body that ends early; whatever part
    of the code was reading, that is the client's fault: 400, not 500.
    """
    if type(e).__name__ == "ChunkReadError":
        return True
    return isinstance(e, OSError) and e.errno is None and \
        "chunked" in str(e)


def database_unavailable(request, e):
    """A 503 response when ``e`` says the database cannot be reached
    (down, restarting, connections cut), else None.

    The pool tests each connection before use, so the service recovers
    by itself once the database answers again.
    """
    if not utils.database_unreachable(e):
        return None
    LOG.warning("Database unavailable during %s %s (%s): %s",
                request.method, request.path,
                request_id_for(request.environ),
                " ".join(str(getattr(e, "orig", e)).split())[:200])
    return webob.exc.HTTPServiceUnavailable(
        explanation=_("The image service cannot reach its database; try "
                      "again later."),
        headers={"Retry-After": "5"})


def _is_disconnect(e):
    return isinstance(e, OSError) and e.errno in (errno.EPIPE,
                                                  errno.ECONNRESET)


body_opts = [
    cfg.IntOpt("max_request_body_size", default=114688, min=1,
               help=_("Largest JSON request body accepted, in bytes; image "
                      "data is not limited by it.")),
]
CONF.register_opts(body_opts)


def list_opts():
    """The options of this module, for glance.opts."""
    return [(None, body_opts)]

