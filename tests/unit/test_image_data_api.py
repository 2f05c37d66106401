"""The image data API layer: Range parsing, body streams, responses."""
import io

import pytest
import webob
import webob.exc

from glance.api.v2 import image_data
from glance.common import exception
from glance.common import file_body
from glance.common import wsgi
from glance.services import image_data as service


@pytest.mark.parametrize("header,expected", [
    (None, None),
    ("bytes=0-9", (0, 9)),
    ("bytes=10-", (10, None)),
    ("bytes=-5", (None, 5)),
    ("bytes=-0", (None, 0)),
    (" bytes = 3 - 4 ", (3, 4)),
    ("BYTES=1-1", (1, 1)),
])
def test_parse_range(header, expected):
    assert image_data.parse_range(header) == expected


@pytest.mark.parametrize("header", ["bytes=5-2", "bytes=abc", "items=0-1",
                                    "bytes=-", "bytes=1-2-3", ""])
def test_parse_range_invalid_416(header):
    with pytest.raises(exception.RequestedRangeNotSatisfiable) as err:
        image_data.parse_range(header)
    assert "Invalid Range header" in str(err.value)


def test_parse_multiple_ranges_400():
    with pytest.raises(webob.exc.HTTPBadRequest) as err:
        image_data.parse_range("bytes=0-1,5-6")
    assert "multiple ranges are not supported" in str(err.value)


def request(method="PUT", body=None, headers=None):
    req = wsgi.Request.blank("/v2/images/x/file", method=method,
                             headers=headers or {})
    if body is not None:
        req.body_file = io.BytesIO(body)
        req.content_length = len(body)
    return req


def test_upload_content_type_415():
    deserializer = image_data.RequestDeserializer()
    for headers in ({}, {"Content-Type": "application/json"}):
        with pytest.raises(exception.InvalidContentType) as err:
            deserializer.upload(request(body=b"x", headers=headers))
        assert err.value.code == 415
        page = request("GET").get_response(
            wsgi.exception_response(err.value)).text
        # after webob's own sentence, as Glance shows it
        assert "is not supported by this server" in page
        assert "Invalid content type" in page


def test_upload_body_is_the_unread_input():
    req = request(body=b"data",
                  headers={"Content-Type": "application/octet-stream"})
    args = image_data.RequestDeserializer().upload(req)
    assert args["size"] == 4
    assert args["data"] is req.environ["wsgi.input"]


def test_chunked_upload_has_no_size():
    req = request(headers={"Content-Type": "application/octet-stream",
                           "Transfer-Encoding": "chunked"})
    req.environ["wsgi.input"] = io.BytesIO(b"abc")
    req.environ["wsgi.input_terminated"] = True   # a server that dechunks
    args = image_data.RequestDeserializer().stage(req)
    assert args["size"] is None
    assert args["data"].read() == b"abc"


def test_upload_without_body_is_empty():
    req = request(headers={"Content-Type": "application/octet-stream"})
    assert image_data.RequestDeserializer().upload(req)["data"].read() == \
        b""


def test_download_with_body_400():
    with pytest.raises(webob.exc.HTTPBadRequest):
        image_data.RequestDeserializer().download(
            request("GET", body=b"x"))
    args = image_data.RequestDeserializer().download(
        request("GET", headers={"Range": "bytes=1-2"}))
    assert args == {"byte_range": (1, 2)}


def respond(result):
    response = webob.Response()
    image_data.ResponseSerializer().download(response, result)
    return response


def test_download_200_headers():
    resp = respond(service.ImageData(iter([b"ab", b"cd"]), 4,
                                     checksum="md5sum"))
    assert resp.status_int == 200
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-Length"] == "4"
    assert resp.headers["Content-MD5"] == "md5sum"
    assert b"".join(resp.app_iter) == b"abcd"


def test_download_206_headers():
    resp = respond(service.ImageData(iter([b"cd"]), 2,
                                     content_range=(2, 3, 10)))
    assert resp.status_int == 206
    assert resp.headers["Content-Range"] == "bytes 2-3/10"
    assert resp.headers["Content-Length"] == "2"
    assert "Content-MD5" not in resp.headers


def test_download_204_without_data():
    resp = respond(service.ImageData())
    assert resp.status_int == 204
    assert "Content-MD5" not in resp.headers and resp.body == b""


def test_upload_204():
    response = webob.Response()
    image_data.ResponseSerializer().upload(response, None)
    assert response.status_int == 204 and response.body == b""


# --- the download body ---

class FakeChunks:
    def __init__(self, parts):
        self.parts = list(parts)
        self.sent_by_sendfile = False

    def __iter__(self):
        return self

    def __next__(self):
        if not self.parts:
            raise StopIteration
        return self.parts.pop(0)

    def sendfile(self, send):
        self.sent_by_sendfile = True

    def close(self):
        pass


def test_body_without_the_servers_file_wrapper_is_the_chunks():
    chunks = FakeChunks([b"a"])
    req = webob.Request.blank("/")
    assert image_data.body(chunks, req) is chunks
    # another server's file_wrapper may only send whole files
    req.environ["wsgi.file_wrapper"] = lambda f, size=None: f.read()
    assert image_data.body(chunks, req) is chunks


def test_body_with_the_servers_file_wrapper_is_wrapped():
    chunks = FakeChunks([b"a" * 10, b"b"])
    req = webob.Request.blank(
        "/", environ={"wsgi.file_wrapper": file_body.FileWrapper})
    body = image_data.body(chunks, req)
    assert isinstance(body, file_body.FileWrapper) and body.body is chunks
    assert b"".join(body) == b"a" * 10 + b"b"
    assert not chunks.sent_by_sendfile


def test_body_that_cannot_sendfile_is_never_wrapped():
    chunks = iter([b"a"])
    req = webob.Request.blank(
        "/", environ={"wsgi.file_wrapper": file_body.FileWrapper})
    assert image_data.body(chunks, req) is chunks
