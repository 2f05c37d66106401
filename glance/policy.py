"""Authorization: the policy enforcer and the targets it checks against.

It sits below the services that call it and imports only the rules
(``glance.policies``), the exceptions and i18n: there is no HTTP in it.

Service functions authorize explicitly at their top::

    policy.enforce(context, "modify_image", policy.image_target(image, ctx))

``enforce`` raises ``Forbidden`` (403); ``check`` answers a bool.
``enforce_image_action`` adds Glance's rule that an image the caller may not
even see is reported as not found (404) rather than forbidden.

Targets are plain dicts. An image's target carries its owner as both
``project_id`` and ``owner``, its ``visibility``, its other attributes and
custom properties, and as ``member_id`` the caller's project when the image
is shared and the caller is not the owner (whether the caller really is a
member is established by the database query that found the image).

The rules are the defaults in ``glance.policies``, overridden by the file
named by ``[oslo_policy] policy_file`` and the ``policy_dirs`` (reloaded
when one of them changes: each check costs a ``stat`` of the files found;
a file that was not found is looked for again every
``POLICY_LOOKUP_INTERVAL`` seconds, and at once after SIGHUP since the
workers are new).
``[oslo_policy] enforce_new_defaults`` (default true) chooses between the
role-based defaults and the old permissive ones.
"""
import os
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging
from oslo_policy import opts as policy_opts
from oslo_policy import policy

from glance.common import exception
from glance.i18n import _
from glance import policies

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

DEFAULT_POLICY_FILE = "policy.yaml"

policy_opts.set_defaults(CONF, DEFAULT_POLICY_FILE,
                         enforce_new_defaults=True)

# No options of our own: [oslo_policy] belongs to oslo.policy (its
# ``oslo.policy`` namespace in the config generator lists them).

# Seconds a "policy file (or directory) not found" answer is trusted.
POLICY_LOOKUP_INTERVAL = 2.0


def _stat_stamp(path):
    """What changes when the file at ``path`` does (None: no file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _dir_stamp(path):
    """What changes when a file in directory ``path`` does."""
    try:
        with os.scandir(path) as entries:
            files = sorted((e.name, _stat_stamp(e.path)) for e in entries)
    except OSError:
        return None
    return (_stat_stamp(path), tuple(files))


class Enforcer(policy.Enforcer):
    """oslo.policy's Enforcer over ``CONF`` with Glance's defaults.

    ``enforce_action``/``check_action`` take a request context first, as
    the rest of the service does; ``registered=False`` lets callers check
    rules that are not registered defaults (property protections).
    """

    def __init__(self, conf=None, suppress_deprecation_warnings=False):
        super().__init__(conf or CONF, use_conf=True, overwrite=False)
        # Every default changed with secure RBAC: one warning per rule at
        # start-up would only drown the log.
        self.suppress_default_change_warnings = True
        if suppress_deprecation_warnings:
            self.suppress_deprecation_warnings = True
        self.register_defaults(policies.list_rules())
        self._loaded_stamp = None
        self._lookups = {}

    def load_rules(self, force_reload=False):
        """oslo.policy's ``load_rules``, skipped when nothing it reads has
        changed since the last load (it otherwise searches the config
        directories and walks every registered rule on each check)."""
        files = self._files_stamp() if self.use_conf else None
        if (not force_reload and self._loaded_stamp is not None
                and self._loaded_stamp == (files, self._memory_stamp())):
            return
        super().load_rules(force_reload)
        self._loaded_stamp = (files, self._memory_stamp())

    def clear(self):
        """Forget the rules (oslo.policy) and when they were loaded."""
        super().clear()
        self._loaded_stamp = None
        self._lookups = {}

    def _memory_stamp(self):
        return (id(self.rules), len(self.registered_rules), self.use_conf)

    def _files_stamp(self):
        if self.policy_path:
            policy_file = (self.policy_path, _stat_stamp(self.policy_path))
        else:
            policy_file = self._lookup(self.policy_file)
        dirs = self._lookup_dirs()
        return (policy_file, tuple((path, _dir_stamp(path))
                                   for path in dirs))

    def _lookup(self, name):
        """The path of policy file ``name`` or None, re-searched only
        every POLICY_LOOKUP_INTERVAL seconds."""
        now = time.monotonic()
        found = self._lookups.get(name)
        if found is None or now - found[1] > POLICY_LOOKUP_INTERVAL:
            try:
                path = self._get_policy_path(name)
            except cfg.ConfigFilesNotFoundError:
                path = None
            found = (path, now)
            self._lookups[name] = found
        return found[0]

    def _lookup_dirs(self):
        now = time.monotonic()
        found = self._lookups.get(None)
        if found is None or now - found[1] > POLICY_LOOKUP_INTERVAL:
            dirs = []
            for name in self.conf.oslo_policy.policy_dirs:
                try:
                    dirs.append(self._get_policy_path(name))
                except cfg.ConfigFilesNotFoundError:
                    continue
            found = (tuple(dirs), now)
            self._lookups[None] = found
        return found[0]

    def _get_policy_path(self, path):
        # Before the command line is parsed (tools, unit tests) there are
        # no config directories to search: only an absolute path counts.
        try:
            return super()._get_policy_path(path)
        except cfg.NotInitializedError:
            if os.path.isabs(path) and os.path.exists(path):
                return path
            raise cfg.ConfigFilesNotFoundError((path,)) from None

    def add_rules(self, rules):
        """Add ``rules`` (an oslo ``Rules``) without dropping others."""
        self.set_rules(rules, overwrite=False, use_conf=self.use_conf)

    def _check_registered(self, action, registered):
        if registered and action not in self.registered_rules:
            raise policy.PolicyNotRegistered(action)

    def check_action(self, context, action, target=None, registered=True):
        """Whether ``context`` may do ``action`` on ``target``."""
        self._check_registered(action, registered)
        if target is None:
            target = default_target(context)
        try:
            return bool(self.enforce(action, target, context))
        except policy.InvalidScope:
            return False

    def enforce_action(self, context, action, target=None, registered=True):
        """Raise Forbidden unless ``context`` may do ``action``."""
        if not self.check_action(context, action, target, registered):
            LOG.debug("Policy %s denied to %s", action,
                      getattr(context, "request_id", None))
            raise exception.Forbidden(action=action)
        return True

    def check_rule(self, context, rule_name, target=None):
        """Whether the named rule passes (any rule, even one defined only
        in the policy file). An undefined name falls back to the
        ``default`` rule, as oslo.policy resolves ``rule:<name>``."""
        check = policy.RuleCheck("rule", rule_name)
        try:
            return bool(self.enforce(check, target or {}, context))
        except policy.InvalidScope:
            return False

    def _map_context_attributes_into_creds(self, ctx):
        # oslo.policy copies the policy values key by key through the
        # Mapping protocol of oslo.context's deprecation-aware mapping
        # (twice per request, about 3% of a GET's CPU); its plain dict
        # view holds the same keys and values
        values = ctx.to_policy_values()
        plain = getattr(values, "_dict", None)
        return dict(plain if isinstance(plain, dict) else values)

    def check_is_admin(self, context):
        """Whether ``context`` passes the ``context_is_admin`` rule."""
        return self.check_action(context, "context_is_admin",
                                 context.to_dict())


_ENFORCER = None
_ENFORCER_LOCK = threading.Lock()


def get_enforcer():
    """The process-wide Enforcer, built on first use."""
    global _ENFORCER
    if _ENFORCER is None:
        with _ENFORCER_LOCK:
            if _ENFORCER is None:
                _ENFORCER = Enforcer()
    return _ENFORCER


def reset():
    """Drop the process-wide Enforcer (tests; after a config change)."""
    global _ENFORCER
    with _ENFORCER_LOCK:
        _ENFORCER = None


def enforce(context, action, target=None, enforcer=None):
    """Raise Forbidden (403) unless ``context`` may do ``action``.

    ``target`` defaults to the caller's own project (``default_target``).
    """
    return (enforcer or get_enforcer()).enforce_action(context, action,
                                                       target)


def check(context, action, target=None, enforcer=None):
    """Whether ``context`` may do ``action`` on ``target``."""
    return (enforcer or get_enforcer()).check_action(context, action, target)


def check_is_admin(context, enforcer=None):
    """Whether ``context`` is an administrator (``context_is_admin``)."""
    return (enforcer or get_enforcer()).check_is_admin(context)


# -- targets --

def default_target(context):
    """The target of an action on the caller's own project."""
    project = getattr(context, "project_id", None)
    return {"project_id": project, "owner": project,
            "user_id": getattr(context, "user_id", None),
            "visibility": "private"}


def new_image_target(context, image_props=None):
    """The target for creating (or listing) images.

    ``owner`` and ``visibility`` come from the proposed properties and
    default to the caller's project and ``private``.
    """
    props = image_props or {}
    owner = props.get("owner", getattr(context, "project_id", None))
    return {"project_id": owner, "owner": owner,
            "visibility": props.get("visibility", "private")}


_EXTRA_KEYS = ("extra_properties", "properties")
_SKIPPED_KEYS = ("locations",)


def image_target(image, context=None):
    """The policy target for an existing image, from its dict.

    ``image`` may hold custom properties flat or under ``extra_properties``
    / ``properties``; base attributes win on a name clash. Locations are
    left out. With ``context``, ``member_id`` is the caller's project when
    the image is shared and the caller does not own it (else None); an
    explicit ``member``/``member_id`` in ``image`` wins.
    """
    target = {}
    for key in _EXTRA_KEYS:
        extra = image.get(key)
        if isinstance(extra, dict):
            target.update(extra)
    for key, value in image.items():
        if key not in _EXTRA_KEYS and key not in _SKIPPED_KEYS:
            target[key] = value
    owner = image.get("owner")
    target["owner"] = owner
    target["project_id"] = owner
    if "id" in image:
        target.setdefault("image_id", image["id"])
    target["member_id"] = _member_of(image, context)
    target["member"] = target["member_id"]
    return target


def _member_of(image, context):
    for key in ("member_id", "member"):
        if image.get(key) is not None:
            return image[key]
    if context is None:
        return None
    project = getattr(context, "project_id", None)
    if (image.get("visibility") == "shared" and project is not None
            and project != image.get("owner")):
        return project
    return None


def member_target(image, context=None):
    """The target for membership actions: that of the image (as Glance)."""
    return image_target(image, context)


# -- Glance's image rules on top of plain enforcement --

def enforce_image_action(context, action, image, enforcer=None):
    """Enforce ``action`` on an existing image, hiding what is not visible.

    When the caller may not even ``get_image`` the image, the answer is
    ImageNotFound (404), so that images of other projects are not revealed;
    otherwise a denial is Forbidden (403).
    """
    enforcer = enforcer or get_enforcer()
    target = image_target(image, context)
    if enforcer.check_action(context, action, target):
        return True
    if action == "get_image" or not enforcer.check_action(
            context, "get_image", target):
        raise exception.ImageNotFound(image_id=image.get("id"))
    raise exception.Forbidden(action=action)


def enforce_visibility(context, visibility, target, enforcer=None):
    """The extra rule for making an image public or community."""
    enforcer = enforcer or get_enforcer()
    if visibility == "public":
        enforcer.enforce_action(context, "publicize_image", target)
    elif visibility == "community":
        enforcer.enforce_action(context, "communitize_image", target)


def enforce_create_image(context, image_props, enforcer=None):
    """``add_image`` for the proposed properties, then their visibility."""
    enforcer = enforcer or get_enforcer()
    target = new_image_target(context, image_props)
    if not enforcer.check_action(context, "add_image", target):
        if target["owner"] != getattr(context, "project_id", None):
            raise exception.AccessDenied(
                _("You are not permitted to create images owned by '%s'")
                % target["owner"])
        raise exception.Forbidden(action="add_image")
    enforce_visibility(context, target["visibility"], target, enforcer)
    return True
