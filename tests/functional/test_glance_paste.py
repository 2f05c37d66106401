# ruff: noqa: E501  (the paste file is quoted verbatim)
"""A paste file written the way Glance's own glance-api-paste.ini is
(same section names and factory paths) loads and serves unchanged."""
import gzip

import requests

from tests.functional.apiclient import Api, new_project

GLANCE_STYLE_PASTE = """\
[pipeline:glance-api]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation unauthenticated-context rootapp

[pipeline:glance-api-keystone]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation authtoken context  rootapp

[pipeline:glance-api-trusted]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation gzip context rootapp

[pipeline:glance-api-trusted+cachemanagement]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation context cache cachemanage rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[filter:healthcheck]
paste.filter_factory = glance.api.middleware.healthcheck:HealthcheckFilter.factory
backends = disable_by_file
disable_by_file_path = /etc/glance/healthcheck_disable

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:cache]
paste.filter_factory = glance.api.middleware.cache:CacheFilter.factory

[filter:cachemanage]
paste.filter_factory = glance.api.middleware.cache_manage:CacheManageFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:unauthenticated-context]
paste.filter_factory = glance.api.middleware.context:UnauthenticatedContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[filter:gzip]
paste.filter_factory = glance.api.middleware.gzip:GzipMiddleware.factory

[filter:cors]
paste.filter_factory =  oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"""


def test_default_pipeline_of_a_glance_paste_file(glance_server):
    srv = glance_server(workers=1, paste_ini=GLANCE_STYLE_PASTE)
    resp = requests.get(srv.url + "/v2/images", timeout=10)
    assert resp.status_code == 200 and resp.json()["images"] == []
    made = requests.post(srv.url + "/v2/images", json={"name": "noauth"},
                         timeout=10)
    assert made.status_code == 201
    assert requests.get(srv.url + "/versions", timeout=10).status_code == 200
    assert requests.get(srv.url + "/healthcheck", timeout=10).text == "OK"


def test_flavored_pipeline_with_gzip(glance_server):
    srv = glance_server(workers=1, paste_ini=GLANCE_STYLE_PASTE,
                        flavor="trusted")
    api = Api(srv.url, new_project("gz"))
    api.create(name="zipped")
    resp = api.get("/v2/images", headers={"Accept-Encoding": "gzip"},
                   stream=True)
    assert resp.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(resp.raw.read())
    assert b"zipped" in body
    assert api.get("/v2/images", headers={"X-Identity-Status": "Invalid"}) \
        .status_code == 401
