"""The default policy rules, registered with oslo.policy.

``list_rules()`` is the ``oslo.policy.policies`` entry point, so
``oslopolicy-sample-generator --namespace glance`` writes a sample
policy.yaml from these defaults.
"""
import itertools

from glance.policies import base
from glance.policies import cache
from glance.policies import discovery
from glance.policies import image
from glance.policies import metadefs
from glance.policies import tasks


def list_rules():
    return list(itertools.chain(
        base.list_rules(),
        image.list_rules(),
        tasks.list_rules(),
        cache.list_rules(),
        discovery.list_rules(),
        metadefs.list_rules(),
    ))
