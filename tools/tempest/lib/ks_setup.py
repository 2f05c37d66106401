"""Keystone catalog and users for the Tempest job (run with the Keystone venv's
python).

ks_setup.py KS_URL ADMIN_PW SVC_PW IMAGE_URL REMOTE_URL

After ``keystone-manage bootstrap`` (admin user/project, role admin, region
RegionOne, the identity endpoint), this makes sure of: the roles ``member``,
``reader`` and ``service``; project ``service`` with user ``glance``
(password SVC_PW, role ``service``: what keystonemiddleware's service user
needs to validate tokens); service type ``image`` at IMAGE_URL and service
type ``image_remote`` (Tempest's alternate_image_endpoint, devstack's name)
at REMOTE_URL, public/internal/admin endpoints in RegionOne. Idempotent."""

import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

REGION = "RegionOne"


def first(items):
    return next(iter(items), None)


def main():
    ks, admin_pw, svc_pw, image_url, remote_url = sys.argv[1:6]
    auth = v3.Password(
        auth_url=ks + "/v3",
        username="admin",
        password=admin_pw,
        project_name="admin",
        user_domain_id="default",
        project_domain_id="default",
    )
    kc = client.Client(session=session.Session(auth=auth), interface="public")
    dom = kc.domains.get("default")
    roles = {}
    for name in ("admin", "member", "reader", "service"):
        roles[name] = first(kc.roles.list(name=name)) or kc.roles.create(name)
    proj = first(
        kc.projects.list(name="service", domain=dom)
    ) or kc.projects.create("service", dom, description="Service users")
    user = first(kc.users.list(name="glance", domain=dom))
    if user is None:
        user = kc.users.create(
            "glance", domain=dom, password=svc_pw, default_project=proj
        )
    else:
        kc.users.update(user, password=svc_pw)
    kc.roles.grant(roles["service"], user=user, project=proj)
    for stype, name, url in (
        ("image", "glance", image_url),
        ("image_remote", "glance_remote", remote_url),
    ):
        svc = first(kc.services.list(type=stype)) or kc.services.create(
            name, stype, description="Image service"
        )
        for iface in ("public", "internal", "admin"):
            eps = kc.endpoints.list(
                service=svc, interface=iface, region=REGION
            )
            for ep in eps:
                kc.endpoints.delete(ep)
            kc.endpoints.create(svc, url, interface=iface, region=REGION)
    print(
        "keystone: roles %s; user glance (service); image %s, image_remote %s"
        % (",".join(sorted(roles)), image_url, remote_url)
    )


if __name__ == "__main__":
    main()
