"""Functional checks of the project's keystone pipeline against the real
Keystone (run with the Keystone venv's python, before Tempest).

auth_checks.py KS_URL ADMIN_PW GLANCE_URL [GLANCE_URL ...]

Each check prints one line, "ok" or "FAIL"; exit status 1 if any failed."""

import sys
import uuid

import requests
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

RESULTS = []


def check(what, ok, detail=""):
    RESULTS.append(ok)
    print(
        "  %s %s%s"
        % ("ok  " if ok else "FAIL", what, "" if ok else ": " + detail)
    )


def token_for(ks, user, pw, project):
    auth = v3.Password(
        auth_url=ks + "/v3",
        username=user,
        password=pw,
        project_name=project,
        user_domain_id="default",
        project_domain_id="default",
    )
    return session.Session(auth=auth).get_token()


def get(url, token=None, **kw):
    headers = {"X-Auth-Token": token} if token else {}
    return requests.get(url, headers=headers, timeout=30, **kw)


def main():
    ks, admin_pw, urls = sys.argv[1], sys.argv[2], sys.argv[3:]
    admin_tok = token_for(ks, "admin", admin_pw, "admin")
    kc = client.Client(
        session=session.Session(
            auth=v3.Token(
                auth_url=ks + "/v3",
                token=admin_tok,
                project_name="admin",
                project_domain_id="default",
            )
        ),
        interface="public",
    )

    for url in urls:
        r = get(url + "/v2/images")
        check(
            "%s anonymous GET /v2/images -> 401 with WWW-Authenticate" % url,
            r.status_code == 401
            and ks in r.headers.get("WWW-Authenticate", ""),
            "%s %s" % (r.status_code, r.headers.get("WWW-Authenticate")),
        )
        r = get(url + "/v2/images", "gAAAAA" + uuid.uuid4().hex)
        check(
            "%s made-up token -> 401" % url,
            r.status_code == 401,
            str(r.status_code),
        )
        r = get(url + "/v2/images", admin_tok)
        check(
            "%s admin token -> 200" % url,
            r.status_code == 200,
            "%s %s" % (r.status_code, r.text[:200]),
        )

    # a token revoked before the service ever saw it
    tok = token_for(ks, "admin", admin_pw, "admin")
    kc.tokens.revoke_token(tok)
    r = get(urls[0] + "/v2/images", tok)
    check("revoked token -> 401", r.status_code == 401, str(r.status_code))

    # a reader may read but not create; a member may create (a new project
    # and users)
    dom = kc.domains.get("default")
    name = "authcheck-" + uuid.uuid4().hex[:8]
    proj = kc.projects.create(name, dom)
    users = []
    try:
        pw = uuid.uuid4().hex
        toks = {}
        for role in ("reader", "member"):
            u = kc.users.create(
                "%s-%s" % (name, role), domain=dom, password=pw
            )
            users.append(u)
            kc.roles.grant(
                next(iter(kc.roles.list(name=role))), user=u, project=proj
            )
            toks[role] = token_for(ks, u.name, pw, name)
        body = {"name": name, "disk_format": "raw", "container_format": "bare"}
        r = get(urls[0] + "/v2/images", toks["reader"])
        check(
            "reader GET /v2/images -> 200",
            r.status_code == 200,
            str(r.status_code),
        )
        r = requests.post(
            urls[0] + "/v2/images",
            json=body,
            timeout=30,
            headers={"X-Auth-Token": toks["reader"]},
        )
        check(
            "reader POST /v2/images -> 403",
            r.status_code == 403,
            "%s %s" % (r.status_code, r.text[:200]),
        )
        r = requests.post(
            urls[0] + "/v2/images",
            json=body,
            timeout=30,
            headers={"X-Auth-Token": toks["member"]},
        )
        ok = r.status_code == 201 and r.json().get("owner") == proj.id
        check(
            "member POST /v2/images -> 201, owned by the member's project",
            ok,
            "%s %s" % (r.status_code, r.text[:200]),
        )
        if r.status_code == 201:
            d = requests.delete(
                urls[0] + "/v2/images/" + r.json()["id"],
                timeout=30,
                headers={"X-Auth-Token": toks["member"]},
            )
            check(
                "member DELETE its image -> 204",
                d.status_code == 204,
                str(d.status_code),
            )
    finally:
        for u in users:
            kc.users.delete(u)
        kc.projects.delete(proj)
    failed = RESULTS.count(False)
    print("auth checks: %d of %d ok" % (len(RESULTS) - failed, len(RESULTS)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
