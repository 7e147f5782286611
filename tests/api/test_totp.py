"""TOTP second factor (RFC 6238): set-up with a QR code, enabling, sign-in with, without, with a
wrong and with a reused code, disabling. Codes are computed by the test's own implementation
(team_helpers.totp_code), on the real clock: each test uses the steps T-1, T and T+1 of one
step T with enough of it left (fresh_step), all of them accepted by the server's ±1 window."""

import base64
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote, urlparse

from team_helpers import (NO_CHALLENGE, OWNER, OWNER_PW, Admin, error_code, fresh_step, login,
                          totp_code)


def setup_totp(make_server, config=NO_CHALLENGE, username=OWNER):
    srv = make_server(config)
    srv.add_admin(username, OWNER_PW)
    admin = Admin(srv, username, OWNER_PW)
    r = admin.call("POST", "/api/admin/totp/setup")
    assert r.status == 200, r
    assert r.headers.get("cache-control") == "no-store"
    return srv, admin, r.json()


def test_setup_gives_secret_uri_and_qr(make_server):
    _, _, s = setup_totp(make_server, username="me@x.io")
    assert re.fullmatch(r"[A-Z2-7]{32}", s["secret"]), s
    assert len(base64.b32decode(s["secret"])) == 20
    uri = urlparse(s["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/cardshop:me@x.io"
    q = parse_qs(uri.query)
    assert q == {"secret": [s["secret"]], "issuer": ["cardshop"], "algorithm": ["SHA1"],
                 "digits": ["6"], "period": ["30"]}
    svg = ET.fromstring(s["qr_svg"])  # well-formed XML
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "me@x.io" not in s["qr_svg"] and "script" not in s["qr_svg"].lower()
    path = svg.find("{http://www.w3.org/2000/svg}path")
    assert path is not None and path.get("d").count("h1v1h-1z") > 100


def test_enable_then_sign_in_needs_a_fresh_code(make_server):
    srv, admin, s = setup_totp(make_server)
    t = fresh_step()
    sec = s["secret"]
    # Set up but not enabled: sign-in still needs no code.
    assert login(srv, OWNER, OWNER_PW).status == 200
    r = admin.call("POST", "/api/admin/totp/enable", {"code": "000000" if totp_code(sec, t) != "000000" else "111111"})
    assert r.status == 400, r
    assert admin.call("POST", "/api/admin/totp/enable", {"code": totp_code(sec, t - 1)}).status == 200
    assert srv.db().execute("SELECT totp_enabled FROM admins").fetchone()[0] == 1
    assert admin.call("GET", "/api/admin/session").json()["totp"] is True
    # The secret is stored sealed, never as its base32 or raw bytes.
    blob = srv.db().execute("SELECT totp_secret FROM admins").fetchone()[0]
    assert base64.b32decode(sec) not in blob and sec.encode() not in blob
    r = login(srv, OWNER, OWNER_PW)
    assert r.status == 401 and error_code(r) == "totp_required", r
    assert not r.headers.get_all("set-cookie")
    r = login(srv, OWNER, "wrong password!", totp=totp_code(sec, t))
    assert r.status == 401 and error_code(r) == "unauthorized", r
    wrong = "%06d" % ((int(totp_code(sec, t)) + 1) % 1000000)
    r = login(srv, OWNER, OWNER_PW, totp=wrong)
    assert r.status == 401 and error_code(r) == "unauthorized", r
    # The code that enabled it was spent: it does not sign in.
    r = login(srv, OWNER, OWNER_PW, totp=totp_code(sec, t - 1))
    assert r.status == 401 and error_code(r) == "unauthorized", r
    ok = login(srv, OWNER, OWNER_PW, totp=totp_code(sec, t))
    assert ok.status == 200, ok
    r = login(srv, OWNER, OWNER_PW, totp=totp_code(sec, t))  # a replay of a good code
    assert r.status == 401 and error_code(r) == "unauthorized", r
    # Nor does an older step once a later one was used.
    assert login(srv, OWNER, OWNER_PW, totp=totp_code(sec, t - 1)).status == 401
    r = admin.call("POST", "/api/admin/totp/setup")
    assert r.status == 409, r  # no new secret while one is on
    # Disabling takes a fresh code too; afterwards no code is asked.
    assert admin.call("POST", "/api/admin/totp/disable", {"code": totp_code(sec, t)}).status == 400
    assert admin.call("POST", "/api/admin/totp/disable", {"code": totp_code(sec, t + 1)}).status == 200
    assert login(srv, OWNER, OWNER_PW).status == 200
    assert srv.db().execute("SELECT totp_secret FROM admins").fetchone()[0] is None
    actions = [r[0] for r in srv.db().execute(
        "SELECT action FROM audit_log WHERE action LIKE 'admin.totp%' ORDER BY id")]
    assert actions == ["admin.totp_setup", "admin.totp_enable", "admin.totp_disable"]
    assert admins_totp(admin) is False


def admins_totp(admin):
    r = admin.call("GET", "/api/admin/admins")
    assert r.status == 200, r
    return r.json()["admins"][0]["totp"]


def test_malformed_codes_refused(make_server):
    srv, admin, s = setup_totp(make_server)
    for code in ("12345", "1234567", "12345a", " 123456", ""):
        assert admin.call("POST", "/api/admin/totp/enable", {"code": code}).status == 400, code
    assert admin.call("POST", "/api/admin/totp/enable", {"code": 123456}).status == 400
    assert admin.call("POST", "/api/admin/totp/disable", {"code": "123456"}).status == 409
    t = fresh_step()
    assert admin.call("POST", "/api/admin/totp/enable", {"code": totp_code(s["secret"], t)}).status == 200
    r = srv.post("/api/admin/login", json={"username": OWNER, "password": OWNER_PW, "totp": 123},
                 use_cookies=False)
    assert r.status == 400, r


def test_failed_codes_count_as_failed_sign_ins(make_server):
    srv, admin, s = setup_totp(make_server, {"security": {"login_max_failures": 2}})
    t = fresh_step()
    assert admin.call("POST", "/api/admin/totp/enable", {"code": totp_code(s["secret"], t)}).status == 200
    wrong = "%06d" % ((int(totp_code(s["secret"], t + 1)) + 7) % 1000000)
    ip = {"X-Forwarded-For": "192.0.2.9"}
    for _ in range(2):
        r = login(srv, OWNER, OWNER_PW, totp=wrong, headers=ip)
        assert r.status == 401, r
    # The right password with wrong codes is no better than a wrong password: a challenge now.
    r = login(srv, OWNER, OWNER_PW, totp=totp_code(s["secret"], t + 1), headers=ip)
    assert r.status == 428 and error_code(r) == "challenge_required", r


def test_code_guesses_from_a_session_are_limited(make_server):
    srv, admin, s = setup_totp(make_server)
    t = fresh_step()
    assert admin.call("POST", "/api/admin/totp/enable", {"code": totp_code(s["secret"], t)}).status == 200
    wrong = "%06d" % ((int(totp_code(s["secret"], t + 1)) + 3) % 1000000)
    statuses = [admin.call("POST", "/api/admin/totp/disable", {"code": wrong}).status
                for _ in range(19)]
    assert statuses == [400] * 19, statuses  # one attempt went to the enable
    r = admin.call("POST", "/api/admin/totp/disable", {"code": totp_code(s["secret"], t + 1)})
    assert r.status == 429 and int(r.headers["retry-after"]) > 0, r
    assert srv.db().execute("SELECT totp_enabled FROM admins").fetchone()[0] == 1


def test_one_code_signs_in_once_even_at_the_same_moment(make_server):
    import threading
    srv, admin, s = setup_totp(make_server)
    t = fresh_step()
    assert admin.call("POST", "/api/admin/totp/enable", {"code": totp_code(s["secret"], t - 1)}).status == 200
    code, results = totp_code(s["secret"], t), []
    start = threading.Barrier(4)

    def attempt():
        start.wait()
        results.append(login(srv, OWNER, OWNER_PW, totp=code).status)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [200, 401, 401, 401], results
