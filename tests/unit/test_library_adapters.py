"""The library adapters: what glance relies on inside its libraries.

Each adapter names the private parts it uses and checks them; these
tests fail loudly when an upgrade of the library changes one of them.
"""
import eventlet.wsgi
import pytest

from glance.common import connections
from glance.common import oslo_policy_adapter
from glance import store_drivers


def test_glance_store_still_has_what_the_adapter_uses():
    store_drivers.check_internals()


def test_the_filesystem_metadata_goes_through_the_adapter(tmp_path):
    class Store(store_drivers.FilesystemStore):
        def __init__(self):
            pass

        def _get_metadata(self, path):
            return {"path": path}
    assert store_drivers.file_metadata(Store(), "/x") == {"path": "/x"}


def test_oslo_policy_still_has_what_the_adapter_uses():
    oslo_policy_adapter.check_internals()


def test_eventlet_wsgi_still_has_what_the_connections_use():
    connections.check_internals()


def test_a_missing_eventlet_internal_is_named(monkeypatch):
    monkeypatch.delattr(eventlet.wsgi.Input, "_do_read")
    with pytest.raises(RuntimeError, match="Input._do_read"):
        connections.check_internals()
