"""Console entry points.

Each ``main(argv=None)`` calls :func:`glance.common.bootstrap.bootstrap`
first (through the module attribute, so a test can check it does) and
returns the process exit status. ``glance.cmd.api`` monkey-patches with
eventlet at its very top; nothing here imports eventlet, so the command-line
tools run on native threads.
"""
import sys


def not_implemented(prog, argv=None):
    """main() of a console script that is declared but not written yet."""
    from glance.common import bootstrap
    bootstrap.bootstrap(argv, prog=prog, thread_model="native")
    print("%s: not implemented yet" % prog, file=sys.stderr)
    return 2
