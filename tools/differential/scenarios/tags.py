"""Image tags: PUT and DELETE /v2/images/{id}/tags/{tag}."""
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}


@scenario("tags.crud", short=True)
def crud(s):
    """Add and remove tags; limits, odd tags, other callers."""
    image = s.member.create(name="t", tags=["one"], **RAW)
    path = "/v2/images/%s/tags/" % image
    s.member.put(path + "two", step="add two")
    s.member.put(path + "two", step="add two again")
    s.member.put(path + "t" * 256, step="add long tag")
    s.member.put(path + "t" * 255, step="add 255 tag")
    s.member.put(path + "with%20space", step="add spaced")
    s.member.put(path + "a%2Fb", step="add slash")
    s.member.put(path + "%C3%A9t%C3%A9", step="add unicode")
    s.member.put(path + "six", step="add over quota")
    s.member.get("/v2/images/%s" % image, step="show tags")
    s.member.delete(path + "one", step="delete one")
    s.member.delete(path + "one", step="delete one again")
    s.member.put(path + "seven", step="add after delete")
    s.reader.put(path + "r", step="add as reader")
    s.other.put(path + "o", step="add as other")
    s.other.delete(path + "two", step="delete as other")
    s.admin.put(path + "adm", step="add as admin")
    s.member.get(path + "two", step="GET a tag")
    s.member.post(path + "two", step="POST a tag")
    s.member.put("/v2/images/%s/tags/x" % ("5" * 8 + "-5555-5555-5555-"
                                            + "5" * 12), step="missing image")
    s.member.put("/v2/images/%s/tags/" % image, step="empty tag")
