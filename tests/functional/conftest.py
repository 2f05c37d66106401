"""Fixtures starting the real glance-api (see tests/functional/server.py).

* ``glance_server(**options)``: a factory; each call starts one more
  server with :class:`~tests.functional.server.GlanceServer` ``options``
  (``conf``, ``workers``, ``flavor``, ``paste_ini``, ``tls``...) and
  returns it once it answers. All are stopped when the test ends.
* ``api_server``: one server per test module with the default paste
  pipeline (no authentication).
* ``trusted_server``: one per module with the ``trusted-auth`` flavor:
  identity comes from keystonemiddleware-style headers
  (``X-Identity-Status: Confirmed``, ``X-Project-Id``, ``X-Roles``...),
  and ``image_member_quota = 3`` so that the quota can be reached.

A test needing other options starts its own: ``glance_server(flavor=
"trusted-auth", conf={"DEFAULT": {"image_size_cap": 1024}})``.

* ``p1`` / ``admin``: a member / an admin of a new project on the module's
  own trusted-auth server, for modules that name that fixture ``srv``.
"""
import pytest

from tests.functional.apiclient import ADMIN, Api, MEMBER, new_project
from tests.functional.server import GlanceServer


@pytest.fixture
def glance_server(tmp_path_factory):
    started = []

    def start(wait=True, **options):
        srv = GlanceServer(tmp_path_factory.mktemp("glance-api"), **options)
        started.append(srv)
        return srv.start(wait=wait)

    yield start
    for srv in started:
        srv.stop()


def _module_server(tmp_path_factory, name, **options):
    srv = GlanceServer(tmp_path_factory.mktemp(name), **options)
    srv.start()
    return srv


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    srv = _module_server(tmp_path_factory, "api-server")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def trusted_server(tmp_path_factory):
    srv = _module_server(tmp_path_factory, "trusted-server",
                         flavor="trusted-auth",
                         conf={"DEFAULT": {"image_member_quota": 3}})
    yield srv
    srv.stop()


@pytest.fixture
def p1(srv):
    return Api(srv.url, new_project("p1"), MEMBER)


@pytest.fixture
def admin(srv):
    return Api(srv.url, new_project("adm"), ADMIN)
