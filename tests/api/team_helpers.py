"""Shared by the team, TOTP and settings suites: an admin client with its own session, and
the tests' own RFC 6238 implementation (independent of the server's)."""

import base64
import hashlib
import hmac
import struct
import time

OWNER, OWNER_PW = "owner", "owner password 123"
# Sign-ins fail on purpose here: a high budget keeps challenges out of tests not about them.
NO_CHALLENGE = {"security": {"login_max_failures": 1000}}


def login(srv, username, password, totp=None, headers=None):
    body = {"username": username, "password": password}
    if totp is not None:
        body["totp"] = totp
    return srv.post("/api/admin/login", json=body, headers=headers or {}, use_cookies=False)


class Admin:
    """A signed-in admin holding its own cookie and CSRF token."""

    def __init__(self, srv, username, password, totp=None):
        self.srv, self.username = srv, username
        r = login(srv, username, password, totp)
        assert r.status == 200, r
        self.csrf = r.json()["csrf_token"]
        self.cookie = next(sc.split(";", 1)[0] for sc in r.headers.get_all("set-cookie")
                           if sc.startswith("cs_admin="))

    def call(self, method, path, json=None):
        h = {"Cookie": self.cookie}
        if method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        return self.srv.request(method, path, json=json, headers=h, use_cookies=False)

    def signed_in(self):
        return self.call("GET", "/api/admin/session").status == 200


def totp_code(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def fresh_step(margin=8):
    """The current 30-second step, once at least margin seconds of it are left: a test then
    uses the steps T-1, T and T+1, all accepted (±1 step) for as long as it runs."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.05)
    return int(time.time() // 30)


def error_code(r):
    try:
        return r.json()["error"]["code"]
    except Exception:  # noqa: BLE001
        return None
