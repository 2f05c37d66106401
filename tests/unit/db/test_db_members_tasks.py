"""Image memberships and tasks."""
import datetime
import threading

import pytest

from glance.common import exception
from glance.db import api
from glance.db import models
from glance.db import session as db_session

MEMBER_KEYS = {"id", "image_id", "member", "status", "created_at",
               "updated_at"}
TASK_KEYS = {"id", "type", "status", "owner", "input", "result", "message",
             "expires_at", "image_id", "request_id", "user_id",
             "created_at", "updated_at", "deleted"}


# -- members ---------------------------------------------------------------

def test_member_create_and_find(db):
    image = api.image_create({"owner": "p1"})
    other = api.image_create({"owner": "p1"})
    member = api.image_member_create(image["id"], "p2")
    assert MEMBER_KEYS <= set(member)
    assert member["status"] == "pending"
    assert member["created_at"] == member["updated_at"]
    accepted = api.image_member_create(image["id"], "p3", status="accepted")
    api.image_member_create(other["id"], "p2", status="rejected")
    assert api.image_member_find(image_id=image["id"]) == [member, accepted]
    assert [m["image_id"] for m in api.image_member_find(member="p2")] == [
        image["id"], other["id"]]
    assert api.image_member_find(image_id=image["id"], member="p3") == [
        accepted]
    assert api.image_member_find(status="accepted") == [accepted]
    assert len(api.image_member_find()) == 3
    assert api.image_member_count(image["id"]) == 2


def test_member_duplicate_and_readd(db):
    image = api.image_create({})
    member = api.image_member_create(image["id"], "p2")
    with pytest.raises(exception.Duplicate):
        api.image_member_create(image["id"], "p2")
    api.image_member_delete(member["id"])
    assert api.image_member_find(image_id=image["id"]) == []
    assert api.image_member_count(image["id"]) == 0
    again = api.image_member_create(image["id"], "p2", status="accepted")
    assert again["id"] != member["id"]
    assert api.image_member_find(image_id=image["id"]) == [again]


def test_member_exists_whatever_its_answer_while_both_are_live(db):
    image = api.image_create({"owner": "p1"})
    other = api.image_create({"owner": "p1"})
    for member, status in (("p2", "pending"), ("p3", "accepted"),
                           ("p4", "rejected")):
        api.image_member_create(image["id"], member, status=status)
    assert [api.image_member_exists(image["id"], p)
            for p in ("p2", "p3", "p4", "p5", "p1")] == [
        True, True, True, False, False]
    assert not api.image_member_exists(other["id"], "p2")
    api.image_member_delete(api.image_member_find(
        image_id=image["id"], member="p2")[0]["id"])
    assert not api.image_member_exists(image["id"], "p2")
    # the image alone deleted (its memberships still live): not a member
    images = models.Base.metadata.tables["images"]
    with db_session.connection(write=True) as conn:
        conn.execute(images.update().where(images.c.id == image["id"])
                     .values(deleted=True))
    assert not api.image_member_exists(image["id"], "p3")


def test_member_exists_opens_no_core_connection(db, monkeypatch):
    import sqlalchemy as sa
    image = api.image_create({"owner": "p1"})
    api.image_member_create(image["id"], "p2")

    def refuse(*args, **kwargs):
        raise AssertionError("a Core connection was opened")

    monkeypatch.setattr(sa.engine.Connection, "__init__", refuse)
    assert api.image_member_exists(image["id"], "p2")


def _at_once(calls):
    """Run the calls in threads released together; their results (or
    the exceptions they raised)."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i):
        barrier.wait(10)
        try:
            results[i] = calls[i]()
        except Exception as e:  # noqa: BLE001 - the result under test
            results[i] = e
    threads = [threading.Thread(target=run, args=(i,))
               for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_adds_of_one_member_make_one_membership(db):
    image = api.image_create({})
    results = _at_once([lambda: api.image_member_create(image["id"], "p2")
                        for _ in range(6)])
    created = [r for r in results if isinstance(r, dict)]
    assert len(created) == 1, results
    assert all(isinstance(r, exception.Duplicate)
               for r in results if r not in created)
    assert api.image_member_count(image["id"]) == 1


def test_member_quota_holds_under_concurrent_adds(db):
    image = api.image_create({})
    api.image_member_create(image["id"], "p0", max_members=3)
    results = _at_once([
        lambda i=i: api.image_member_create(image["id"], "p%d" % i,
                                            max_members=3)
        for i in range(1, 7)])
    created = [r for r in results if isinstance(r, dict)]
    assert len(created) == 2, results
    refused = [r for r in results if r not in created]
    assert all(isinstance(r, exception.ImageMemberLimitExceeded)
               for r in refused)
    assert api.image_member_count(image["id"]) == 3
    # a negative quota is no limit, as in Glance
    assert api.image_member_create(image["id"], "p9", max_members=-1)


def test_member_update(db):
    image = api.image_create({})
    member = api.image_member_create(image["id"], "p2")
    updated = api.image_member_update(member["id"], {"status": "accepted"})
    assert updated["status"] == "accepted"
    assert updated["updated_at"] > member["updated_at"]
    assert updated["created_at"] == member["created_at"]
    assert api.image_member_find(member="p2") == [updated]
    with pytest.raises(exception.InvalidParameterValue):
        api.image_member_update(member["id"], {"status": "maybe"})
    with pytest.raises(exception.Invalid):
        api.image_member_update(member["id"], {"member": "p3"})


def test_member_errors(db):
    image = api.image_create({})
    with pytest.raises(exception.ImageNotFound):
        api.image_member_create("nope", "p2")
    with pytest.raises(exception.InvalidParameterValue):
        api.image_member_create(image["id"], "p2", status="maybe")
    for bad_id in (12345, "x"):
        with pytest.raises(exception.MemberNotFound):
            api.image_member_update(bad_id, {"status": "accepted"})
        with pytest.raises(exception.MemberNotFound):
            api.image_member_delete(bad_id)
    member = api.image_member_create(image["id"], "p2")
    api.image_member_delete(member["id"])
    with pytest.raises(exception.MemberNotFound):
        api.image_member_delete(member["id"])
    with pytest.raises(exception.MemberNotFound):
        api.image_member_update(member["id"], {"status": "accepted"})


# -- tasks -----------------------------------------------------------------

def _task(**values):
    base = {"type": "import", "owner": "p1",
            "input": {"import_from": "http://x", "n": [1, 2]}}
    base.update(values)
    return api.task_create(base)


def test_task_create_and_get(db):
    task = _task(image_id="img", request_id="req-1", user_id="u1")
    assert TASK_KEYS <= set(task)
    assert task["status"] == "pending" and task["message"] == ""
    assert task["result"] is None and task["deleted"] is False
    assert task["input"] == {"import_from": "http://x", "n": [1, 2]}
    assert task["created_at"] == task["updated_at"]
    assert api.task_get(task["id"]) == task
    with pytest.raises(exception.TaskNotFound):
        api.task_get("nope")
    with pytest.raises(exception.Duplicate):
        _task(id=task["id"])
    with pytest.raises(exception.Invalid):
        api.task_create({"owner": "p1"})
    with pytest.raises(exception.Invalid):
        _task(colour="red")


def test_task_update(db):
    task = _task()
    updated = api.task_update(task["id"], {
        "status": "success", "result": {"image_id": "i1"},
        "message": "done", "id": "ignored"})
    assert updated["status"] == "success" and updated["message"] == "done"
    assert updated["result"] == {"image_id": "i1"}
    assert updated["input"] == task["input"]
    assert updated["updated_at"] > task["updated_at"]
    assert api.task_get(task["id"]) == updated
    with pytest.raises(exception.TaskNotFound):
        api.task_update("nope", {"status": "failure"})


def test_task_delete(db):
    task = _task()
    gone = api.task_delete(task["id"])
    assert gone["deleted"] is True and gone["deleted_at"] is not None
    with pytest.raises(exception.TaskNotFound):
        api.task_get(task["id"])
    assert api.task_get(task["id"], include_deleted=True)["deleted"] is True
    with pytest.raises(exception.TaskNotFound):
        api.task_delete(task["id"])


def test_tasks_delete_expired(db):
    now = datetime.datetime(2024, 6, 1)
    old = _task(expires_at=now - datetime.timedelta(hours=1))
    fresh = _task(expires_at=now + datetime.timedelta(hours=1))
    forever = _task()
    assert api.tasks_delete_expired(now=now) == 1
    assert api.tasks_delete_expired(now=now) == 0
    with pytest.raises(exception.TaskNotFound):
        api.task_get(old["id"])
    api.task_get(fresh["id"])
    api.task_get(forever["id"])
    # default "now" is the current time
    assert api.tasks_delete_expired() == 1


def test_tasks_get_by_image(db):
    past = datetime.datetime(2000, 1, 1)
    first = _task(image_id="img-1")
    second = _task(image_id="img-1", owner="p2")
    _task(image_id="img-2")
    _task(image_id="img-1", expires_at=past)
    gone = _task(image_id="img-1")
    api.task_delete(gone["id"])
    assert [t["id"] for t in api.tasks_get_by_image("img-1")] == [
        first["id"], second["id"]]
    assert api.tasks_get_by_image("img-3") == []


@pytest.fixture
def some_tasks(db):
    t0 = datetime.datetime(2024, 1, 1)
    tasks = []
    for n, (owner, status, type_) in enumerate([
            ("p1", "pending", "import"), ("p1", "success", "import"),
            ("p2", "failure", "import"), ("p1", "failure", "api_image_import"),
            ("p1", "pending", "import")]):
        tasks.append(_task(owner=owner, status=status, type=type_,
                           image_id="img-%d" % (n % 2),
                           created_at=t0 + datetime.timedelta(minutes=n)))
    return tasks


def test_task_get_all_viewer_and_filters(some_tasks):
    ids = [t["id"] for t in some_tasks]

    def listed(**kwargs):
        return [t["id"] for t in api.task_get_all(**kwargs)]

    assert listed(project_id="p1") == [ids[4], ids[3], ids[1], ids[0]]
    assert listed(project_id="p2") == [ids[2]]
    assert listed(is_admin=True) == ids[::-1]
    assert listed() == []
    assert listed(project_id="p1", filters={"status": "pending"}) == [
        ids[4], ids[0]]
    assert listed(project_id="p1", filters={"type": "api_image_import"}) == [
        ids[3]]
    assert listed(is_admin=True, filters={"image_id": "img-1"}) == [
        ids[3], ids[1]]
    with pytest.raises(exception.InvalidParameterValue):
        listed(filters={"colour": "red"})
    (one,) = api.task_get_all(project_id="p2")
    assert one == api.task_get(ids[2])


def test_task_get_all_sort_and_pages(some_tasks):
    ids = [t["id"] for t in some_tasks]
    asc = [t["id"] for t in api.task_get_all(is_admin=True,
                                             sort_dir="asc")]
    assert asc == ids
    by_status = [t["status"] for t in api.task_get_all(
        is_admin=True, sort_key="status", sort_dir="asc")]
    assert by_status == sorted(by_status)
    for limit in range(1, 6):
        pages, marker = [], None
        while True:
            page = api.task_get_all(is_admin=True, sort_key="status",
                                    limit=limit, marker=marker)
            if not page:
                break
            pages.extend(t["id"] for t in page)
            marker = page[-1]["id"]
        assert sorted(pages) == sorted(ids) and len(pages) == 5
    with pytest.raises(exception.NotFound):
        api.task_get_all(project_id="p2", marker=ids[0])
    with pytest.raises(exception.InvalidSortKey):
        api.task_get_all(sort_key="input")
    with pytest.raises(exception.InvalidSortDir):
        api.task_get_all(sort_dir="sideways")
