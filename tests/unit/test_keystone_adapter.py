"""keystonemiddleware's authtoken with the pass-through
(glance.common.keystone_adapter): every answer as its own."""
import pytest
import webob
import webob.exc
from keystonemiddleware import auth_token

from glance.common import filter_adoption
from glance.common import keystone_adapter

KEYSTONE = "http://keystone.example:5000"


def _app(status="200 OK", location=None, raise_=None, body=b"answer"):
    seen = []

    def app(environ, start_response):
        seen.append(dict(environ))
        if raise_ is not None:
            raise raise_
        headers = [("Content-Type", "text/plain"),
                   ("Content-Length", str(len(body)))]
        if location:
            headers.append(("Location", location))
        start_response(status, headers)
        return [body]
    app.seen = seen
    return app


def _filter(app, adopted, delay=True):
    middleware = auth_token.AuthProtocol(app, {
        "delay_auth_decision": str(delay).lower(),
        "www_authenticate_uri": KEYSTONE})
    if adopted:
        assert filter_adoption.adopt_filters(middleware) == 1
        assert type(middleware) is keystone_adapter.AuthProtocol
    return middleware


def _answer(adopted, method="GET", headers=None, delay=True, **app_kw):
    app = _app(**app_kw)
    req = webob.Request.blank("/v2/images", method=method,
                              headers=headers or {})
    resp = req.get_response(_filter(app, adopted, delay))
    return resp, app.seen


CASES = {
    "no token, app answers": {},
    "no token, app refuses (401)": {"status": "401 Unauthorized"},
    "relative Location": {"status": "201 Created", "location": "/v2/x"},
    "HEAD": {"method": "HEAD"},
    "app raises an HTTP error": {"raise_": webob.exc.HTTPForbidden()},
    "no token, no delayed decision": {"delay": False},
}


@pytest.mark.parametrize("case", CASES)
def test_every_answer_is_keystonemiddleware_s_own(case):
    theirs, their_seen = _answer(False, **CASES[case])
    ours, our_seen = _answer(True, **CASES[case])
    assert ours.status == theirs.status
    assert ours.headerlist == theirs.headerlist
    assert ours.body == theirs.body
    # the app saw the same request (the identity headers it was given)
    assert [_identity(e) for e in our_seen] == \
        [_identity(e) for e in their_seen]


def _identity(environ):
    return {k: v for k, v in environ.items()
            if k.startswith("HTTP_X_") or k == "REQUEST_METHOD"}


def test_what_the_cases_show():
    refused, _ = _answer(True, status="401 Unauthorized")
    assert refused.headers["WWW-Authenticate"] == 'Keystone uri="%s"' \
        % KEYSTONE
    passed, seen = _answer(True)
    assert passed.body == b"answer" and \
        "WWW-Authenticate" not in passed.headers
    assert seen[0]["HTTP_X_IDENTITY_STATUS"] == "Invalid"
    moved, _ = _answer(True, status="201 Created", location="/v2/x")
    assert moved.headers["Location"] == "http://localhost/v2/x"
    head, _ = _answer(True, method="HEAD")
    assert head.body == b""
    early, seen = _answer(True, delay=False)
    assert early.status_int == 401 and seen == []


def test_spoofed_identity_headers_are_removed():
    _resp, seen = _answer(True, headers={"X-Roles": "admin",
                                          "X-Project-Id": "victim"})
    assert "HTTP_X_ROLES" not in seen[0]
    assert "HTTP_X_PROJECT_ID" not in seen[0]


def test_the_walk_goes_on_past_authtoken_and_leaves_subclasses():
    inner = _filter(_app(), adopted=False)
    outer = _filter(inner, adopted=False)
    assert filter_adoption.adopt_filters(outer) == 2

    class Custom(auth_token.AuthProtocol):
        pass
    custom = Custom(_app(), {"www_authenticate_uri": KEYSTONE})
    assert filter_adoption.adopt_filters(custom) == 0
    assert type(custom) is Custom


@pytest.mark.parametrize("name", ["X-Roles", "x-roles", "Content-Type",
                                  "content-length", "OpenStack-System-Scope"])
def test_headers_map_names_as_webob_does(name):
    import webob.headers
    theirs_env, ours_env = {}, {}
    theirs = webob.headers.EnvironHeaders(theirs_env)
    ours = keystone_adapter._Headers(ours_env)
    for view in (theirs, ours):
        assert name not in view and view.get(name, "d") == "d"
        assert view.pop(name, None) is None
        with pytest.raises(KeyError):
            view.pop(name)
        view[name] = "v"
        assert name in view and view[name] == view.get(name) == "v"
    assert ours_env == theirs_env
    assert ours.pop(name) == theirs.pop(name) == "v"
    assert ours_env == theirs_env == {}
    ours[name] = theirs[name] = "w"
    del ours[name]
    del theirs[name]
    assert ours_env == theirs_env == {}


def test_the_request_keeps_one_headers_view():
    request = keystone_adapter._Request({"HTTP_X_AUTH_TOKEN": "t"})
    assert type(request.headers) is keystone_adapter._Headers
    assert request.headers is request.headers
    assert request.user_token == "t"


def test_forged_identity_headers_go_as_keystonemiddleware_removes_them():
    from keystonemiddleware.auth_token import _request
    names = list(_request._AuthTokenRequest._all_auth_headers(
        _request._AuthTokenRequest))
    assert len(names) > 20
    environ = {"HTTP_" + n.upper().replace("-", "_"): "forged"
               for n in names}
    environ.update(HTTP_X_AUTH_TOKEN="t", HTTP_ACCEPT="*/*",
                   CONTENT_TYPE="text/plain")
    theirs, ours = dict(environ), dict(environ)
    _request._AuthTokenRequest(theirs).remove_auth_headers()
    keystone_adapter._Request(ours).remove_auth_headers()
    assert ours == theirs
    assert set(ours) == {"HTTP_X_AUTH_TOKEN", "HTTP_ACCEPT", "CONTENT_TYPE"}


def test_keystonemiddleware_has_what_the_adapter_relies_on():
    # fails when an upgrade drops one: the filter is then left as it is
    assert keystone_adapter.missing_internals() == []


def test_without_those_parts_the_filter_is_left_as_it_is(monkeypatch):
    monkeypatch.setattr(keystone_adapter, "missing_internals",
                        lambda: ["_AuthTokenRequest._all_auth_headers"])
    middleware = _filter(_app(), adopted=False)
    assert filter_adoption.adopt_filters(middleware) == 0
    assert type(middleware) is auth_token.AuthProtocol
    resp = webob.Request.blank("/").get_response(middleware)
    assert resp.status_int == 200


def test_a_filter_without_its_app_attribute_is_left_as_it_is():
    middleware = _filter(_app(), adopted=False)
    del middleware._app
    assert not keystone_adapter.adoptable(middleware)
