"""Differential testing against real OpenStack Glance 33.

``python -m tools.differential`` starts Glance 33 (from a virtualenv of its
own, under uWSGI) and our ``glance-api`` side by side with the same
configuration, replays the same request scenarios against both as several
identities, and reports every difference in status, the headers clients
read, normalised JSON bodies and error text. Differences the project makes
on purpose are listed in ``doc/differences.rst``; see :mod:`.known`.
"""
