"""The import contracts of .importlinter hold (doc/architecture.rst,
"Layers"): imports point down, nothing but an entry point imports the
bootstrap, no import cycles, no HTTP below the API.

import-linter reads the source (no module is imported), imports inside
functions included; a broken contract fails here with import-linter's
report, which names the contract, the two layers and the import.
"""
import pathlib

import importlinter.api  # noqa: F401 - configures import-linter's adapters
from importlinter.application.app_config import settings
from importlinter.application import use_cases
import pytest

CONFIG = pathlib.Path(__file__).resolve().parents[2] / ".importlinter"


def _lint(capsys):
    """(kept, report text) for the project's contracts, no cache."""
    kept = use_cases.lint_imports(config_filename=str(CONFIG),
                                  cache_dir=None, no_logo=True)
    return kept, capsys.readouterr().out


class _BuilderAdding:
    """The real graph builder, plus one import (a new upward one)."""

    def __init__(self, real, importer, imported):
        self.real, self.importer, self.imported = real, importer, imported

    def build(self, **kwargs):
        graph = self.real.build(**kwargs)
        graph.add_import(importer=self.importer, imported=self.imported,
                         line_number=1,
                         line_contents="import %s" % self.imported)
        return graph


@pytest.fixture
def added_import():
    real = settings.GRAPH_BUILDER

    def add(importer, imported):
        settings.configure(
            GRAPH_BUILDER=_BuilderAdding(real, importer, imported))
    yield add
    settings.configure(GRAPH_BUILDER=real)


def test_the_contracts_hold(capsys):
    kept, report = _lint(capsys)
    assert kept, report
    assert "Contracts: 4 kept, 0 broken." in report


def test_an_upward_import_fails_naming_the_layers(capsys, added_import):
    added_import("glance.db.images", "glance.services.images")
    kept, report = _lint(capsys)
    assert not kept
    assert "Layers: imports point down BROKEN" in report
    assert "glance.db is not allowed to import glance.services" in report
    assert "glance.db.images -> glance.services.images" in report


def test_a_cycle_inside_a_layer_fails(capsys, added_import):
    # the services may import each other, but not both ways
    added_import("glance.services.forwarding", "glance.services.images")
    kept, report = _lint(capsys)
    assert not kept
    assert "No import cycles BROKEN" in report
    assert "No cycles are allowed in glance.services." in report


def test_only_entry_points_import_the_bootstrap(capsys, added_import):
    added_import("glance.common.utils", "glance.common.bootstrap")
    kept, report = _lint(capsys)
    assert not kept
    assert "Only entry points import the bootstrap BROKEN" in report


@pytest.fixture(scope="module")
def graph():
    """glance's import graph, as the contracts see it."""
    return settings.GRAPH_BUILDER.build(
        root_package_names=["glance"], include_external_packages=False,
        exclude_type_checking_imports=False, cache_dir=None)


def test_imports_inside_functions_count(graph):
    # glance-api starts the prefetcher service in the worker, from inside
    # a function: that import is in the graph the contracts check
    details = graph.get_import_details(importer="glance.cmd.api",
                                       imported="glance.services.cache")
    assert details, "function-level imports are not seen"


def test_the_services_run_tasks_through_one_seam(graph):
    # glance.services.tasks.begin hands a recorded task to the executor;
    # no other service (and nothing in the API) imports the executor
    importers = graph.find_modules_that_directly_import(
        "glance.async_.executor")
    above = {m for m in importers
             if m.startswith(("glance.services", "glance.api"))}
    assert above == {"glance.services.tasks"}
