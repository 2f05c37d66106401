"""Image members: sharing, accepting, who may do what."""
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}


@scenario("members.lifecycle", short=True)
def lifecycle(s):
    """Add, list, show, update status, delete members."""
    image = s.member.create(name="shared", visibility="shared", **RAW)
    path = "/v2/images/%s/members" % image
    p2, p3 = s.project("p2"), s.project("p3")
    s.member.post(path, json={"member": p2}, step="add p2")
    s.member.post(path, json={"member": p2}, step="add p2 again")
    s.member.post(path, json={"member": p3}, step="add p3")
    s.member.post(path, json={}, step="add no member")
    s.member.post(path, json={"member": 5}, step="add member number")
    s.member.post(path, json={"member": "m" * 256}, step="add long member")
    s.member.post(path, json={"member": p2, "x": 1}, step="add extra key")
    s.member.post(path, data="nope", step="add invalid json")
    s.member.get(path, step="list as owner")
    s.other.get(path, step="list as member p2")
    s.reader.get(path, step="list as reader")
    s.admin.get(path, step="list as admin")
    s.member.get(path + "/" + p2, step="show p2 as owner")
    s.other.get(path + "/" + p2, step="show p2 as p2")
    s.other.get(path + "/" + p3, step="show p3 as p2")
    s.member.get(path + "/nobody", step="show unknown member")
    for status in ("accepted", "rejected", "pending", "bogus"):
        s.other.put(path + "/" + p2, json={"status": status},
                    step="p2 sets %s" % status)
    s.other.put(path + "/" + p2, json={}, step="p2 no status")
    s.other.put(path + "/" + p2, json={"status": "accepted", "x": 1},
                step="p2 extra key")
    s.member.put(path + "/" + p2, json={"status": "accepted"},
                 step="owner sets p2 status")
    s.third.put(path + "/" + p2, json={"status": "accepted"},
                step="p3 sets p2 status")
    s.admin.put(path + "/" + p2, json={"status": "accepted"},
                step="admin sets p2 status")
    s.other.put(path + "/" + p3, json={"status": "accepted"},
                step="p2 sets p3 status")
    s.other.get("/v2/images/%s" % image, step="p2 shows image")
    s.other.post(path, json={"member": p3}, step="p2 adds member")
    s.other.delete(path + "/" + p3, step="p2 deletes p3")
    s.member.delete(path + "/" + p3, step="owner deletes p3")
    s.member.delete(path + "/" + p3, step="owner deletes p3 again")
    s.third.get("/v2/images/%s" % image, step="p3 after removal")
    s.reader.post(path, json={"member": p3}, step="reader adds member")
    s.member.get(path + "/" + p2 + "/x", step="deeper path")
    s.member.request("PATCH", path, json={}, step="PATCH members")
    s.member.delete(path, step="DELETE members")


@scenario("members.visibility")
def visibility(s):
    """Members of private, public and community images; quota."""
    p2 = s.project("p2")
    private = s.member.create(name="private", **RAW)
    s.member.post("/v2/images/%s/members" % private, json={"member": p2},
                  step="add to private")
    community = s.member.create(name="c", visibility="community", **RAW)
    s.member.post("/v2/images/%s/members" % community, json={"member": p2},
                  step="add to community")
    public = s.admin.create(name="pub", visibility="public", **RAW)
    s.admin.post("/v2/images/%s/members" % public, json={"member": p2},
                 step="add to public")
    s.admin.get("/v2/images/%s/members" % public, step="list public members")
    shared = s.member.create(name="s", visibility="shared", **RAW)
    for n in range(6):
        s.member.post("/v2/images/%s/members" % shared,
                      json={"member": s.project("q%d" % n)},
                      step="quota member %d" % n)
    s.member.patch(shared, [{"op": "replace", "path": "/visibility",
                             "value": "private"}], step="shared to private")
    s.member.get("/v2/images/%s/members" % shared,
                 step="list after private")
    s.member.patch(shared, [{"op": "replace", "path": "/visibility",
                             "value": "shared"}], step="private to shared")
    s.member.get("/v2/images/%s/members" % shared, step="list after shared")
    s.other.get("/v2/images/%s/members" % private,
                step="non-member lists")
    s.member.get("/v2/images/not-a-uuid/members", step="bad image id")
