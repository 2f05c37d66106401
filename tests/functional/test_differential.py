"""The short form of the differential test against real Glance 33.

Runs the ``short`` scenarios of ``tools/differential`` against Glance 33
(served by uWSGI from a virtualenv of its own) and our glance-api, side by
side, and fails on any difference not listed in ``doc/differences.rst``.
The full run is ``python -m tools.differential``.

The Glance virtualenv is ``$GLANCE_DIFFERENTIAL_VENV`` if set, else
``~/.cache/glance-differential/glance33`` (``$GLANCE_DIFFERENTIAL_CACHE``),
built on first use under a file lock (pytest-xdist's workers build it
once). When it cannot be built (no package index) the test is skipped,
except in CI (``CI`` set), where that is a failure.
"""
import os

import pytest

from tools.differential import oracle, runner
from tools.differential.__main__ import _print_diff


class _Text:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)


def _differences(base_dir):
    try:
        venv = oracle.ensure_venv()
    except oracle.OracleUnavailable as e:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Glance 33 virtualenv: %s" % e)
    scenarios = runner.select(short=True)
    with runner.both_servers(base_dir, venv=venv,
                             log=lambda message: None) as (glance, ours):
        results = runner.run_scenarios(scenarios, glance, ours,
                                       log=lambda message: None)
    unexplained, _documented = runner.classify(results)
    return results, unexplained


# One test, not one per scenario: under pytest-xdist each worker would
# otherwise start its own pair of servers.
@pytest.mark.slow
def test_no_undocumented_difference_from_glance(tmp_path):
    results, unexplained = _differences(tmp_path)
    assert set(results) == {sc.name for sc in runner.select(short=True)}
    assert all(r["steps"] > 0 for r in results.values())
    out = _Text()
    for diff in unexplained:
        _print_diff(diff, out)
    assert not unexplained, "%d differences from Glance 33 not in " \
        "doc/differences.rst:\n%s" % (len(unexplained), "".join(out.parts))
