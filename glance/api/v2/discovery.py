"""``/v2/info/*``: import methods, stores and quota usage."""
from glance.common import wsgi
from glance.services import discovery


class InfoController:
    def get_image_import(self, req):
        return discovery.import_info()

    def get_stores(self, req):
        return discovery.stores_info(req.context)

    def get_stores_detail(self, req):
        return discovery.stores_info(req.context, detail=True)

    def get_usage(self, req):
        return discovery.usage(req.context)


def create_resource():
    return wsgi.Resource(InfoController())
