"""The request scenarios, registered by name with :func:`scenario`.

Names are ``area.what``; ``short=True`` puts a scenario in the subset the
test suite runs (``tests/functional/test_differential.py``).
"""
import importlib

SCENARIOS = {}
MODULES = ("discovery", "images", "listing", "patching", "members", "tags",
           "data", "imports", "tasks", "cache", "headers", "metadefs")


class Scenario:
    def __init__(self, name, fn, short):
        self.name = name
        self.fn = fn
        self.short = short
        self.doc = (fn.__doc__ or "").strip().splitlines()[0:1]


def scenario(name, short=False):
    def register(fn):
        if name in SCENARIOS:
            raise ValueError("two scenarios named %s" % name)
        SCENARIOS[name] = Scenario(name, fn, short)
        return fn
    return register


for _module in MODULES:
    importlib.import_module("%s.%s" % (__name__, _module))
