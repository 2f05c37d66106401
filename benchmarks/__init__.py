"""On-demand benchmarks: they print figures and assert nothing.

Run ``python -m benchmarks metadata`` (or ``tox -e bench``).
"""
