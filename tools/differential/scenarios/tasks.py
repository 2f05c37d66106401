"""The tasks API: /v2/tasks and an image's tasks."""
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}


@scenario("tasks.api", short=True)
def api(s):
    """Create, list, show tasks; filters and refusals."""
    body = {"type": "import",
            "input": {"import_from": "http://127.0.0.1:1/x",
                      "import_from_format": "raw",
                      "image_properties": {"disk_format": "raw",
                                           "container_format": "bare"}}}
    s.member.post("/v2/tasks", json=body, step="create as member")
    created = s.admin.post("/v2/tasks", json=body, step="create as admin")
    task = created.id
    s.admin.post("/v2/tasks", json={"type": "import"}, step="no input")
    s.admin.post("/v2/tasks", json={"type": "fly", "input": {}},
                 step="bad type")
    s.admin.post("/v2/tasks", json={"input": {}}, step="no type")
    s.admin.post("/v2/tasks", data="x", step="invalid json")
    s.admin.post("/v2/tasks", json=dict(body, status="success"),
                 step="status given")
    for caller, who in ((s.admin, "admin"), (s.member, "member"),
                        (s.anon, "anonymous")):
        caller.get("/v2/tasks/%s" % task, step="show as %s" % who)
    s.admin.get("/v2/tasks/%s" % ("9" * 8 + "-9999-9999-9999-" + "9" * 12),
                step="show missing")
    s.admin.get("/v2/tasks/nope", step="show bad id")
    s.admin.delete("/v2/tasks/%s" % task, step="delete task")
    s.admin.put("/v2/tasks/%s" % task, json={}, step="put task")
    for step, params in [
            ("list", {"limit": "1"}),
            ("list type", {"type": "import", "limit": "1"}),
            ("list bad type", {"type": "fly"}),
            ("list status bogus", {"status": "bogus"}),
            ("list sort_key bad", {"sort_key": "name"}),
            ("list sort_dir bad", {"sort_dir": "up"}),
            ("list limit bad", {"limit": "x"}),
            ("list limit negative", {"limit": "-1"}),
            ("list marker bad", {"marker": "nope"}),
            ("list marker missing", {"marker": "9" * 8 + "-9999-9999-9999-"
                                     + "9" * 12})]:
        s.admin.get("/v2/tasks", params=params, step=step)
    s.member.get("/v2/tasks", step="list as member")
    image = s.member.create(name="t", **RAW)
    s.member.get("/v2/images/%s/tasks" % image, step="image tasks empty")
    s.other.get("/v2/images/%s/tasks" % image, step="image tasks as other")
    s.member.get("/v2/images/not-a-uuid/tasks", step="image tasks bad id")
