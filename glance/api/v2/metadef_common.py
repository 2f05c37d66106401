"""Shared pieces of the /v2/metadefs resources: body and query parsing,
and how namespaces, objects, properties, tags and resource types look in
the API (Glance's documents: unset attributes are left out, timestamps
are ISO 8601 with a Z)."""
import urllib.parse

import webob.exc
from oslo_config import cfg

from glance.api.v2 import image_views
from glance.common import exception
from glance.common import wsgi
from glance.i18n import _

CONF = cfg.CONF

NAMESPACES_URL = "/v2/metadefs/namespaces"
SORT_DIRS = ("asc", "desc")


# --- requests ---------------------------------------------------------

class Deserializer(wsgi.JSONRequestDeserializer):
    """JSON bodies checked against a schema; read-only keys refused (403)
    as Glance does."""

    read_only = ("self", "schema", "created_at", "updated_at")

    def body(self, request, schema):
        """The request's JSON object, validated by ``schema``."""
        if not self.has_body(request):
            raise webob.exc.HTTPBadRequest(
                explanation=_("Body expected in request."))
        body = self.from_json(wsgi.read_body(request))
        if not isinstance(body, (dict, list)):
            # Glance's words for a body that is neither
            raise exception.Invalid(
                _("Unexpected body type. Expected list/dict."))
        if not isinstance(body, dict):
            raise exception.Invalid(_("The body must be a JSON object."))
        for key in self.read_only:
            if key in body:
                raise exception.Forbidden(
                    _("Attribute '%s' is read-only.") % key)
        schema.validate(body)
        return body

    def default(self, request):
        # GET and DELETE take no body; one sent is ignored.
        return {}


def parse_sort_dir(params):
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in SORT_DIRS:
        raise exception.InvalidSortDir(
            _("Invalid sort direction: %s") % sort_dir)
    return sort_dir


def parse_sort_key(params, allowed):
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in allowed:
        raise exception.InvalidSortKey(
            _("Invalid sort key: %(key)s. It must be one of the following: "
              "%(keys)s.") % {"key": sort_key, "keys": ", ".join(allowed)})
    return sort_key


def parse_limit(params, default=None):
    """The page size (at most ``api_limit_max``), or ``default``."""
    value = params.get("limit")
    if value in (None, ""):
        return default
    try:
        limit = int(value)
    except ValueError:
        raise exception.Invalid(_("limit param must be an integer"))
    if limit < 0:
        raise exception.Invalid(_("limit param must be positive"))
    return min(limit, CONF.api_limit_max)


def page_params(params, sort_keys, default_limit=None):
    """marker, limit, sort_key and sort_dir of a list request."""
    return {"marker": params.get("marker") or None,
            "limit": parse_limit(params, default_limit),
            "sort_key": parse_sort_key(params, sort_keys),
            "sort_dir": parse_sort_dir(params)}


def url_with(path, params):
    return "%s?%s" % (path, urllib.parse.urlencode(params)) if params \
        else path


# --- documents -------------------------------------------------------------

def _set(doc, key, value):
    if value is not None:
        doc[key] = value


def _timestamps(doc, record):
    if record.get("created_at") is not None:
        doc["created_at"] = image_views.format_time(record["created_at"])
        doc["updated_at"] = image_views.format_time(
            record.get("updated_at") or record["created_at"])


def namespace_url(name):
    return "%s/%s" % (NAMESPACES_URL, name)


def header_safe(url):
    """``url`` as a header value: as it is when it is Latin-1 (what Glance
    sends), else percent-encoded UTF-8 (a header cannot carry it raw)."""
    try:
        url.encode("latin-1")
    except UnicodeEncodeError:
        return urllib.parse.quote(url, safe="/:")
    return url


def render_association(assoc):
    doc = {"name": assoc["name"]}
    _set(doc, "prefix", assoc.get("prefix"))
    _set(doc, "properties_target", assoc.get("properties_target"))
    _timestamps(doc, assoc)
    return doc


def render_resource_type(resource_type):
    doc = {"name": resource_type["name"]}
    _timestamps(doc, resource_type)
    return doc


# An object's key listing what an answer leaves out (see ``as_given``).
OMITTED = "omitted_keys"


def as_given(obj, given):
    """Glance answers a create or update with an object as it was given:
    its ``required`` and ``properties`` appear only if ``given`` (the
    request's object) had them."""
    return dict(obj, **{OMITTED: [key for key in ("required", "properties")
                                  if key not in given]})


def render_object(ns_name, obj):
    """An object; one just given in a whole-namespace create has no
    timestamps or links yet."""
    doc = {"name": obj["name"]}
    _set(doc, "description", obj.get("description"))
    doc["required"] = list(obj.get("required") or [])
    doc["properties"] = dict(obj.get("properties") or {})
    for key in obj.get(OMITTED, ()):
        del doc[key]
    if obj.get("created_at") is not None:
        _timestamps(doc, obj)
        doc["self"] = "%s/objects/%s" % (namespace_url(ns_name),
                                         obj["name"])
        doc["schema"] = "/v2/schemas/metadefs/object"
    return doc


def render_property(prop):
    """A property as shown by itself: its definition and its name."""
    return dict(prop["schema"], name=prop["name"])


def render_tag(tag, timestamps=True):
    doc = {"name": tag["name"]}
    if timestamps:
        _timestamps(doc, tag)
    return doc


def render_namespace(namespace):
    """A namespace; its contents are shown when present and not empty."""
    name = namespace["namespace"]
    doc = {"namespace": name}
    for key in ("display_name", "description", "visibility", "protected",
                "owner"):
        _set(doc, key, namespace.get(key))
    _timestamps(doc, namespace)
    doc["self"] = namespace_url(name)
    doc["schema"] = "/v2/schemas/metadefs/namespace"
    if namespace.get("associations"):
        doc["resource_type_associations"] = [
            render_association(a) for a in namespace["associations"]]
    if namespace.get("properties"):
        doc["properties"] = dict(namespace["properties"])
    if namespace.get("objects"):
        doc["objects"] = [render_object(name, o)
                          for o in namespace["objects"]]
    if namespace.get("tags"):
        doc["tags"] = [render_tag(t, timestamps=False)
                       for t in namespace["tags"]]
    return doc


class Serializer(wsgi.JSONResponseSerializer):
    """JSON documents; deletes answer 204 with no body."""

    def json(self, response, doc, status=200):
        response.status_int = status
        self.default(response, doc)

    def no_content(self, response, result=None):
        response.status_int = 204
