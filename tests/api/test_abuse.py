"""A hostile client against the limits: sign-in names that try to fill the rate limiter, bodies
sent before (or without) authentication, bodies to routes that take none, and many bodies at
once against the shared budget. The server must refuse from the request head and stay small."""

import socket
import time

import pytest

import harness
from fakes.shop_setup import ShopAdmin

MAX_BUFFERED = 8192


def rss_kib(srv) -> int:
    with open(f"/proc/{srv.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def under_asan(srv) -> bool:
    with open(f"/proc/{srv.pid}/maps") as f:
        return "libasan" in f.read()


def head(method: str, path: str, *lines: str) -> bytes:
    text = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(l + "\r\n" for l in lines) + "\r\n"
    return text.encode()


def answer_to_head(srv, data: bytes, timeout: float = 5.0):
    """Sends only a request head (its body never comes) and returns the parsed answer."""
    with srv.connect(timeout) as s:
        s.sendall(data)
        got = harness.read_until_close(s, timeout, until=b"HTTP/1.1")
    return harness.parse_raw_response(got)


def assert_error(r, status, code):
    assert r is not None, "no answer to the head alone"
    assert r.status == status and r.error_code() == code, r
    assert r.headers.get("x-request-id")


# ---- sign-in names -----------------------------------------------------------------------

def test_huge_user_names_are_refused_early_and_memory_stays_bounded(server):
    """300 sign-ins with 256 KiB names once kept ~76 MiB (every name stored for 900 s). Now a
    name longer than any admin's is refused before the limiter or argon2 see it."""
    name = "u" * (256 * 1024)
    for i in range(5):  # warm up: allocator arenas, the limiter's table pages
        server.post("/api/admin/login", json={"username": f"warm{i}", "password": "x" * 12}, use_cookies=False)
    before = rss_kib(server)
    for i in range(300):
        r = server.post("/api/admin/login", json={"username": f"{i:06d}{name}", "password": "x" * 12},
                        use_cookies=False)
        assert_error(r, 400, "invalid_request")
        assert "username" in r.json()["error"]["message"]
    if under_asan(server):
        return  # ASan's quarantine keeps every freed body: RSS says nothing there
    grown = rss_kib(server) - before
    assert grown < 24 * 1024, f"RSS grew by {grown} KiB over 300 huge sign-in names"


def test_name_at_the_cap_is_an_ordinary_failed_sign_in(server):
    r = server.post("/api/admin/login", json={"username": "a" * 64, "password": "x" * 12}, use_cookies=False)
    assert_error(r, 401, "unauthorized")
    r = server.post("/api/admin/login", json={"username": "a" * 65, "password": "x" * 12}, use_cookies=False)
    assert_error(r, 400, "invalid_request")


def test_refused_attempts_from_one_address_never_open_the_limiter(server):
    """Past the address's budget every attempt is asked a challenge, whatever name it tries: an
    unanswered attempt stores nothing, so new names cannot push the address out of the table."""
    statuses = []
    for i in range(40):
        r = server.post("/api/admin/login", json={"username": f"guess{i}", "password": "x" * 12},
                        use_cookies=False)
        statuses.append(r.status)
    assert statuses[:5] == [401] * 5, statuses
    assert set(statuses[5:]) == {428}, statuses
    server.add_admin("realadmin", "correct horse battery staple")
    body = {"username": "realadmin", "password": "correct horse battery staple"}
    r = server.post("/api/admin/login", json=body, use_cookies=False)
    assert r.status == 428, r
    # No lock-out: the right password with the challenge solved signs in.
    ch = r.json()["challenge"]
    r = server.post("/api/admin/login", json=body, use_cookies=False,
                    headers={"X-Challenge": harness.solve_challenge(ch["token"], ch["difficulty"])})
    assert r.status == 200, r


# ---- bodies before authentication --------------------------------------------------------

def test_anonymous_64_mib_upload_is_401_before_the_body(server):
    r = answer_to_head(server, head("POST", "/api/admin/products/1/keys", "Content-Type: text/plain",
                                    f"Content-Length: {64 * 1024 * 1024}"))
    assert_error(r, 401, "unauthorized")


def test_anonymous_upload_with_expect_continue_gets_no_100(server):
    with server.connect(5) as s:
        s.sendall(head("POST", "/api/admin/products/1/keys", "Content-Type: text/plain",
                       "Content-Length: 1000000", "Expect: 100-continue"))
        got = harness.read_until_close(s, 5, until=b"HTTP/1.1")
    assert not got.startswith(b"HTTP/1.1 100"), got[:100]
    assert_error(harness.parse_raw_response(got), 401, "unauthorized")


def test_upload_without_csrf_is_403_before_the_body(server):
    admin = ShopAdmin(server)
    pid = admin.product()
    r = answer_to_head(server, head("POST", f"/api/admin/products/{pid}/keys", "Content-Type: text/plain",
                                    f"Cookie: {admin.cookie}", "Content-Length: 1000000"))
    assert_error(r, 403, "forbidden")
    r = answer_to_head(server, head("POST", f"/api/admin/products/{pid}/keys", "Content-Type: text/plain",
                                    f"Cookie: {admin.cookie}", "X-CSRF-Token: " + "0" * 64,
                                    "Content-Length: 1000000"))
    assert_error(r, 403, "forbidden")


def test_every_admin_write_is_refused_from_the_head(server):
    for method, path in [("POST", "/api/admin/products"), ("PATCH", "/api/admin/products/1"),
                         ("POST", "/api/admin/coupons"), ("POST", "/api/admin/orders/X/deliver"),
                         ("POST", "/api/admin/categories")]:
        r = answer_to_head(server, head(method, path, "Content-Type: application/json", "Content-Length: 500000"))
        assert_error(r, 401, "unauthorized")


def test_signed_in_upload_over_max_upload_is_413_from_the_head(make_server):
    srv = make_server({"server": {"max_upload": 4096}})
    admin = ShopAdmin(srv)
    pid = admin.product()
    r = answer_to_head(srv, head("POST", f"/api/admin/products/{pid}/keys", "Content-Type: text/plain",
                                 f"Cookie: {admin.cookie}", f"X-CSRF-Token: {admin.csrf}", "Content-Length: 4097"))
    assert_error(r, 413, "payload_too_large")
    # The same admin, a body that fits: the upload goes through the frame as before.
    r = admin.call("POST", f"/api/admin/products/{pid}/keys", body="K-1\nK-2\n", headers={"Content-Type": "text/plain"})
    assert r.status == 200 and r.json()["added"] == 2, r


# ---- routes that take no body ------------------------------------------------------------

@pytest.mark.parametrize("method,path", [("GET", "/api/products"), ("GET", "/healthz"), ("GET", "/"),
                                         ("HEAD", "/api/config")])
def test_body_to_a_route_without_one_is_413_at_once(server, method, path):
    check = (lambda r: assert_error(r, 413, "payload_too_large")) if method != "HEAD" else \
        (lambda r: r is not None and r.status == 413 or pytest.fail(repr(r)))  # HEAD: no body
    check(answer_to_head(server, head(method, path, "Content-Length: 10")))
    check(answer_to_head(server, head(method, path, "Transfer-Encoding: chunked")))


def test_bodiless_admin_routes_refuse_a_body(server):
    admin = ShopAdmin(server)
    pid = admin.product()
    auth = (f"Cookie: {admin.cookie}", f"X-CSRF-Token: {admin.csrf}")
    r = answer_to_head(server, head("DELETE", f"/api/admin/products/{pid}", *auth, "Content-Length: 10"))
    assert_error(r, 413, "payload_too_large")
    r = answer_to_head(server, head("POST", "/api/admin/logout", *auth, "Content-Length: 10"))
    assert_error(r, 413, "payload_too_large")
    # Without a body they still work: the session is still there to log out of.
    assert admin.call("GET", "/api/admin/session").status == 200
    assert admin.call("POST", "/api/admin/logout").status == 200
    assert admin.call("GET", "/api/admin/session").status == 401


def test_get_without_body_is_unchanged(server):
    r = answer_to_head(server, head("GET", "/api/products", "Content-Length: 0", "Connection: close"))
    assert r.status == 200, r


# ---- the shared body budget --------------------------------------------------------------

@pytest.fixture
def tight(make_server):
    return make_server({"server": {"max_body": 4096, "max_buffered": MAX_BUFFERED}})


LOGIN = "/api/admin/login"  # takes a body, needs no session, answers "{}" with a 400


def hold_budget(srv, n=2, length=4000):
    """n connections that each announce `length` body bytes and send none. Each asks for
    100-continue, which the server sends only once it has taken the head (and reserved the
    bytes), so the budget is known to be held when this returns."""
    holders = []
    for _ in range(n):
        s = srv.connect(10)
        s.sendall(head("POST", LOGIN, "Content-Type: application/json", f"Content-Length: {length}",
                       "Expect: 100-continue"))
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            assert chunk, got
            got += chunk
        assert got.startswith(b"HTTP/1.1 100"), got
        holders.append(s)
    return holders


def until_status(fn, want, timeout=10.0):
    """Calls fn until its answer has status want (the server takes the holders' heads in its
    own time) or the deadline passes; returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r is not None and r.status == want or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def test_bodies_past_the_shared_budget_are_503_with_retry_after(tight):
    holders = hold_budget(tight)  # 8,000 of the 8,192 bytes promised
    try:
        r = answer_to_head(tight, head("POST", LOGIN, "Content-Type: application/json", "Content-Length: 1000"))
        assert_error(r, 503, "unavailable")
        assert int(r.headers.get("retry-after")) > 0
        # Bodiless requests are not held back by the budget.
        assert tight.get("/api/products").status == 200
    finally:
        for s in holders:
            s.close()
    # Once the holders are gone their share comes back (the server notices the close).
    login = lambda: tight.post(LOGIN, body=b"{}", headers={"Content-Type": "application/json"}, use_cookies=False)
    r = until_status(login, 400)
    assert r.status == 400 and r.error_code() == "invalid_request", r


def test_chunked_bodies_count_against_the_shared_budget(tight):
    holders = hold_budget(tight)
    try:
        # 300 chunked bytes fit max_body but not what is left of the budget.
        req = head("POST", LOGIN, "Content-Type: application/json", "Transfer-Encoding: chunked",
                   "Connection: close") + b"%x\r\n%s\r\n0\r\n\r\n" % (300, b"a" * 300)
        assert_error(tight.raw_request(req, timeout=5), 503, "unavailable")
    finally:
        for s in holders:
            s.close()
