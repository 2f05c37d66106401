"""The metadefs catalog where an audit against real Glance 33 found ours
answering otherwise: a catalog Glance's own ``glance-manage db
load_metadefs`` wrote, served by ours after adopting the database, reads
exactly as Glance serves it; and a few answers of the API."""
import os
import shutil
import subprocess
import sys
import uuid

import pytest
import requests

from tests.functional.apiclient import ADMIN, Api, READER, new_project
from tests.functional.server import REPO_ROOT

NS = "/v2/metadefs/namespaces"


@pytest.fixture(scope="module")
def url(trusted_server):
    return trusted_server.url


def unique(prefix="Parity"):
    return "%s::%s" % (prefix, uuid.uuid4().hex[:10])


def test_marker_of_a_namespace_one_cannot_see_is_forbidden(url):
    admin = Api(url, new_project("adm"), ADMIN)
    reader = Api(url, new_project("r"), READER)
    hidden = unique()
    resp = admin.post(NS, json={"namespace": hidden, "owner": "someone"})
    assert resp.status_code == 201, resp.text
    resp = reader.get(NS, params={"marker": hidden})
    assert resp.status_code == 403, resp.text
    assert "is not visible" in resp.text
    assert reader.get(NS, params={"marker": unique()}).status_code == 404
    assert admin.get(NS, params={"marker": hidden}).status_code == 200


def test_a_tag_list_body_without_tags_is_refused_and_changes_nothing(url):
    admin = Api(url, new_project("adm"), ADMIN)
    name = unique()
    resp = admin.post(NS, json={"namespace": name, "tags": [{"name": "a"}]})
    assert resp.status_code == 201, resp.text
    resp = admin.post("%s/%s/tags" % (NS, name), json={})
    assert resp.status_code == 400, resp.text
    tags = admin.get("%s/%s/tags" % (NS, name)).json()["tags"]
    assert tags == [{"name": "a"}]


def test_object_create_and_update_answer_with_what_was_given(url):
    admin = Api(url, new_project("adm"), ADMIN)
    name = unique()
    assert admin.post(NS, json={"namespace": name}).status_code == 201
    base = "%s/%s/objects" % (NS, name)
    made = admin.post(base, json={"name": "o"})
    assert made.status_code == 201, made.text
    assert not {"required", "properties"} & set(made.json())
    changed = admin.put(base + "/o", json={"name": "o", "required": ["a"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["required"] == ["a"]
    assert "properties" not in changed.json()
    shown = admin.get(base + "/o").json()
    assert (shown["required"], shown["properties"]) == (["a"], {})
    # and so does a whole-namespace create, for the objects in it
    made = admin.post(NS, json={"namespace": unique(), "objects": [
        {"name": "bare"}, {"name": "full", "required": [],
                           "properties": {}}]})
    assert made.status_code == 201, made.text
    assert made.json()["objects"] == [
        {"name": "bare"}, {"name": "full", "required": [],
                           "properties": {}}]


def test_association_texts_in_a_whole_create_are_80_at_most(url):
    admin = Api(url, new_project("adm"), ADMIN)
    for key in ("prefix", "properties_target"):
        name = unique()
        resp = admin.post(NS, json={"namespace": name,
                                    "resource_type_associations": [
                                        {"name": "R", key: "p" * 81}]})
        assert resp.status_code == 400, resp.text
        assert admin.get("%s/%s" % (NS, name)).status_code == 404
    resp = admin.post(NS, json={"namespace": unique(),
                                "resource_type_associations": [
                                    {"name": "R", "prefix": "p" * 80}]})
    assert resp.status_code == 201, resp.text


def test_four_byte_characters_are_refused_as_glance_does(url):
    admin = Api(url, new_project("adm"), ADMIN)
    emoji = "\U0001F600"
    name = unique()
    resp = admin.post(NS, json={"namespace": name + emoji})
    assert resp.status_code == 400, resp.text
    assert "4 byte unicode" in resp.text
    # all or nothing: a nested tag with one leaves no namespace behind
    resp = admin.post(NS, json={"namespace": name,
                                "tags": [{"name": "t" + emoji}]})
    assert resp.status_code == 400, resp.text
    assert admin.get("%s/%s" % (NS, name)).status_code == 404
    assert admin.post(NS, json={"namespace": name}).status_code == 201
    base = "%s/%s" % (NS, name)
    for path, body in (
            ("/objects", {"name": "o", "description": emoji}),
            ("/objects", {"name": "o", "properties": {
                "p": {"title": emoji, "type": "string"}}}),
            ("/properties", {"name": "p", "title": emoji,
                             "type": "string"})):
        resp = admin.post(base + path, json=body)
        assert resp.status_code == 400, (path, resp.text)
    resp = admin.put(base, json={"namespace": name, "description": emoji})
    assert resp.status_code == 400, resp.text
    # (as Glance: not checked in a tag list or an association)
    assert admin.post(base + "/tags", json={
        "tags": [{"name": emoji}]}).status_code == 201


def test_a_name_beyond_latin1_gets_a_percent_encoded_location(url):
    admin = Api(url, new_project("adm"), ADMIN)
    name = "\u540d\u524d-%s" % uuid.uuid4().hex[:8]
    resp = admin.post(NS, json={"namespace": name})
    assert resp.status_code == 201, resp.text
    assert resp.json()["namespace"] == name
    assert resp.headers["Location"].endswith(
        "/v2/metadefs/namespaces/%E5%90%8D%E5%89%8D-" + name[3:])


# --- a catalog written by Glance 33 ----------------------------------------

def _oracle():
    from tools.differential import oracle
    try:
        return oracle.ensure_venv()
    except oracle.OracleUnavailable as e:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Glance 33 virtualenv: %s" % e)


def _without_times(doc):
    if isinstance(doc, dict):
        return {k: _without_times(v) for k, v in doc.items()
                if k not in ("created_at", "updated_at")}
    if isinstance(doc, list):
        return [_without_times(v) for v in doc]
    return doc


@pytest.mark.slow
def test_catalog_loaded_by_glance_is_served_as_glance_serves_it(tmp_path):
    from tools.differential import oracle, servers
    venv = _oracle()
    theirs, ours = tmp_path / "glance.sqlite", tmp_path / "ours.sqlite"
    conf = tmp_path / "glance-manage.conf"
    conf.write_text("[database]\nconnection = sqlite:///%s\n" % theirs)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)
    for args in (("db", "sync"), ("db", "load_metadefs", "--path",
                                  str(venv / "etc" / "glance" / "metadefs"))):
        done = subprocess.run(
            [str(venv / "bin" / "glance-manage"), "--config-file", str(conf),
             *args], capture_output=True, text=True, env=env, cwd=str(venv),
            timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    shutil.copy(theirs, ours)
    conf = tmp_path / "ours.conf"
    conf.write_text("[database]\nconnection = sqlite:///%s\n" % ours)
    done = subprocess.run(
        [sys.executable, "-m", "glance.cmd.manage", "--config-file",
         str(conf), "db", "sync"], capture_output=True, text=True,
        cwd=str(REPO_ROOT), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    paste = servers.trusted_paste(oracle.paste_file(venv).read_text())
    glance = servers.GlanceOracle(
        tmp_path / "glance", venv, oracle.find_uwsgi(venv, log=print), paste,
        {"database": {"connection": "sqlite:///%s" % theirs}})
    mine = servers.OurServer(
        tmp_path / "ours", paste,
        {"database": {"connection": "sqlite:///%s" % ours}})
    headers = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p",
               "X-User-Id": "u", "X-Roles": "admin,member,reader"}
    try:
        glance.start()
        mine.start()

        def both(path):
            answers = [requests.get(srv.url + path, headers=headers,
                                    timeout=60) for srv in (glance, mine)]
            assert [a.status_code for a in answers] == [200, 200], path
            return [_without_times(a.json()) for a in answers]

        listed, listed_ours = both(NS + "?limit=100")
        assert len(listed["namespaces"]) > 20   # Glance's whole catalog
        assert listed_ours == listed
        paths = ["/v2/metadefs/resource_types"]
        for namespace in listed["namespaces"]:
            base = "%s/%s" % (NS, namespace["namespace"])
            paths += [base, base + "/objects", base + "/properties",
                      base + "/tags", base + "/resource_types"]
            paths += ["%s?resource_type=%s" % (base, assoc["name"]) for assoc
                      in namespace.get("resource_type_associations", ())]
        differing = []
        for path in paths:
            theirs_doc, ours_doc = both(path)
            if ours_doc != theirs_doc:
                differing.append(path)
        assert differing == []
    finally:
        glance.stop()
        mine.stop()


def test_not_found_and_bad_body_answers_are_worded_as_glance(url):
    admin = Api(url, new_project("adm"), ADMIN)
    reader = Api(url, new_project("r"), READER)
    missing, hidden = unique(), unique()
    assert admin.post(NS, json={"namespace": hidden,
                                "owner": "someone"}).status_code == 201
    was_not_found = "Metadata definition namespace=%s was not found."
    cases = [
        (admin, "GET", missing, "", was_not_found % missing),
        (reader, "GET", hidden, "", "The resource could not be found."),
        (admin, "GET", missing, "/objects", was_not_found % missing),
        (reader, "GET", hidden, "/objects", "Namespace %s not found"
         % hidden),
        (admin, "GET", missing, "/properties", "Namespace %s not found"
         % missing),
        (admin, "GET", missing, "/tags", "Namespace %s not found" % missing),
        (admin, "DELETE", missing, "", "Namespace %s not found" % missing),
        (reader, "GET", hidden, "/resource_types", "Namespace %s not found"
         % hidden),
    ]
    for api, method, name, path, text in cases:
        resp = api.request(method, "%s/%s%s" % (NS, name, path))
        assert resp.status_code == 404, (method, path, resp.text)
        assert text in resp.text, (method, path, resp.text)
    public = unique()
    assert admin.post(NS, json={"namespace": public, "visibility": "public",
                                "properties": {"p": {"title": "P",
                                                     "type": "string"}}}
                      ).status_code == 201
    resp = reader.get("%s/%s/properties/p" % (NS, public),
                      params={"resource_type": "Nothing"})
    assert resp.status_code == 404
    assert "resource-type with name=Nothing, was not found" in resp.text
    for raw in (b"null", b'"text"', b"3"):
        resp = admin.post(NS, data=raw,
                          headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, (raw, resp.text)
        assert "Unexpected body type. Expected list/dict." in resp.text
