"""The request context: who is asking, for which project, with which roles."""
from oslo_context import context


class RequestContext(context.RequestContext):
    """oslo.context's RequestContext with Glance's ``owner`` notion.

    ``is_admin`` is decided by the policy rule ``context_is_admin`` when the
    context is built by the auth middleware.
    """

    def __init__(self, service_catalog=None, policy_enforcer=None, **kwargs):
        super().__init__(**kwargs)
        self.service_catalog = service_catalog
        self.policy_enforcer = policy_enforcer

    @property
    def owner(self):
        """The project that owns what this context creates."""
        return self.project_id

    def to_dict(self):
        d = super().to_dict()
        d["service_catalog"] = self.service_catalog
        return d

    def to_policy_values(self):
        values = super().to_policy_values()
        values["is_admin"] = self.is_admin
        return values

    def elevated(self):
        """A copy with admin rights, for service-internal work."""
        ctx = self.__class__.from_dict(self.to_dict())
        ctx.is_admin = True
        if "admin" not in ctx.roles:
            ctx.roles = list(ctx.roles) + ["admin"]
        return ctx


def get_admin_context(show_deleted=False):
    """An admin context for tools and background jobs."""
    return RequestContext(auth_token=None, project_id=None, is_admin=True,
                          show_deleted=show_deleted, overwrite=False)
