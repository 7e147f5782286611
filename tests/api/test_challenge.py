"""The proof-of-work challenge (docs/api.md, "Protection against hoarding and bots").

Black-box against the real binary. Pressure is forced with thresholds of 0 per minute (every
request is "under pressure") and a low difficulty so Python solves each challenge at once; the
solver is harness.solve_challenge, written from the contract, not from the server's code."""

import hashlib

import harness
from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import ADMIN_PASSWORD, ADMIN_USER, start_shop

BITS = 8


def challenged(make_server, epay, **security):  # noqa: F811
    sec = {"challenge_orders_per_minute": 0, "challenge_lookups_per_minute": 0,
           "challenge_difficulty": BITS}
    sec.update(security)
    return start_shop(make_server, epay=epay, extra={"security": sec})


def challenge_of(r):
    assert r.status == 428, r
    body = r.json()
    assert set(body) == {"error", "challenge"}, body
    assert body["error"]["code"] == "challenge_required"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    ch = body["challenge"]
    assert set(ch) == {"token", "difficulty"}, ch
    assert isinstance(ch["token"], str) and 1 <= ch["difficulty"] <= 22, ch
    return ch["token"], ch["difficulty"]


def solved(r):
    return {"X-Challenge": harness.solve_challenge(*challenge_of(r))}


def lookup(shop, headers=None):
    return shop.srv.request("POST", "/api/orders/lookup", headers=headers, use_cookies=False,
                            json={"email": "x@example.com", "query_password": "guess"})


def test_order_under_pressure_asks_and_a_solution_creates_it(make_server, epay):  # noqa: F811
    shop = challenged(make_server, epay)
    pid = shop.admin.product(name="Flash", price=100, keys=5)
    r = shop.order(pid)
    token, bits = challenge_of(r)
    assert bits >= BITS
    assert shop.value("SELECT count(*) FROM orders") == 0, "a 428 must create nothing"
    answer = harness.solve_challenge(token, bits)
    digest = hashlib.sha256(answer.encode()).digest()
    assert int.from_bytes(digest, "big") >> (256 - bits) == 0
    r = shop.order(pid, headers={"X-Challenge": answer})
    assert r.status == 201, r
    assert shop.value("SELECT count(*) FROM orders") == 1
    # The same solution again: a new challenge, no second order.
    r = shop.order(pid, headers={"X-Challenge": answer})
    new_token, _ = challenge_of(r)
    assert new_token != token
    assert shop.value("SELECT count(*) FROM orders") == 1
    metrics = shop.srv.get("/metrics").text
    assert "cardshop_challenges_total 2" in metrics, metrics


def test_wrong_route_bad_nonce_and_forged_tokens_are_refused(make_server, epay):  # noqa: F811
    shop = challenged(make_server, epay)
    pid = shop.admin.product(name="Flash", price=100, keys=5)
    # A lookup's solution does not buy anything.
    lookup_answer = solved(lookup(shop))
    challenge_of(shop.order(pid, headers=lookup_answer))
    # ...and, refused there, is still good where it was issued.
    assert lookup(shop, lookup_answer).status == 200
    token, bits = challenge_of(shop.order(pid))
    nonce = 0
    while True:  # a nonce that does not solve it
        digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) != 0:
            break
        nonce += 1
    for bad in (f"{token}:{nonce}", f"{token}:abc", f"{token}:", token, "garbage",
                harness.solve_challenge(token.replace(f".{bits}.", ".1.", 1), 1)):
        challenge_of(shop.order(pid, headers={"X-Challenge": bad}))
    assert shop.value("SELECT count(*) FROM orders") == 0


def test_lookup_under_pressure_asks(make_server, epay):  # noqa: F811
    shop = challenged(make_server, epay)
    r = lookup(shop, solved(lookup(shop)))
    assert r.status == 200 and r.json() == {"orders": []}, r


def test_challenge_off_never_asks(make_server, epay):  # noqa: F811
    shop = challenged(make_server, epay, challenge="off", login_max_failures=1)
    pid = shop.admin.product(name="Flash", price=100, keys=5)
    for _ in range(3):
        assert shop.order(pid).status == 201
        assert lookup(shop).status == 200
    # Sign-in failures meet the old fixed limit instead (429), never a challenge.
    srv = shop.srv
    body = {"username": ADMIN_USER, "password": "wrong password!"}
    assert srv.post("/api/admin/login", json=body, use_cookies=False).status == 401
    assert srv.post("/api/admin/login", json=body, use_cookies=False).status == 429


def test_default_thresholds_do_not_ask_a_quiet_shop(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, extra={"security": {
        "challenge_orders_per_minute": 600, "challenge_lookups_per_minute": 60}})
    pid = shop.admin.product(name="Quiet", price=100, keys=5)
    assert shop.order(pid).status == 201
    assert lookup(shop).status == 200


def admin_login(srv, password, ip, headers=None):
    h = {"X-Forwarded-For": ip}
    h.update(headers or {})
    return srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": password},
                    headers=h, use_cookies=False)


def test_no_lockout_the_right_password_signs_in_from_another_address(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay,
                      extra={"security": {"login_max_failures": 3, "challenge_difficulty": BITS}})
    srv, attacker, merchant = shop.srv, "203.0.113.66", "198.51.100.7"
    statuses = [admin_login(srv, f"guess number {i}", attacker).status for i in range(20)]
    assert statuses[:3] == [401, 401, 401], statuses
    assert set(statuses[3:]) == {428}, statuses
    # The failing address keeps failing with solved challenges, and its difficulty rises.
    levels = []
    for i in range(9):
        r = admin_login(srv, f"solved guess {i}", attacker)
        token, bits = challenge_of(r)
        levels.append(bits)
        answer = harness.solve_challenge(token, bits)
        assert admin_login(srv, f"solved guess {i}", attacker,
                           {"X-Challenge": answer}).status == 401
    assert levels[0] >= BITS and levels[-1] > levels[0], levels
    # The merchant, from another address, with the right password: asked (the user name is
    # under attack) at the base difficulty, and signed in once it is solved.
    r = admin_login(srv, ADMIN_PASSWORD, merchant)
    token, bits = challenge_of(r)
    assert bits == BITS, "only the failing address is slowed"
    r = admin_login(srv, ADMIN_PASSWORD, merchant,
                    {"X-Challenge": harness.solve_challenge(token, bits)})
    assert r.status == 200, r
    assert "csrf_token" in r.json()
    # Even from the attacking address, the right password with a solved challenge signs in.
    r = admin_login(srv, ADMIN_PASSWORD, attacker)
    r = admin_login(srv, ADMIN_PASSWORD, attacker, solved(r))
    assert r.status == 200, r
