"""JSON-patch bodies in both of Glance's media types."""
import pytest

from glance.api.v2 import json_patch
from glance.common import exception

V21 = json_patch.MEDIA_TYPE_21
V20 = json_patch.MEDIA_TYPE_20


def test_parse_v21():
    changes = json_patch.parse(
        [{"op": "replace", "path": "/name", "value": "x"},
         {"op": "remove", "path": "/a~1b~0c"}], V21)
    assert changes[0] == {"op": "replace", "path": ["name"], "value": "x",
                          "strict_add": False}
    assert changes[1]["path"] == ["a/b~c"]
    assert "value" not in changes[1]


def test_parse_v20_draft_form():
    changes = json_patch.parse([{"add": "/foo", "value": "1"}], V20)
    assert changes == [{"op": "add", "path": ["foo"], "value": "1",
                        "strict_add": True}]


@pytest.mark.parametrize("body", [
    {"op": "add"}, "x", [{"op": "move", "path": "/a"}],
    [{"op": "add", "path": "/a"}], [{"op": "add", "value": 1}],
    [{"op": "add", "path": "a", "value": 1}],
    [{"op": "add", "path": "/a//b", "value": 1}],
    [{"op": "add", "path": "/a~2", "value": 1}], ["not-an-object"],
    [{"op": "add", "path": 5, "value": 1}],
])
def test_parse_bad_v21(body):
    with pytest.raises(exception.Invalid):
        json_patch.parse(body, V21)


def test_parse_bad_v20_two_ops():
    with pytest.raises(exception.Invalid):
        json_patch.parse([{"add": "/a", "remove": "/b"}], V20)
