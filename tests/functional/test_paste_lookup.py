"""The paste file is found as Glance finds it when glance-api is started
with ``--config-dir`` only (as devstack and distribution units start it):
in that directory, or by a relative ``[paste_deploy] config_file``.

Each paste file here has the only pipeline for the configured flavor, so
the daemon answers only if that file, not the packaged one, was loaded.
"""
import sys

import pytest

from tests.functional.server import GlanceServer

PASTE = """\
[pipeline:glance-api-%(flavor)s]
pipeline = versionnegotiation unauthenticated-context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:unauthenticated-context]
paste.filter_factory = glance.api.middleware.context:UnauthenticatedContextMiddleware.factory
"""  # noqa: E501


class ConfigDirServer(GlanceServer):
    """glance-api given ``--config-dir`` and no ``--config-file``."""

    def command(self):
        return [sys.executable, "-m", "glance.cmd.api",
                "--config-dir", str(self.etc_dir)]


@pytest.mark.parametrize("paste_name,configured", [
    ("glance-api-paste.ini", None),
    ("site-paste.ini", "site-paste.ini"),
])
def test_paste_file_is_found_in_the_config_dir(tmp_path, paste_name,
                                                configured):
    flavor = "configdir"
    server = ConfigDirServer(tmp_path, conf={"paste_deploy": {
        "flavor": flavor, "config_file": configured}})
    (server.etc_dir / paste_name).write_text(PASTE % {"flavor": flavor})
    server.start()
    try:
        resp = server.get("/v2/images")
        assert resp.status_code == 200, resp.text
        assert resp.json()["images"] == []
    finally:
        assert server.stop() == 0
