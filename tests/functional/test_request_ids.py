"""Client-supplied request ids, as Glance handles them: an authenticated
caller's X-Openstack-Request-ID becomes the request's id (answered with a
``req-`` prefix), a too long one is refused with 431, and unauthenticated
deployments make their own."""
import re
import uuid

from tests.functional.apiclient import Api
from tests.functional.apiclient import MEMBER
from tests.functional.apiclient import new_project

GENERATED = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                       r"[0-9a-f]{4}-[0-9a-f]{12}$")
HEADER = "x-openstack-request-id"


def _get(srv, request_id, path="/v2/images"):
    api = Api(srv.url, new_project("rid"), MEMBER)
    headers = {} if request_id is None else {HEADER: request_id}
    return api.get(path, headers=headers)


def test_client_id_with_prefix_is_kept(trusted_server):
    rid = "req-%s" % uuid.uuid4()
    resp = _get(trusted_server, rid)
    assert resp.status_code == 200
    assert resp.headers[HEADER] == rid


def test_client_id_without_prefix_is_answered_with_it(trusted_server):
    resp = _get(trusted_server, "my-trace-42")
    assert resp.headers[HEADER] == "req-my-trace-42"
    error = _get(trusted_server, "my-trace-43",
                 "/v2/images/%s" % uuid.uuid4())
    assert error.status_code == 404
    assert error.headers[HEADER] == "req-my-trace-43"


def test_too_long_client_id_is_refused(trusted_server):
    resp = _get(trusted_server, "x" * 65)
    assert resp.status_code == 431
    assert "too long, max size 64" in resp.text
    assert _get(trusted_server, "x" * 64).status_code == 200


def test_without_client_id_one_is_made(trusted_server):
    assert GENERATED.match(_get(trusted_server, None).headers[HEADER])


def test_unauthenticated_deployment_ignores_client_id(api_server):
    resp = _get(api_server, "req-mine")
    assert resp.status_code == 200
    assert GENERATED.match(resp.headers[HEADER])
