"""Version negotiation: URL and media-type versions, the version list."""
import json

import pytest
import webob

from glance.api.middleware import version_negotiation


def echo_app(environ, start_response):
    body = json.dumps({"path": environ["PATH_INFO"],
                       "version": environ.get("api.version")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def call(path, **headers):
    app = version_negotiation.VersionNegotiationFilter(echo_app)
    req = webob.Request.blank(path, headers=headers)
    return req.get_response(app)


@pytest.mark.parametrize("prefix", ["/v2", "/v2.0", "/v2.9", "/v2.18"])
def test_url_versions_rewrite_to_v2(prefix):
    resp = call(prefix + "/images")
    assert resp.status_int == 200
    assert resp.json["path"] == "/v2/images"


@pytest.mark.parametrize("path", ["/v1/images", "/v3/images", "/v2.19/x",
                                  "/foo", "/images", "/v2.x/images"])
def test_unknown_versions_get_300(path):
    resp = call(path)
    assert resp.status_int == 300
    ids = [v["id"] for v in resp.json["versions"]]
    assert ids[0] == "v2.18" and ids[-1] == "v2.0" and len(ids) == 19


def test_versions_200_and_root_300():
    assert call("/versions").status_int == 200
    resp = call("/")
    assert resp.status_int == 300
    current = [v for v in resp.json["versions"] if v["status"] == "CURRENT"]
    assert [v["id"] for v in current] == ["v2.18"]
    assert resp.json["versions"][0]["links"] == [
        {"rel": "self", "href": "http://localhost/v2/"}]


def test_media_type_version():
    resp = call("/images", Accept="application/vnd.openstack.images-v2.1")
    assert resp.json["path"] == "/v2/images"
    resp = call("/images", Accept="application/vnd.openstack.images-v1")
    assert resp.status_int == 300


def test_the_media_type_with_the_json_suffix_names_its_version():
    # Glance answers the version list (a quirk we do not copy)
    resp = call("/images", Accept="application/vnd.openstack.images-v2+json")
    assert resp.status_int == 200
    assert resp.json == {"path": "/v2/images", "version": "2.0"}
    resp = call("/images",
                Accept="application/vnd.openstack.images-v2.3+json")
    assert resp.json == {"path": "/v2/images", "version": "2.3"}
    for accept in ("application/vnd.openstack.images-v2+xml",
                   "application/vnd.openstack.images-v2+json+json",
                   "application/vnd.openstack.images-v1+json"):
        assert call("/images", Accept=accept).status_int == 300
    assert call("/v2+json/images").status_int == 300   # not in a URL


@pytest.mark.parametrize("prefix", ["/v2", "/v2.1", "/v2.18"])
def test_a_url_version_beside_the_media_types_is_dropped(prefix):
    # Glance routes /v2/v2/images: 404 (a quirk we do not copy)
    resp = call(prefix + "/images",
                Accept="application/vnd.openstack.images-v2.2")
    assert resp.json == {"path": "/v2/images", "version": "2.2"}


def test_an_unknown_url_version_beside_the_media_type_stays_in_the_path():
    resp = call("/v3/images", Accept="application/vnd.openstack.images-v2")
    assert resp.json["path"] == "/v2/v3/images"


def test_version_documents_have_no_request_id():
    # as Glance: only the context middleware (further down) sets it
    for path in ("/", "/versions", "/bogus"):
        assert "x-openstack-request-id" not in call(path).headers


@pytest.mark.parametrize("path", ["/v1/cached_images", "/v1/queued_images",
                                  "/v1/cached_images/abc",
                                  "/v1/queued_images/abc/"])
def test_legacy_cache_paths_pass_through(path):
    resp = call(path)
    assert resp.status_int == 200 and resp.json["path"] == path


@pytest.mark.parametrize("path", ["/v1/images", "/v1/cached_images/a/b"])
def test_other_v1_paths_still_get_the_version_list(path):
    assert call(path).status_int == 300


ACCEPT_HEADERS = [
    None, "", "*/*", "application/json", "application/json;q=0.9, */*;q=0.1",
    "application/vnd.openstack.images-v2.1",
    "  application/vnd.openstack.images-v2.1  ",
    "application/vnd.openstack.images-v2.1;q=0.5",
    "application/vnd.openstack.images-v2.1 ; q=1",
    "text/html, application/vnd.openstack.images-v2.3",
    ",application/vnd.openstack.images-v2.0",
    "application/vnd.openstack.images-v2.1,,",
    "APPLICATION/VND.OPENSTACK.IMAGES-V2.1", "garbage;;;", "a/b;c=\"d,e\"",
    "application/vnd.openstack.images-", "application/vnd.openstack.images",
]


@pytest.mark.parametrize("header", ACCEPT_HEADERS)
def test_the_accept_header_is_read_as_webob_writes_it(header):
    headers = {} if header is None else {"Accept": header}
    req = webob.Request.blank("/images", headers=headers)
    written = str(req.accept) if req.accept else ""   # what Glance reads
    ours = version_negotiation.media_type_accept(req)
    if header is not None and version_negotiation.MEDIA_TYPE in header:
        assert ours == written
    else:
        assert ours == "" and \
            not written.startswith(version_negotiation.MEDIA_TYPE)


def test_an_accept_header_webob_calls_invalid_leaves_it_to_the_url():
    for accept in ("  application/vnd.openstack.images-v2.1",
                   "application/vnd.openstack.images-v2.1 "):
        assert call("/images", Accept=accept).status_int == 300
        assert call("/v2.1/images", Accept=accept).json["path"] == \
            "/v2/images"
    # a parameter is written back with the type, so it names no version
    resp = call("/v2/images",
                Accept="application/vnd.openstack.images-v2.1;q=0.5")
    assert resp.status_int == 300
