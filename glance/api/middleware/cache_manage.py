"""Cache management API middleware (the ``cachemanagement`` paste flavors).

Answers the image cache API itself, before the v2 router:

================================  ======  ===============================
``/v2/cache``                     GET     cached and queued images
``/v2/cache``                     DELETE  clear (``x-image-cache-clear-
                                          target``: cache, queue, both)
``/v2/cache/{image_id}``          PUT     queue for the prefetcher (202)
``/v2/cache/{image_id}``          DELETE  drop from cache and queue (204)
``/v2/cache/prune``               POST    run the pruner now
``/v2/cache/clean``               POST    run the cleaner now
``/v2/cache/nodes/{image_id}``    GET     nodes holding the image
================================  ======  ===============================

and the legacy routes ``glance-cache-manage`` (``CacheClient``) speaks,
under ``/v1`` (and ``/v2``): ``cached_images[/{id}]``,
``queued_images[/{id}]``. Other methods on these paths answer 405 with
``Allow``; every other request goes on down the pipeline.
"""
import webob

from glance.common import wsgi
from glance.services import cache as service

CLEAR_HEADER = "x-image-cache-clear-target"


class NoBodyDeserializer(wsgi.JSONRequestDeserializer):
    """The cache API reads no request body."""

    def default(self, request):
        return {}


class CacheController:
    """One service call per action."""

    # --- /v2/cache ---

    def get_cache_state(self, req):
        return service.list_cache(req.context)

    def clear_cache(self, req):
        target = req.headers.get(CLEAR_HEADER, "").strip().lower() or "both"
        service.clear(req.context, target)
        return wsgi.empty_response()

    def queue_image_from_api(self, req, image_id):
        service.queue_image(req.context, image_id)
        return webob.Response(status=202, content_type=None)

    def delete_cache_entry(self, req, image_id):
        service.delete_cached_image(req.context, image_id)
        return wsgi.empty_response()

    def prune(self, req):
        return service.prune(req.context)

    def clean(self, req):
        # Glance answers 200 with no body (the counts are logged)
        service.clean(req.context)
        return webob.Response(status=200)

    def cache_nodes(self, req, image_id):
        return service.cache_nodes(req.context, image_id)

    # --- legacy: cached_images, queued_images ---
    # Actions that return nothing answer 200 with a JSON null, as Glance.

    def get_cached_images(self, req):
        return {"cached_images":
                service.legacy_list(req.context)["cached_images"]}

    def delete_cached_image(self, req, image_id):
        service.legacy_delete(req.context, image_id, queued=False)

    def delete_cached_images(self, req):
        return {"num_deleted": service.legacy_clear(req.context, "cache")}

    def get_queued_images(self, req):
        return {"queued_images":
                service.legacy_list(req.context)["queued_images"]}

    def queue_image(self, req, image_id):
        service.legacy_queue(req.context, image_id)

    def delete_queued_image(self, req, image_id):
        service.legacy_delete(req.context, image_id, cached=False)

    def delete_queued_images(self, req):
        return {"num_deleted": service.legacy_clear(req.context, "queue")}


def route_table():
    """[(path, {method: action}, reject)]; the fixed paths before the
    variable. Other methods on the legacy paths go on down the pipeline
    (404), as in Glance; the others answer 405."""
    table = [
        ("/v2/cache", {"GET": "get_cache_state", "DELETE": "clear_cache"}),
        ("/v2/cache/prune", {"POST": "prune"}),
        ("/v2/cache/clean", {"POST": "clean"}),
        ("/v2/cache/nodes/{image_id}", {"GET": "cache_nodes"}),
        ("/v2/cache/{image_id}", {"DELETE": "delete_cache_entry",
                                  "PUT": "queue_image_from_api"}),
    ]
    table = [(path, actions, True) for path, actions in table]
    for root in ("/v1", "/v2"):
        table += [
            (root + "/cached_images", {"GET": "get_cached_images",
                                       "DELETE": "delete_cached_images"},
             False),
            (root + "/cached_images/{image_id}",
             {"DELETE": "delete_cached_image"}, False),
            (root + "/queued_images", {"GET": "get_queued_images",
                                       "DELETE": "delete_queued_images"},
             False),
            (root + "/queued_images/{image_id}",
             {"PUT": "queue_image", "DELETE": "delete_queued_image"}, False),
        ]
    return table


class CacheManageFilter(wsgi.Middleware):
    """Routes the cache API to :class:`CacheController`."""

    def __init__(self, application):
        super().__init__(application)
        self.resource = wsgi.Resource(CacheController(),
                                     NoBodyDeserializer())
        self.mapper = wsgi.APIMapper()
        for path, actions, reject in route_table():
            self.mapper.connect_methods(path, self.resource, actions,
                                        reject)

    def process_request(self, req):
        if not req.path_info.startswith(("/v2/cache", "/v1/cached_images",
                                         "/v1/queued_images",
                                         "/v2/cached_images",
                                         "/v2/queued_images")):
            return None
        # routes answers None (not a pair) when nothing matches
        match = (self.mapper.routematch(environ=req.environ) or (None,))[0]
        if not match:
            return None
        req.environ["wsgiorg.routing_args"] = ((), match)
        return req.get_response(match["controller"])
