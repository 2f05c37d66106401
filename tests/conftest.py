"""Shared test set-up: a parsed, empty configuration and override helper."""
import pytest
from oslo_config import cfg

import glance.common.config  # noqa: F401  (registers the common options)

CONF = cfg.CONF


def pytest_configure(config):
    if CONF._args is None:
        CONF([], project="glance", default_config_files=[])


@pytest.fixture
def conf():
    """Set options for one test: ``conf(debug=True, group="x")``."""
    overridden = []

    def override(group=None, **kwargs):
        for name, value in kwargs.items():
            CONF.set_override(name, value, group=group)
            overridden.append((name, group))

    yield override
    for name, group in overridden:
        CONF.clear_override(name, group=group)
