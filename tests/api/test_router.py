"""Routing and the response envelope: request ids, JSON errors, 404/405, security headers and
the access log."""

import re

import pytest

import harness

REQ_ID = re.compile(r"^[0-9A-Za-z_-]{8,64}$")


def assert_json_error(r, status, code):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


SAMPLE_REQUESTS = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/assets/style.css"),
    ("GET", "/no/such/page"),
    ("GET", "/api/no-such-endpoint"),
    ("POST", "/healthz"),
    ("DELETE", "/api/no-such-endpoint"),
    ("HEAD", "/healthz"),
    ("GET", "/api/%zz"),
]


@pytest.mark.parametrize("method,path", SAMPLE_REQUESTS)
def test_every_response_has_request_id_and_security_headers(server, method, path):
    r = server.request(method, path)
    rid = r.headers.get("x-request-id")
    assert rid and REQ_ID.match(rid), (r.status, r.headers)
    csp = r.headers.get("content-security-policy", "")
    assert "frame-ancestors" in csp, r.headers
    assert r.headers.get("x-content-type-options", "").lower() == "nosniff"
    assert r.headers.get("referrer-policy"), r.headers


def test_request_ids_are_unique(server):
    ids = {server.get("/healthz").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


def test_client_cannot_choose_the_request_id(server):
    r = server.get("/healthz", headers={"X-Request-Id": "attacker-chosen"})
    assert r.headers.get_all("x-request-id") != ["attacker-chosen"]
    assert len(r.headers.get_all("x-request-id")) == 1


def test_unknown_api_path_is_json_404(server):
    r = server.get("/api/no-such-endpoint")
    assert_json_error(r, 404, "not_found")


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/products/1/nope/deeper", "/api/healthz"])
def test_other_unknown_api_paths_are_json_404(server, path):
    assert_json_error(server.get(path), 404, "not_found")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_unknown_api_path_with_any_method_is_json_404(server, method):
    r = server.request(method, "/api/no-such-endpoint", json={"a": 1})
    assert_json_error(r, 404, "not_found")


def test_api_responses_are_not_cached(server):
    r = server.get("/api/no-such-endpoint")
    assert "no-store" in r.headers.get("cache-control", "")


def test_known_path_wrong_method_is_405_with_allow(server):
    r = server.post("/healthz", body=b"")
    assert_json_error(r, 405, "method_not_allowed")
    allow = [m.strip() for m in r.headers.get("allow", "").split(",")]
    assert "GET" in allow, r.headers
    assert "POST" not in allow


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_metrics_wrong_method_is_405(server, method):
    r = server.request(method, "/metrics")
    assert_json_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers.get("allow", "")


def test_head_on_get_route(server):
    r = server.request("HEAD", "/healthz")
    assert r.status == 200
    assert r.body == b""
    assert r.headers.get("content-type", "").startswith("application/json")


def test_unknown_page_is_html_404(server):
    r = server.get("/no/such/page")
    assert r.status == 404
    assert r.headers.get("content-type", "").startswith("text/html"), r.headers
    assert b"<" in r.body and b'"error"' not in r.body


@pytest.mark.parametrize("path", ["/index.html", "/no/such/page"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_405_on_a_page_path_carries_allow(server, path, method):
    # RFC 9110 15.5.6: a 405 MUST carry Allow. Pages and static files answer GET and HEAD only.
    r = server.request(method, path, body=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 405, r
    assert r.error_code() == "method_not_allowed"
    allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
    assert {"GET", "HEAD"} <= allow, r.headers
    assert method not in allow


def test_access_log_line_matches_request_id(server):
    r = server.get("/api/no-such-endpoint?x=1")
    rid = r.headers["x-request-id"]
    rec = server.wait_for_log(lambda l: l.get("msg") == "request" and l.get("req_id") == rid)
    assert rec["method"] == "GET"
    assert rec["path"] == "/api/no-such-endpoint"
    assert rec["status"] == 404
    assert rec["bytes"] == len(r.body)
    assert isinstance(rec["us"], int) and rec["us"] >= 0
    assert rec["level"] == "info"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", rec["ts"]), rec


def test_every_log_line_is_json(server):
    for path in ("/healthz", "/nope", "/api/nope", "/"):
        server.get(path)
    server.raw(b"NONSENSE\r\n\r\n", timeout=2)
    server.stop()
    lines = server.log_lines()  # raises on a non-JSON line
    assert lines, "nothing logged"
    for rec in lines:
        assert {"ts", "level", "msg"} <= set(rec), rec
        assert rec["level"] in ("debug", "info", "warn", "error"), rec
    paths = [l["path"] for l in lines if l["msg"] == "request"]
    for path in ("/healthz", "/nope", "/api/nope", "/"):
        assert path in paths


def test_query_string_is_not_logged_as_path(server):
    r = server.get("/healthz?token=secret-token-value")
    assert r.status == 200
    rid = r.headers["x-request-id"]
    server.wait_for_log(lambda l: l.get("req_id") == rid)
    assert "secret-token-value" not in server.log_text(), "query strings carry order tokens"


@pytest.mark.parametrize("path,logged", [("/%c3%a9", "/\u00e9"), ("/a%0ab", "/a\nb"),
                                         ("/api/%e4%b8%ad", "/api/\u4e2d")])
def test_access_log_for_unusual_but_valid_paths(server, path, logged):
    r = server.get(path)
    assert r.status == 404
    rid = r.headers["x-request-id"]
    # wait_for_log parses every line as JSON: a raw newline from %0a would break that.
    rec = server.wait_for_log(lambda l: l.get("msg") == "request" and l.get("req_id") == rid)
    assert rec["status"] == 404 and rec["method"] == "GET", rec
    assert rec["path"] == logged, rec


@pytest.mark.parametrize("path", ["/%ff", "/api/%ff%fe", "/%c0%ae%c0%ae/x"])
def test_access_log_complete_for_non_utf8_path(server, path):
    # A path JSON cannot hold as decoded must still give a full access log line.
    r = server.get(path)
    assert r.status in (400, 404)
    rid = r.headers["x-request-id"]
    rec = server.wait_for_log(lambda l: l.get("msg") == "request" and l.get("req_id") == rid)
    assert rec.get("method") == "GET", rec
    assert rec.get("status") == r.status, rec
    assert rec.get("bytes") == len(r.body), rec
    assert isinstance(rec.get("us"), int), rec
    assert isinstance(rec.get("path"), str) and rec["path"].startswith("/"), rec


def test_raw_non_utf8_bytes_in_target_are_logged(server):
    data = server.raw(b"GET /\xff\xfe/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = harness.parse_raw_response(data)
    assert r is not None and r.status in (400, 404), data[:200]
    rid = r.headers["x-request-id"]
    rec = server.wait_for_log(lambda l: l.get("msg") == "request" and l.get("req_id") == rid)
    assert rec.get("status") == r.status and rec.get("method") == "GET", rec


@pytest.mark.parametrize("target,expect", [
    ("http://{host}/healthz", 200),
    ("HTTP://{host}/healthz", 200),
    ("http://{host}/api/nope", 404),
    ("http://{host}", 200),  # no path: "/" (the index page)
])
def test_absolute_form_request_target_is_accepted(server, target, expect):
    # RFC 9112 3.2.2: a server MUST accept the absolute-form.
    host = f"127.0.0.1:{server.port}"
    req = f"GET {target.format(host=host)} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    r = harness.parse_raw_response(server.raw(req.encode()))
    assert r is not None and r.status == expect, (target, r)
    if target.endswith("/healthz"):
        assert r.json() == {"status": "ok"}
    if expect == 404:
        assert r.error_code() == "not_found"


def test_absolute_form_cannot_escape_static_dir(server):
    host = f"127.0.0.1:{server.port}"
    for target in (f"http://{host}/../../etc/passwd", f"http://{host}/%2e%2e/%2e%2e/etc/passwd"):
        req = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        data = server.raw(req.encode())
        r = harness.parse_raw_response(data)
        assert r is not None and r.status in (400, 404), (target, data[:200])
        assert b"root:" not in data
