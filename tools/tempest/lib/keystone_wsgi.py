"""Keystone's WSGI application for gunicorn. Keystone's oslo.config parses
sys.argv when it loads, and would take gunicorn's own arguments for its
options, so they are hidden first. The config file comes from
OS_KEYSTONE_CONFIG_FILES (set by tools/tempest/run.sh)."""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402,F401
