"""glance.services.image_locations: the checks made before a location is
added (validation_data, URL schemes); the rest is functional."""
import hashlib

import pytest

from glance.common import exception
from glance.services import image_locations as service

SHA512 = hashlib.sha512(b"x").hexdigest()
MD5 = hashlib.md5(b"x").hexdigest()


def test_validation_data_accepted():
    assert service.check_validation_data({}) == {}
    data = {"os_hash_algo": "sha512", "os_hash_value": SHA512,
            "checksum": MD5}
    assert service.check_validation_data(data) == data
    assert service.check_validation_data({"checksum": MD5}) == {
        "checksum": MD5}
    sha256 = {"os_hash_algo": "sha256",
              "os_hash_value": hashlib.sha256(b"x").hexdigest()}
    assert service.check_validation_data(sha256) == sha256


@pytest.mark.parametrize("data", [
    {"os_hash_algo": "sha512"},
    {"os_hash_value": SHA512},
    {"os_hash_algo": "sha256", "os_hash_value": SHA512},
    {"os_hash_algo": "sha384",
     "os_hash_value": hashlib.sha384(b"x").hexdigest()},
    {"os_hash_algo": "sha512", "os_hash_value": SHA512[:-1]},
    {"os_hash_algo": "sha512", "os_hash_value": "z" * 128},
    {"os_hash_algo": "sha512", "os_hash_value": 7},
    {"checksum": "abc"},
    {"checksum": MD5, "size": 1},
])
def test_validation_data_refused(data):
    with pytest.raises(exception.BadRequest):
        service.check_validation_data(data)


@pytest.mark.parametrize("url", [
    "ftp://example.com/x", "file:///etc/passwd", "swift://a/b", "http://",
    "s3://key:secret@host/bucket/x", "example.com/x"])
def test_only_http_urls(url):
    with pytest.raises(exception.BadRequest):
        service._check_scheme(url)


def test_http_urls():
    service._check_scheme("http://example.com/image.raw")
    service._check_scheme("HTTPS://example.com/image.raw")
