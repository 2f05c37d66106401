"""Property protections: who may create, read, update, delete which property.

Enabled by ``property_protection_file``: an INI file whose section names are
regular expressions over property names, each with the four operations
``create``, ``read``, ``update`` and ``delete``. The first section whose
expression matches a property (``re.search``, in file order) decides; a
property matching no section may not be touched by anyone, so files usually
end with a catch-all ``[.*]`` section.

With ``property_protection_rule_format = roles`` an operation lists roles
(comma-separated; ``@`` means everyone, ``!`` nobody, an empty value
nobody). With ``policies`` it names one rule of the policy file, evaluated
with an empty target (``@``/``!`` work there too).

A malformed file stops the service at start-up: ``PropertyRules()`` raises
InvalidPropertyProtectionConfiguration.

Policy rules, so in the policy layer, beside ``glance.policy``.
"""
import configparser
import os
import re
import threading

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import exception
from glance.i18n import _
from glance import policy

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.import_opt("property_protection_file", "glance.common.config")
CONF.import_opt("property_protection_rule_format", "glance.common.config")

OPERATIONS = ("create", "read", "update", "delete")
RULE_FORMATS = ("roles", "policies")
ANYONE = "@"
NOBODY = "!"


def is_property_protection_enabled():
    """Whether a property protection file is configured."""
    return bool(CONF.property_protection_file)


_RULES = None
_RULES_KEY = None
_RULES_LOCK = threading.Lock()


def get_rules():
    """The process-wide PropertyRules, or None when protections are off.

    Loaded on first use and again when the protection options change; a
    malformed file raises InvalidPropertyProtectionConfiguration (call this
    once at start-up so that a bad file stops the service).
    """
    global _RULES, _RULES_KEY
    if not is_property_protection_enabled():
        return None
    key = (CONF.property_protection_file,
           CONF.property_protection_rule_format)
    with _RULES_LOCK:
        if _RULES is None or _RULES_KEY != key:
            _RULES = PropertyRules()
            _RULES_KEY = key
        return _RULES


def reset():
    """Forget the loaded rules (tests; after a configuration reload)."""
    global _RULES, _RULES_KEY
    with _RULES_LOCK:
        _RULES = None
        _RULES_KEY = None


def _invalid(reason):
    LOG.error("Property protections: %s", reason)
    return exception.InvalidPropertyProtectionConfiguration(reason=reason)


def _find_file(name):
    path = name
    if not os.path.isabs(name):
        try:
            path = CONF.find_file(name) or name
        except cfg.Error:
            path = name
    if not os.path.isfile(path):
        raise _invalid(_("cannot find the property protection file %s")
                       % name)
    return path


def _read_config(path):
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, UnicodeDecodeError, configparser.Error) as e:
        raise _invalid(_("cannot read %(file)s: %(err)s")
                       % {"file": path, "err": e}) from e
    return parser


def _compile(expression):
    try:
        return re.compile(expression)
    except re.error as e:
        raise _invalid(_("malformed property expression [%(exp)s]: %(err)s")
                       % {"exp": expression, "err": e}) from e


class PropertyRules:
    """The loaded protection rules and the check against them."""

    def __init__(self, policy_enforcer=None, rule_format=None,
                 protection_file=None):
        self.rule_format = (rule_format or
                            CONF.property_protection_rule_format).lower()
        if self.rule_format not in RULE_FORMATS:
            raise _invalid(_("unknown property_protection_rule_format "
                             "'%s': use 'roles' or 'policies'")
                           % self.rule_format)
        self._enforcer = policy_enforcer
        # [(compiled expression, section name, {operation: [values]})]
        self.rules = []
        name = protection_file or CONF.property_protection_file
        if name:
            self._load(_find_file(name))

    @property
    def policy_enforcer(self):
        if self._enforcer is None:
            self._enforcer = policy.get_enforcer()
        return self._enforcer

    # -- loading ----------------------------------------------------------
    def _load(self, path):
        parser = _read_config(path)
        for section in parser.sections():
            compiled = _compile(section)
            options = parser[section]
            unknown = sorted(set(options) - set(OPERATIONS))
            if unknown:
                LOG.warning("Property protections: ignoring unknown "
                            "operation(s) %(ops)s in [%(exp)s]",
                            {"ops": ", ".join(unknown), "exp": section})
            perms = {op: self._parse(section, op, options)
                     for op in OPERATIONS}
            self.rules.append((compiled, section, perms))

    def _parse(self, section, operation, options):
        if operation not in options:
            raise _invalid(_("[%(exp)s] has no '%(op)s' operation; all of "
                             "create, read, update and delete are needed")
                           % {"exp": section, "op": operation})
        value = options[operation].strip()
        if not value:
            LOG.warning("Property protections: [%(exp)s] %(op)s is empty; "
                        "nobody may do it", {"exp": section, "op": operation})
            return []
        if self.rule_format == "policies":
            if "," in value:
                raise _invalid(_("[%(exp)s] %(op)s names several policies "
                                 "(%(val)s); combine them in the policy "
                                 "file instead")
                               % {"exp": section, "op": operation,
                                  "val": value})
            return [value]
        roles = [r.strip() for r in value.split(",") if r.strip()]
        if ANYONE in roles and NOBODY in roles:
            raise _invalid(_("[%(exp)s] %(op)s = %(val)s: '@' and '!' "
                             "cannot be used together")
                           % {"exp": section, "op": operation, "val": value})
        return roles

    # -- checking ---------------------------------------------------------
    def _rule_for(self, property_name):
        for compiled, section, perms in self.rules:
            if compiled.search(str(property_name)):
                return section, perms
        return None, None

    def check_property_rules(self, property_name, action, context):
        """Whether ``context`` may do ``action`` on ``property_name``.

        Everything is allowed when no rules are loaded; an unknown action,
        or a property that matches no section, is refused.
        """
        if not self.rules:
            return True
        if action not in OPERATIONS:
            return False
        section, perms = self._rule_for(property_name)
        if section is None:
            return False
        allowed = perms[action]
        if not allowed or NOBODY in allowed:
            return False
        if ANYONE in allowed:
            return True
        if self.rule_format == "policies":
            return self.policy_enforcer.check_rule(context, allowed[0])
        roles = set(getattr(context, "roles", None) or [])
        roles.update(getattr(context, "service_roles", None) or [])
        return bool(roles & {r.lower() for r in allowed})
