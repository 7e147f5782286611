"""Admin accounts, sign-in, sessions, rate limits and the admin guard (session + CSRF).

Black-box against the real binary. Where a behaviour depends on time passing (idle and absolute
session expiry), the test moves the session's timestamps back in the server's own database
instead of sleeping: the server reads them on every request, so the effect is the same.
"""

import hashlib
import json
import re
import secrets
import threading
import time
from pathlib import Path

import pytest

import harness

USER = "root"
PASSWORD = "correct horse battery staple"
COOKIE = "cs_admin"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


# ---- helpers --------------------------------------------------------------------------------

def assert_error(r, status, code):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]["message"]


def login(srv, username=USER, password=PASSWORD, *, ip=None, **kw):
    headers = dict(kw.pop("headers", {}) or {})
    if ip:
        headers["X-Forwarded-For"] = ip
    return srv.post("/api/admin/login", json={"username": username, "password": password},
                    headers=headers, **kw)


def cookie_from(r):
    """The cs_admin value set by a response (None when it sets none)."""
    for sc in r.headers.get_all("set-cookie"):
        name, _, rest = sc.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0]
    return None


def with_cookie(cookie):
    return {"Cookie": f"{COOKIE}={cookie}"}


def start(make_server, users=((USER, PASSWORD),), **security):
    cfg = {"security": security} if security else None
    srv = make_server(cfg)
    for u, p in users:
        srv.add_admin(u, p)
    return srv


def signed_in(make_server, **security):
    """A server with one admin, signed in through the server's cookie jar; returns (srv, csrf)."""
    srv = start(make_server, **security)
    r = login(srv)
    assert r.status == 200, r
    return srv, r.json()["csrf_token"]


def query_db(srv, sql, args=()):
    c = srv.db()
    try:
        return [tuple(row) for row in c.execute(sql, args).fetchall()]
    finally:
        c.close()


def exec_db(srv, sql, args=()):
    c = srv.db()
    try:
        with c:
            c.execute(sql, args)
    finally:
        c.close()


def raw_db_bytes(srv):
    data = b""
    for suffix in ("", "-wal", "-journal"):
        p = Path(str(srv.db_path) + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


def session_status(srv, cookie):
    return srv.get("/api/admin/session", headers=with_cookie(cookie), use_cookies=False).status


def snapshot(srv):
    """Everything an admin write could change."""
    out = {}
    for table in ("categories", "products", "card_keys", "audit_log", "sessions", "admins"):
        out[table] = query_db(srv, f"SELECT * FROM {table} ORDER BY 1")
    return out


# ---- `cardshop admin add` -------------------------------------------------------------------

def test_admin_add_stores_an_argon2id_hash_never_the_password(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path)
    srv.migrate()
    p = srv.cli("admin", "add", "alice", input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    q = srv.cli("admin", "add", "bob", input=PASSWORD + "\n")
    assert q.returncode == 0, q.stderr
    rows = dict(query_db(srv, "SELECT username, password_hash FROM admins"))
    assert set(rows) == {"alice", "bob"}
    for h in rows.values():
        assert ARGON2ID.match(h), h
    assert rows["alice"] != rows["bob"], "same password must give different hashes (salt)"
    raw = raw_db_bytes(srv)
    assert PASSWORD.encode() not in raw, "plain password found in the database files"
    for out in (p.stdout, p.stderr, q.stdout, q.stderr):
        assert PASSWORD not in out


def test_admin_add_refuses_an_existing_user_and_keeps_the_old_password(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path)
    srv.migrate()
    srv.add_admin("alice", PASSWORD)
    before = query_db(srv, "SELECT id, username, password_hash FROM admins")
    p = srv.cli("admin", "add", "alice", input="another password entirely\n")
    assert p.returncode != 0
    assert "exist" in p.stderr.lower(), p.stderr
    assert p.stderr.strip().count("\n") == 0, "one-line message"
    assert query_db(srv, "SELECT id, username, password_hash FROM admins") == before


@pytest.mark.parametrize("username", [
    "", "has space", "x" * 65, "semi;colon", "slash/name", "ünïcode", "quote'name", "tab\tname",
])
def test_admin_add_refuses_a_bad_username(tmp_path, cardshop_bin, username):
    srv = harness.CardshopServer(tmp_path)
    srv.migrate()
    p = srv.cli("admin", "add", username, input=PASSWORD + "\n")
    assert p.returncode != 0, p
    assert p.stderr.strip(), "needs a message"
    assert query_db(srv, "SELECT count(*) FROM admins") == [(0,)]


def test_admin_add_accepts_every_allowed_username_character(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path)
    srv.migrate()
    for name in ("Az09_.@-", "x" * 64, "a"):
        p = srv.cli("admin", "add", name, input=PASSWORD + "\n")
        assert p.returncode == 0, (name, p.stderr)
    assert sorted(r[0] for r in query_db(srv, "SELECT username FROM admins")) == \
        sorted(["Az09_.@-", "x" * 64, "a"])


@pytest.mark.parametrize("password,ok", [
    ("x" * 11, False),
    ("é" * 5 + "x", False),       # 6 characters, 11 bytes: the limit is in bytes
    ("x" * 12, True),
    ("é" * 6, True),              # 6 characters, 12 bytes
    ("x" * 1000, True),
    ("x" * 1001, False),
    ("x" * 5000, False),
])
def test_admin_add_password_length_is_12_to_1000_bytes(tmp_path, cardshop_bin, password, ok):
    srv = harness.CardshopServer(tmp_path)
    srv.migrate()
    p = srv.cli("admin", "add", "alice", input=password + "\n")
    n = query_db(srv, "SELECT count(*) FROM admins")[0][0]
    if ok:
        assert p.returncode == 0, p.stderr
        assert n == 1
    else:
        assert p.returncode != 0, p
        assert p.stderr.strip(), "needs a message"
        assert n == 0


def test_admin_add_password_line_end_is_not_part_of_the_password(make_server):
    srv = make_server()
    p = srv.cli("admin", "add", "alice", input="sesame open please\r\n")
    assert p.returncode == 0, p.stderr
    assert login(srv, "alice", "sesame open please").status == 200
    assert login(srv, "alice", "sesame open please\r").status == 401


# ---- login ----------------------------------------------------------------------------------

def test_login_returns_csrf_and_a_hardened_cookie(make_server):
    srv = start(make_server, session_max_ttl=3600)
    r = login(srv)
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json")
    body = r.json()
    assert set(body) == {"csrf_token", "username"}, body
    assert body["username"] == USER
    assert HEX64.match(body["csrf_token"]), body
    cookies = [c for c in r.headers.get_all("set-cookie") if c.startswith(COOKIE + "=")]
    assert len(cookies) == 1, r.headers
    m = re.match(r"^cs_admin=([0-9a-f]{64}); Path=/; Max-Age=(\d+); HttpOnly; SameSite=Strict$",
                 cookies[0])
    assert m, cookies[0]
    assert int(m.group(2)) == 3600
    assert "secure" not in cookies[0].lower(), "plain-http base_url: no Secure flag"
    assert m.group(1) != body["csrf_token"]
    assert PASSWORD not in srv.log_text(), "password in the log"


def test_login_cookie_is_secure_when_base_url_is_https(make_server):
    srv = make_server({"server": {"base_url": "https://shop.example.com"}})
    srv.add_admin(USER, PASSWORD)
    r = login(srv)
    assert r.status == 200, r
    sc = [c for c in r.headers.get_all("set-cookie") if c.startswith(COOKIE + "=")][0]
    attrs = [a.strip() for a in sc.split(";")]
    assert "Secure" in attrs, sc
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs, sc


def test_each_login_gets_a_fresh_random_cookie_and_csrf(make_server):
    srv = start(make_server)
    a = login(srv, use_cookies=False)
    b = login(srv, use_cookies=False)
    assert a.status == b.status == 200
    assert cookie_from(a) != cookie_from(b)
    assert a.json()["csrf_token"] != b.json()["csrf_token"]


def test_wrong_password_and_unknown_user_get_the_same_401(make_server):
    srv = start(make_server)
    wrong = login(srv, USER, "not the password at all")
    unknown = login(srv, "nobody", PASSWORD)
    assert_error(wrong, 401, "unauthorized")
    assert_error(unknown, 401, "unauthorized")
    assert wrong.json() == unknown.json(), "the answer must not tell whether the user exists"
    assert cookie_from(wrong) is None and cookie_from(unknown) is None
    assert query_db(srv, "SELECT count(*) FROM sessions") == [(0,)]
    assert PASSWORD not in srv.log_text() and "not the password at all" not in srv.log_text()


def test_login_is_case_sensitive_and_exact(make_server):
    srv = start(make_server)
    assert login(srv, USER.upper(), PASSWORD).status == 401
    assert login(srv, USER, PASSWORD.upper()).status == 401
    assert login(srv, USER, PASSWORD + " ").status == 401
    assert login(srv, USER, PASSWORD).status == 200


@pytest.mark.parametrize("body,content_type,status", [
    ({"username": USER}, "application/json", 400),
    ({"password": PASSWORD}, "application/json", 400),
    ({"username": USER, "password": 12345678901234}, "application/json", 400),
    ({"username": ["root"], "password": PASSWORD}, "application/json", 400),
    ({"username": USER, "password": PASSWORD, "remember": True}, "application/json", 400),
    ('{"username": "root", "password": ', "application/json", 400),
    ('["root", "pw"]', "application/json", 400),
    ("username=root&password=x", "application/x-www-form-urlencoded", 415),
])
def test_malformed_login_requests_are_refused_without_a_session(make_server, body, content_type,
                                                                status):
    srv = start(make_server)
    data = body if isinstance(body, str) else json.dumps(body)
    r = srv.post("/api/admin/login", body=data, headers={"Content-Type": content_type})
    assert_error(r, status, "invalid_request" if status == 400 else "unsupported_media_type")
    assert cookie_from(r) is None
    assert query_db(srv, "SELECT count(*) FROM sessions") == [(0,)]


# ---- rate limits ----------------------------------------------------------------------------

def assert_challenge(r):
    """A 428 challenge_required with a token and a difficulty; returns (token, difficulty)."""
    assert_error(r, 428, "challenge_required")
    ch = r.json()["challenge"]
    assert isinstance(ch["token"], str) and ch["token"], ch
    assert isinstance(ch["difficulty"], int) and 1 <= ch["difficulty"] <= 22, ch
    return ch["token"], ch["difficulty"]


def login_solving(srv, username=USER, password=PASSWORD, *, ip=None, **kw):
    """Signs in the way the admin page does: once, then again with the challenge solved."""
    r = login(srv, username, password, ip=ip, **kw)
    if r.status != 428:
        return r
    token, bits = assert_challenge(r)
    return login(srv, username, password, ip=ip,
                 headers={"X-Challenge": harness.solve_challenge(token, bits)}, **kw)


def test_failed_logins_for_a_user_ask_a_challenge_not_a_lockout(make_server):
    srv = start(make_server, users=((USER, PASSWORD), ("other", PASSWORD)),
                login_max_failures=3, login_window=900, challenge_difficulty=8)
    # Failures from three different addresses: only the user's own counter reaches the limit.
    for i in range(3):
        assert_error(login(srv, USER, f"wrong guess {i}", ip=f"203.0.113.{i + 1}"), 401,
                     "unauthorized")
    r = login(srv, USER, PASSWORD, ip="198.51.100.9")
    assert assert_challenge(r)[1] == 8
    assert cookie_from(r) is None
    assert query_db(srv, "SELECT count(*) FROM sessions") == [(0,)], \
        "the right password without a solved challenge must not open a session"
    # The right password with the challenge solved signs in: there is no lock-out.
    assert login_solving(srv, USER, PASSWORD, ip="198.51.100.9").status == 200
    # Another user is not affected, from any address.
    assert login(srv, "other", PASSWORD, ip="198.51.100.10").status == 200


def test_failed_logins_from_an_address_challenge_that_address_only(make_server):
    srv = start(make_server, login_max_failures=3, login_window=900, challenge_difficulty=8)
    attacker, admin_ip = "203.0.113.50", "198.51.100.20"
    for i in range(3):
        assert login(srv, f"guess{i}", "wrong password!", ip=attacker).status == 401
    assert_challenge(login(srv, USER, PASSWORD, ip=attacker))
    assert query_db(srv, "SELECT count(*) FROM sessions") == [(0,)]
    # The challenged address stays challenged even for another user name...
    assert_challenge(login(srv, "yet-another", "whatever password", ip=attacker))
    # ...while the admin, from another address, signs in without one.
    assert login(srv, USER, PASSWORD, ip=admin_ip).status == 200


def test_challenge_off_keeps_a_fixed_limit(make_server):
    srv = start(make_server, login_max_failures=3, login_window=2, challenge="off")
    for i in range(3):
        assert login(srv, USER, f"wrong guess {i}").status == 401
    r = login(srv, USER, PASSWORD)
    assert_error(r, 429, "rate_limited")
    retry = r.headers.get("retry-after")
    assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 2, r.headers


def test_successful_logins_do_not_use_up_the_budget(make_server):
    srv = start(make_server, login_max_failures=2)
    for _ in range(4):
        assert login(srv, use_cookies=False).status == 200
    assert login(srv, USER, "wrong password one").status == 401
    assert login(srv, USER, "wrong password two").status == 401
    assert_challenge(login(srv, USER, PASSWORD))


def test_refused_attempts_do_not_use_up_the_other_budget(make_server):
    srv = start(make_server, users=((USER, PASSWORD), ("other", PASSWORD)),
                login_max_failures=2)
    assert login(srv, USER, "wrong password one", ip="203.0.113.1").status == 401
    assert login(srv, USER, "wrong password two", ip="203.0.113.2").status == 401
    # The user is challenged: unanswered attempts from a third address are refused...
    for _ in range(3):
        assert login(srv, USER, PASSWORD, ip="203.0.113.3").status == 428
    # ...without spending that address's own budget.
    assert login(srv, "other", "wrong password three", ip="203.0.113.3").status == 401
    assert login(srv, "other", PASSWORD, ip="203.0.113.3").status == 200


def test_default_limit_is_five_failures(make_server):
    srv = start(make_server)
    for i in range(5):
        assert login(srv, USER, f"wrong guess {i}").status == 401, i
    token, bits = assert_challenge(login(srv, USER, PASSWORD))
    assert bits == 16, "the default difficulty"


def test_challenge_ends_with_the_window(make_server):
    srv = start(make_server, login_max_failures=2, login_window=2)
    for i in range(2):
        assert login(srv, USER, f"wrong guess {i}").status == 401
    assert_challenge(login(srv, USER, PASSWORD))
    deadline = time.monotonic() + 4.0
    while True:
        r = login(srv, USER, PASSWORD)
        if r.status == 200 or time.monotonic() > deadline:
            break
        assert r.status == 428, r
        time.sleep(0.25)
    assert r.status == 200, "still challenged after the window ended"


def test_malformed_requests_do_not_count_as_failures(make_server):
    srv = start(make_server, login_max_failures=2)
    for _ in range(4):
        assert srv.post("/api/admin/login", json={"username": USER}).status == 400
    assert login(srv).status == 200


# ---- sessions -------------------------------------------------------------------------------

def test_session_endpoint_answers_user_and_csrf(make_server):
    srv, csrf = signed_in(make_server)
    r = srv.get("/api/admin/session")
    assert r.status == 200, r
    assert r.json() == {"username": USER, "csrf_token": csrf, "role": "owner", "totp": False}
    assert_error(srv.get("/api/admin/session", use_cookies=False), 401, "unauthorized")


def test_sessions_table_stores_only_the_sha256_of_the_cookie(make_server):
    srv = start(make_server, session_max_ttl=7200)
    before = int(time.time())
    r = login(srv, ip="192.0.2.33")
    assert r.status == 200
    cookie = cookie_from(r)
    rows = query_db(srv, "SELECT id_hash, admin_id, csrf_token, created_at, last_seen, expires_at,"
                         " ip FROM sessions")
    assert len(rows) == 1
    id_hash, admin_id, csrf, created, last_seen, expires, ip = rows[0]
    assert bytes(id_hash) == hashlib.sha256(cookie.encode()).digest()
    assert admin_id == query_db(srv, "SELECT id FROM admins WHERE username = ?", (USER,))[0][0]
    assert csrf == r.json()["csrf_token"]
    assert before - 1 <= created <= int(time.time()) + 1 and last_seen == created
    assert expires - created == 7200
    assert ip == "192.0.2.33"
    raw = raw_db_bytes(srv)
    assert cookie.encode() not in raw, "cookie stored in clear"
    assert bytes.fromhex(cookie) not in raw, "cookie bytes stored in clear"
    assert cookie not in srv.log_text(), "cookie in the log"


def test_login_again_rotates_the_presented_cookie(make_server):
    srv = start(make_server)
    first = login(srv)
    old = cookie_from(first)
    assert srv.cookies[COOKIE] == old
    second = login(srv)  # the jar presents the old cookie
    new = cookie_from(second)
    assert new and new != old
    assert second.json()["csrf_token"] != first.json()["csrf_token"]
    assert session_status(srv, old) == 401, "the cookie presented at login must die"
    assert session_status(srv, new) == 200
    assert query_db(srv, "SELECT count(*) FROM sessions") == [(1,)]
    # A login that presents no cookie leaves other sessions alone (two browsers).
    third = login(srv, use_cookies=False)
    assert session_status(srv, new) == 200
    assert session_status(srv, cookie_from(third)) == 200
    assert query_db(srv, "SELECT count(*) FROM sessions") == [(2,)]


def test_failed_login_does_not_end_the_presented_session(make_server):
    srv, _ = signed_in(make_server)
    cookie = srv.cookies[COOKIE]
    assert login(srv, USER, "wrong password here").status == 401
    assert session_status(srv, cookie) == 200


def test_logout_ends_the_session_server_side(make_server):
    srv, csrf = signed_in(make_server)
    cookie = srv.cookies[COOKIE]
    assert_error(srv.post("/api/admin/logout"), 403, "forbidden")
    assert session_status(srv, cookie) == 200, "logout without CSRF must not end the session"
    r = srv.post("/api/admin/logout", headers={"X-CSRF-Token": csrf})
    assert r.status == 200, r
    cleared = [c for c in r.headers.get_all("set-cookie") if c.startswith(COOKIE + "=")]
    assert cleared and "max-age=0" in cleared[0].lower(), r.headers
    assert query_db(srv, "SELECT count(*) FROM sessions") == [(0,)]
    # The old cookie, replayed by someone who kept it, opens nothing any more.
    assert session_status(srv, cookie) == 401
    r = srv.post("/api/admin/categories", json={"name": "after logout"},
                 headers={**with_cookie(cookie), "X-CSRF-Token": csrf}, use_cookies=False)
    assert_error(r, 401, "unauthorized")
    assert query_db(srv, "SELECT count(*) FROM categories") == [(0,)]


def test_logout_without_a_session_is_401(make_server):
    srv = start(make_server)
    assert_error(srv.post("/api/admin/logout", headers={"X-CSRF-Token": "x" * 64}), 401,
                 "unauthorized")


def test_idle_session_expires_and_activity_refreshes_it(make_server):
    srv = start(make_server, session_idle_ttl=120, session_max_ttl=3600)
    active = cookie_from(login(srv, use_cookies=False))
    idle = cookie_from(login(srv, use_cookies=False))
    now = int(time.time())
    h_active = hashlib.sha256(active.encode()).digest()
    h_idle = hashlib.sha256(idle.encode()).digest()
    expires_before = query_db(srv, "SELECT expires_at FROM sessions WHERE id_hash = ?",
                              (h_active,))[0][0]
    # Idle for 90 s of 120: still valid, and using it refreshes its idle timer.
    exec_db(srv, "UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now - 90, h_active))
    # Idle for longer than 120 s: gone.
    exec_db(srv, "UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now - 121, h_idle))
    assert session_status(srv, active) == 200
    last_seen, expires = query_db(srv, "SELECT last_seen, expires_at FROM sessions"
                                       " WHERE id_hash = ?", (h_active,))[0]
    assert last_seen >= now - 1, "activity must refresh the idle timer"
    assert expires == expires_before, "activity must not extend the absolute lifetime"
    assert session_status(srv, idle) == 401
    # A later login purges the dead session row.
    assert login(srv, use_cookies=False).status == 200
    assert query_db(srv, "SELECT count(*) FROM sessions WHERE id_hash = ?", (h_idle,)) == [(0,)]


def test_session_dies_at_its_absolute_lifetime_even_when_active(make_server):
    srv = start(make_server, session_idle_ttl=60, session_max_ttl=60)
    r = login(srv, use_cookies=False)
    assert "Max-Age=60;" in r.headers["set-cookie"]
    cookie = cookie_from(r)
    h = hashlib.sha256(cookie.encode()).digest()
    created, expires = query_db(srv, "SELECT created_at, expires_at FROM sessions")[0]
    assert expires - created == 60
    assert session_status(srv, cookie) == 200
    now = int(time.time())
    exec_db(srv, "UPDATE sessions SET created_at = ?, last_seen = ?, expires_at = ?"
                 " WHERE id_hash = ?", (now - 61, now, now - 1, h))
    assert session_status(srv, cookie) == 401


@pytest.mark.parametrize("key", ["session_idle_ttl", "session_max_ttl"])
def test_session_ttls_below_60_seconds_are_refused(tmp_path, cardshop_bin, key):
    srv = harness.CardshopServer(tmp_path, {"security": {key: 59}})
    p = srv.cli("migrate")
    assert p.returncode != 0
    assert key in p.stderr, p.stderr


def test_idle_ttl_longer_than_max_ttl_is_refused(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path, {"security": {"session_idle_ttl": 600,
                                                         "session_max_ttl": 300}})
    p = srv.cli("migrate")
    assert p.returncode != 0
    assert "session_idle_ttl" in p.stderr, p.stderr


# ---- the admin guard ------------------------------------------------------------------------

def seed_catalog(srv, csrf):
    """A category, a product with two keys; returns (category_id, product_id, key_id)."""
    h = {"X-CSRF-Token": csrf}
    cat = srv.post("/api/admin/categories", json={"name": "Games"}, headers=h).json()["id"]
    pid = srv.post("/api/admin/products", json={"name": "Key", "price": 100, "category_id": cat},
                   headers=h).json()["id"]
    r = srv.post(f"/api/admin/products/{pid}/keys", body="GUARD-KEY-0001\nGUARD-KEY-0002\n",
                 headers={**h, "Content-Type": "text/plain"})
    assert r.json()["added"] == 2, r
    kid = query_db(srv, "SELECT min(id) FROM card_keys")[0][0]
    return cat, pid, kid


def admin_endpoints(cat, pid, kid):
    """(method, path, json body or text body) for every admin endpoint but login."""
    return [
        ("POST", "/api/admin/logout", None),
        ("GET", "/api/admin/session", None),
        ("GET", "/api/admin/categories", None),
        ("POST", "/api/admin/categories", {"name": "New"}),
        ("PATCH", f"/api/admin/categories/{cat}", {"name": "Renamed"}),
        ("GET", "/api/admin/products", None),
        ("POST", "/api/admin/products", {"name": "New", "price": 1}),
        ("GET", f"/api/admin/products/{pid}", None),
        ("PATCH", f"/api/admin/products/{pid}", {"price": 5}),
        ("DELETE", f"/api/admin/products/{pid}", None),
        ("POST", f"/api/admin/products/{pid}/keys", "NEW-KEY-1\n"),
        ("GET", f"/api/admin/products/{pid}/keys", None),
        ("GET", f"/api/admin/products/{pid}/keys/export", None),
        ("DELETE", f"/api/admin/products/{pid}/keys/{kid}", None),
        ("GET", "/api/admin/audit", None),
    ]


def send(srv, method, path, payload, headers):
    h = dict(headers)
    if isinstance(payload, str):
        h["Content-Type"] = "text/plain"
        return srv.request(method, path, body=payload, headers=h, use_cookies=False)
    return srv.request(method, path, json=payload, headers=h, use_cookies=False)


def test_every_admin_endpoint_needs_a_session(make_server):
    srv, csrf = signed_in(make_server)
    ids = seed_catalog(srv, csrf)
    real = srv.cookies[COOKIE]
    before = snapshot(srv)
    bad_cookies = [
        {},                                              # no cookie at all
        with_cookie(secrets.token_hex(32)),              # well-formed, unknown
        with_cookie("not-a-session"),                    # malformed
        with_cookie(real.upper()),                       # the real one, altered
        {"Cookie": f"other={real}"},                     # right value, wrong name
    ]
    failures = []
    for method, path, payload in admin_endpoints(*ids):
        for extra in bad_cookies:
            r = send(srv, method, path, payload, {**extra, "X-CSRF-Token": csrf})
            if r.status != 401 or r.error_code() != "unauthorized":
                failures.append((method, path, extra, r.status, r.body[:100]))
    assert not failures, failures
    assert snapshot(srv) == before, "a refused request changed the database"


def test_a_stored_session_hash_is_not_a_cookie(make_server):
    # The sessions table holds hashes: presenting a stored hash as a cookie opens nothing.
    srv, csrf = signed_in(make_server)
    id_hash = bytes(query_db(srv, "SELECT id_hash FROM sessions")[0][0]).hex()
    assert session_status(srv, id_hash) == 401


def test_unsafe_admin_requests_need_the_csrf_token(make_server):
    srv, csrf = signed_in(make_server)
    ids = seed_catalog(srv, csrf)
    cookie = srv.cookies[COOKIE]
    other = login(srv, use_cookies=False)  # a second, independent session
    other_csrf = other.json()["csrf_token"]
    before = snapshot(srv)
    tokens = [None, "", secrets.token_hex(32), csrf.upper(), csrf[:-1], other_csrf]
    failures = []
    unsafe = [e for e in admin_endpoints(*ids) if e[0] != "GET"]
    assert len(unsafe) == 8
    for method, path, payload in unsafe:
        for token in tokens:
            h = with_cookie(cookie)
            if token is not None:
                h["X-CSRF-Token"] = token
            r = send(srv, method, path, payload, h)
            if r.status != 403 or r.error_code() != "forbidden":
                failures.append((method, path, token, r.status, r.body[:100]))
    assert not failures, failures
    assert snapshot(srv) == before, "a request without the right CSRF token changed something"
    assert session_status(srv, cookie) == 200


def test_safe_admin_requests_need_no_csrf_token(make_server):
    srv, csrf = signed_in(make_server)
    ids = seed_catalog(srv, csrf)
    for method, path, _ in admin_endpoints(*ids):
        if method == "GET":
            r = srv.get(path)
            assert r.status == 200, (path, r)


def test_csrf_token_belongs_to_its_session(make_server):
    srv = start(make_server)
    a = login(srv, use_cookies=False)
    b = login(srv, use_cookies=False)
    h = {**with_cookie(cookie_from(a)), "X-CSRF-Token": b.json()["csrf_token"]}
    assert_error(srv.post("/api/admin/categories", json={"name": "x"}, headers=h,
                          use_cookies=False), 403, "forbidden")
    h["X-CSRF-Token"] = a.json()["csrf_token"]
    r = srv.post("/api/admin/categories", json={"name": "x"}, headers=h, use_cookies=False)
    assert r.status == 201, r


def shift_session_clock(srv, seconds):
    """Moves every session `seconds` into the past: what the server sees after that much time
    without requests."""
    exec_db(srv, "UPDATE sessions SET created_at = created_at - ?, last_seen = last_seen - ?,"
                 " expires_at = expires_at - ?", (seconds, seconds, seconds))


def test_activity_keeps_a_session_with_the_shortest_idle_ttl_alive(make_server):
    srv = start(make_server, session_idle_ttl=60, session_max_ttl=3600)
    cookie = cookie_from(login(srv, use_cookies=False))
    shift_session_clock(srv, 30)
    assert session_status(srv, cookie) == 200   # used 30 s after sign-in
    shift_session_clock(srv, 31)
    # The last request was 31 s ago, well within the 60 s idle limit.
    assert session_status(srv, cookie) == 200


def test_activity_resets_the_idle_timer(make_server):
    srv = start(make_server, session_idle_ttl=300, session_max_ttl=3600)
    cookie = cookie_from(login(srv, use_cookies=False))
    # Used every 50 s for 20 minutes: never idle for more than 50 s.
    for _ in range(24):
        shift_session_clock(srv, 50)
        assert session_status(srv, cookie) == 200


def test_concurrent_guesses_cannot_exceed_the_failure_limit(make_server):
    srv = make_server({"security": {"login_max_failures": 2}}, threads=8)
    srv.add_admin(USER, PASSWORD)
    checked = []
    # Several rounds, each against a fresh user name from a fresh address (fresh counters).
    for rnd in range(5):
        results = []
        lock = threading.Lock()
        barrier = threading.Barrier(12)

        def guess(i, rnd=rnd):
            barrier.wait()
            r = login(srv, f"target{rnd}", f"parallel guess {i}", ip=f"203.0.113.{rnd + 1}",
                      use_cookies=False)
            with lock:
                results.append(r.status)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(results) <= {401, 428}, results
        checked.append(results.count(401))
    # Only login_max_failures passwords may be tried per window without a solved challenge,
    # however they are sent.
    assert max(checked) <= 2, f"passwords verified per round (limit 2): {checked}"
