"""Orders: creation with key reservation, validation, out of stock, the buyer's view (token,
cookie), lookup by email + query password, expiry, and 60 buyers racing for the last keys.

Black-box: HTTP against the real binary, the fake EPay gateway for pay_url and payments, and
sqlite3 reads of the database file to check what was (not) written."""

import threading
import time
import urllib.parse

import pytest

import harness
from fakes.fake_epay import format_money, parse_url_params, sign
from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import BUYER, EPAY_KEY, EPAY_PID, error_of, make_keys, start_shop

CREATE_FIELDS = {"order_no", "token", "status", "amount", "currency", "expires_at", "pay_url"}
VIEW_FIELDS = {"order_no", "status", "amount", "currency", "quantity", "product_id", "created_at",
               "paid_at", "keys"}


@pytest.fixture
def shop(make_server, epay):  # noqa: F811
    return start_shop(make_server, epay=epay)


def counts(shop):
    """(orders, available, reserved, sold) straight from the database."""
    return (shop.value("SELECT count(*) FROM orders"),
            shop.value("SELECT count(*) FROM card_keys WHERE status = 'available'"),
            shop.value("SELECT count(*) FROM card_keys WHERE status = 'reserved'"),
            shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'"))


# ---- creation -------------------------------------------------------------------------------

def test_create_answers_the_contract_and_reserves_keys(shop):
    pid = shop.admin.product(name="Steam 100", price=990, keys=5)
    assert shop.stock(pid) == 5
    before = int(time.time())
    r = shop.order(pid, 2, email="Alice.Buyer+cards@example.com")
    assert r.status == 201, r
    o = r.json()
    assert set(o) == CREATE_FIELDS, o
    assert o["status"] == "pending"
    assert o["amount"] == 1980 and o["currency"] == "CNY"
    assert before + 900 - 2 <= o["expires_at"] <= int(time.time()) + 900 + 2  # default order_ttl
    assert len(o["order_no"]) >= 16 and o["order_no"].isalnum()
    assert len(o["token"]) >= 16
    # The browser is given a cookie that opens the order later (HttpOnly: scripts cannot read it).
    cookies = r.headers.get_all("set-cookie")
    assert any(o["order_no"] in c and "httponly" in c.lower() for c in cookies), cookies

    assert shop.stock(pid) == 3
    row = shop.order_row(o["order_no"])
    assert row["status"] == "pending" and row["quantity"] == 2 and row["amount"] == 1980
    assert row["email"] == "Alice.Buyer+cards@example.com" and row["gateway"] == "epay"
    assert row["expires_at"] == o["expires_at"]
    keys = shop.key_rows(o["order_no"])
    assert len(keys) == 2 and all(k["status"] == "reserved" and k["product_id"] == pid for k in keys)
    assert counts(shop) == (1, 3, 2, 0)

    # A second order takes other keys; order numbers and tokens differ.
    o2 = shop.order_ok(pid, 3)
    assert o2["order_no"] != o["order_no"] and o2["token"] != o["token"]
    assert shop.stock(pid) == 0
    ids1 = {k["id"] for k in keys}
    ids2 = {k["id"] for k in shop.key_rows(o2["order_no"])}
    assert len(ids2) == 3 and not ids1 & ids2


def test_order_numbers_follow_the_order_of_creation(shop):
    """Numbers made later sort later (the indexes on them then fill side by side), and each is
    the UTC day plus hex digits, never a guessable counter."""
    pid = shop.admin.product(price=100, keys=6)
    days = {time.strftime("%Y%m%d", time.gmtime())}
    nos = []
    for i in range(6):
        r = shop.order(pid, 1, email=f"seq{i}@example.com")
        assert r.status == 201, r
        nos.append(r.json()["order_no"])
    assert nos == sorted(nos) and len(set(nos)) == 6, nos
    days.add(time.strftime("%Y%m%d", time.gmtime()))
    for no in nos:
        assert len(no) == 24 and no[:8] in days and all(c in "0123456789abcdef" for c in no[8:]), no
    assert len({no[-6:] for no in nos}) > 1, "the last digits are random"


def test_pay_url_is_a_signed_epay_submit_with_two_decimal_money(shop):
    cases = [  # (product name, price, quantity, money)
        ("Steam 充值卡 100元 & more=yes", 1005, 3, "30.15"),
        ("Cheap", 5, 1, "0.05"),
        ("Gift card 2000", 100000, 2, "2000.00"),
        ("Ten", 10, 1, "0.10"),
    ]
    for name, price, qty, money in cases:
        pid = shop.admin.product(name=name, price=price, keys=qty)
        o = shop.order_ok(pid, qty)
        assert o["amount"] == price * qty and format_money(o["amount"]) == money
        url = urllib.parse.urlsplit(o["pay_url"])
        assert f"{url.scheme}://{url.netloc}/" == shop.epay.url and url.path == "/submit.php", o["pay_url"]
        p = parse_url_params(o["pay_url"])
        assert p["pid"] == EPAY_PID
        assert p["out_trade_no"] == o["order_no"]
        assert p["money"] == money, (name, p)
        assert p["name"] == name
        assert p["notify_url"] == shop.srv.base_url + "/pay/epay/notify"
        assert p["return_url"] == shop.srv.base_url + "/pay/epay/return"
        assert p["sign_type"] == "MD5"
        assert p["sign"] == sign(p, EPAY_KEY), p  # checked independently of the fake
        # The real test: the gateway accepts it.
        status, body = shop.epay.open(o["pay_url"])
        assert status == 200, (body, shop.epay.submissions[-1])
        assert shop.epay.order(o["order_no"]).money == money
    assert all(s.ok for s in shop.epay.submissions), shop.epay.submissions


def test_pay_url_when_api_url_has_no_trailing_slash(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, extra={"payment.epay": {"api_url": epay.url.rstrip("/")}})
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    assert o["pay_url"].startswith(epay.url + "submit.php?"), o["pay_url"]
    shop.open_pay_url(o)
    assert shop.pay(o) == "success"


def test_gateway_refuses_a_tampered_pay_url(shop):
    """The fake really checks the merchant signature: a buyer lowering the price is caught."""
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    tampered = o["pay_url"].replace("money=9.90", "money=0.01")
    assert tampered != o["pay_url"]
    status, _ = shop.epay.open(tampered)
    assert status == 400 and not shop.epay.submissions[-1].ok
    assert o["order_no"] not in shop.epay.orders


INVALID = [
    # (id, body changes, field named in the message)
    ("bad_email", {"email": "not-an-address"}, "email"),
    ("email_two_ats", {"email": "a@b@example.com"}, "email"),
    ("email_with_space", {"email": "a b@example.com"}, "email"),
    ("missing_email", {"email": None}, "email"),
    ("quantity_zero", {"quantity": 0}, "quantity"),
    ("quantity_negative", {"quantity": -1}, "quantity"),
    ("quantity_string", {"quantity": "1"}, "quantity"),
    ("quantity_over_max_qty", {"quantity": 4}, "quantity"),
    ("unknown_field", {"colour": "red"}, "colour"),
    ("unknown_gateway", {"gateway": "bitcoin"}, "gateway"),
    ("disabled_gateway", {"gateway": "sandbox"}, "gateway"),
    ("product_id_string", {"product_id": "1"}, "product_id"),
    ("short_query_password", {"query_password": "ab"}, "query_password"),
]


@pytest.mark.parametrize("changes,fieldname", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_order_is_400_naming_the_field(shop, changes, fieldname):
    pid = shop.admin.product(price=990, max_qty=3, keys=5)
    body = {"product_id": pid, "quantity": 1, "email": BUYER, "gateway": "epay"}
    for k, v in changes.items():
        if v is None:
            body.pop(k)
        else:
            body[k] = v
    r = shop.srv.request("POST", "/api/orders", json=body, use_cookies=False)
    assert r.status == 400, r
    err = error_of(r)
    assert err["code"] == "invalid_request"
    assert fieldname in err["message"], err
    assert counts(shop) == (0, 5, 0, 0)
    assert shop.stock(pid) == 5


def test_max_qty_itself_is_accepted(shop):
    pid = shop.admin.product(price=100, max_qty=3, keys=5)
    assert shop.order(pid, 3).status == 201
    assert shop.stock(pid) == 2


def test_unknown_and_inactive_products_are_404(shop):
    pid = shop.admin.product(price=990, keys=3)
    r = shop.order(pid + 1000)
    assert r.status == 404 and error_of(r)["code"] == "not_found", r
    shop.admin.patch_product(pid, active=False)
    r = shop.order(pid)
    assert r.status == 404 and error_of(r)["code"] == "not_found", r
    assert counts(shop) == (0, 3, 0, 0)
    shop.admin.patch_product(pid, active=True)
    assert shop.order(pid).status == 201


def test_out_of_stock_is_409_and_writes_nothing(shop):
    pid = shop.admin.product(price=990, keys=3)
    other = shop.admin.product(name="Other", price=500, keys=2)
    r = shop.order(pid, 4)
    assert r.status == 409, r
    assert error_of(r)["code"] == "out_of_stock"
    assert not r.headers.get_all("set-cookie")
    assert counts(shop) == (0, 5, 0, 0)  # no order row, no key touched
    assert shop.stock(pid) == 3 and shop.stock(other) == 2
    # Exactly the stock is fine, then nothing is left.
    o = shop.order_ok(pid, 3)
    r = shop.order(pid, 1)
    assert r.status == 409 and error_of(r)["code"] == "out_of_stock", r
    assert counts(shop) == (1, 2, 3, 0)
    assert len(shop.key_rows(o["order_no"])) == 3
    # Keys of another product are never borrowed.
    assert shop.order(other, 3).status == 409
    assert shop.stock(other) == 2


# ---- the buyer's view -----------------------------------------------------------------------

def test_view_with_token_shows_keys_only_once_delivered(shop):
    keys = make_keys(3)
    pid = shop.admin.product(price=990, keys=keys)
    o = shop.order_ok(pid, 2)
    v = shop.view_ok(o)
    assert VIEW_FIELDS <= set(v), v
    assert v["order_no"] == o["order_no"] and v["status"] == "pending"
    assert v["amount"] == 1980 and v["currency"] == "CNY" and v["quantity"] == 2
    assert v["product_id"] == pid and v["paid_at"] is None
    assert isinstance(v["created_at"], int) and abs(v["created_at"] - time.time()) < 5
    assert not v.get("keys"), v  # reserved keys are not shown before payment

    assert shop.pay(o) == "success"
    v = shop.view_ok(o)
    assert v["status"] == "delivered" and isinstance(v["paid_at"], int)
    assert len(v["keys"]) == 2 and len(set(v["keys"])) == 2 and set(v["keys"]) <= set(keys), v


def test_view_without_the_right_token_is_the_same_404_as_an_unknown_order(shop):
    pid = shop.admin.product(price=990, keys=2)
    o = shop.order_ok(pid)
    other = shop.order_ok(pid)
    shop.pay(o)
    assert shop.status(o["order_no"]) == "delivered"
    unknown = shop.view("20000101aaaaaaaaaaaaaaaa", o["token"])
    assert unknown.status == 404 and error_of(unknown)["code"] == "not_found"
    attempts = {
        "no token": shop.view(o["order_no"]),
        "empty token": shop.view(o["order_no"], ""),
        "wrong token": shop.view(o["order_no"], "0" * len(o["token"])),
        "token of another order": shop.view(o["order_no"], other["token"]),
        "token with a suffix": shop.view(o["order_no"], o["token"] + "0"),
        "token prefix": shop.view(o["order_no"], o["token"][:-1]),
    }
    for what, r in attempts.items():
        assert r.status == 404, (what, r)
        assert r.body == unknown.body, (what, r.body, unknown.body)
        assert r.headers.get("content-type") == unknown.headers.get("content-type"), what
        assert b"KEY-" not in r.body


def test_cookie_set_at_creation_opens_the_order_without_token(shop):
    pid = shop.admin.product(price=990, keys=3)
    r = shop.order(pid)
    assert r.status == 201
    o = r.json()
    jar = {}
    for sc in r.headers.get_all("set-cookie"):
        name, _, value = sc.split(";", 1)[0].partition("=")
        jar[name.strip()] = value.strip()
    assert jar, r.headers
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    shop.pay(o)

    v = shop.view(o["order_no"], headers={"Cookie": cookie})
    assert v.status == 200, v
    assert v.json()["status"] == "delivered" and len(v.json()["keys"]) == 1

    # The cookie opens that order only; a forged cookie opens nothing.
    someone_else = shop.order_ok(pid)
    r = shop.view(someone_else["order_no"], headers={"Cookie": cookie})
    assert r.status == 404, r
    forged = f"cs_orders={someone_else['order_no']}.{'0' * len(someone_else['token'])}"
    r = shop.view(someone_else["order_no"], headers={"Cookie": forged})
    assert r.status == 404, r


def test_orders_cookie_keeps_its_attributes_in_a_busy_browser(shop):
    """One browser buying again and again: the cookie stays HttpOnly and well-formed
    (regression: from the 8th order the Set-Cookie header was cut at 512 bytes)."""
    pid = shop.admin.product(price=100, keys=12)
    jar = ""
    made = []
    for i in range(10):
        r = shop.srv.request("POST", "/api/orders", json={"product_id": pid, "quantity": 1, "email": BUYER,
                                                          "gateway": "epay"},
                             headers={"Cookie": jar} if jar else None, use_cookies=False)
        assert r.status == 201, r
        made.append(r.json())
        sc = [c for c in r.headers.get_all("set-cookie") if c.startswith("cs_orders=")]
        assert len(sc) == 1, r.headers
        attrs = [a.strip().lower() for a in sc[0].split(";")[1:]]
        assert "httponly" in attrs and "path=/" in attrs, (i + 1, sc[0])
        assert "samesite=lax" in attrs and any(a.startswith("max-age=") for a in attrs), (i + 1, sc[0])
        jar = sc[0].split(";", 1)[0]
        entries = jar.split("=", 1)[1].split("|")
        assert entries[0] == f"{made[-1]['order_no']}.{made[-1]['token']}", (i + 1, jar)
        known = {f"{o['order_no']}.{o['token']}" for o in made}
        assert all(e in known for e in entries), (i + 1, entries)  # no entry cut short
        assert shop.view(made[-1]["order_no"], headers={"Cookie": jar}).status == 200


def test_lookup_returns_that_buyers_orders_with_tokens(shop):
    pid = shop.admin.product(price=990, keys=6)
    mine = [shop.order_ok(pid, email="carol@example.com", query_password="s3cret-pw") for _ in range(2)]
    other_pw = shop.order_ok(pid, email="carol@example.com", query_password="another-pw")
    other_buyer = shop.order_ok(pid, email="dave@example.com", query_password="s3cret-pw")
    no_pw = shop.order_ok(pid, email="carol@example.com")

    def lookup(email, pw, **kw):
        return shop.srv.request("POST", "/api/orders/lookup", json={"email": email, "query_password": pw},
                                use_cookies=False, **kw)

    r = lookup("carol@example.com", "s3cret-pw")
    assert r.status == 200, r
    found = r.json()["orders"]
    assert sorted(x["order_no"] for x in found) == sorted(x["order_no"] for x in mine)
    for x in found:
        assert x["status"] == "pending" and x["amount"] == 990
        assert shop.view(x["order_no"], x["token"]).status == 200  # the token works

    for email, pw in [("carol@example.com", "wrong-pw"), ("carol@example.com", ""),
                      ("dave@example.com", "another-pw"), ("nobody@example.com", "s3cret-pw")]:
        r = lookup(email, pw)
        assert r.status == 200 and r.json() == {"orders": []}, (email, pw, r)
    assert [x["order_no"] for x in lookup("dave@example.com", "s3cret-pw").json()["orders"]] == \
        [other_buyer["order_no"]]
    assert [x["order_no"] for x in lookup("carol@example.com", "another-pw").json()["orders"]] == \
        [other_pw["order_no"]]
    assert no_pw["order_no"] not in str(lookup("carol@example.com", "").json())


def test_lookup_is_rate_limited_per_ip(shop):
    def lookup(ip):
        return shop.srv.request("POST", "/api/orders/lookup",
                                json={"email": "x@example.com", "query_password": "guess"},
                                headers={"X-Forwarded-For": ip}, use_cookies=False)

    for i in range(10):
        r = lookup("203.0.113.9")
        assert r.status == 200, (i, r)
    r = lookup("203.0.113.9")
    assert r.status == 429, r
    assert error_of(r)["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Another client is not punished for it.
    assert lookup("198.51.100.20").status == 200


# ---- expiry ---------------------------------------------------------------------------------

def test_unpaid_order_expires_and_its_keys_return_to_stock(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 2})
    pid = shop.admin.product(price=990, keys=3)
    o = shop.order_ok(pid, 2)
    created = shop.order_row(o["order_no"])["created_at"]
    assert o["expires_at"] == created + 2
    assert shop.stock(pid) == 1
    t0 = time.monotonic()
    shop.wait_status(o["order_no"], "expired", timeout=8)
    assert time.monotonic() - t0 >= 0.5  # not at once: only after its ttl
    assert shop.stock(pid) == 3
    assert shop.key_rows(o["order_no"]) == []
    assert counts(shop) == (1, 3, 0, 0)
    assert shop.view_ok(o)["status"] == "expired"
    # The freed keys sell again.
    assert shop.order(pid, 3).status == 201


# ---- the race for the last keys -------------------------------------------------------------

def test_sixty_buyers_race_for_the_last_ten_keys(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, server={"per_ip_connections": 1000}, threads=4)
    keys = make_keys(10)
    pid = shop.admin.product(price=990, keys=keys)
    n = 60
    barrier = threading.Barrier(n)
    results = [None] * n

    def buy(i):
        barrier.wait()
        try:
            results[i] = shop.order(pid, 1, email=f"buyer{i}@example.com")
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    errors = [r for r in results if not isinstance(r, harness.Response)]
    assert not errors, errors[:3]
    created = [r.json() for r in results if r.status == 201]
    refused = [r for r in results if r.status != 201]
    assert len(created) == 10, [r.status for r in results]
    assert len(refused) == 50
    assert all(r.status == 409 and error_of(r)["code"] == "out_of_stock" for r in refused), refused[:3]
    assert shop.stock(pid) == 0
    assert shop.value("SELECT count(*) FROM orders") == 10

    for o in created:
        assert shop.pay(o) == "success", o
    delivered = []
    for o in created:
        v = shop.view_ok(o)
        assert v["status"] == "delivered", v
        assert len(v["keys"]) == 1
        delivered += v["keys"]
    assert sorted(delivered) == sorted(keys)  # ten distinct keys, every key once
    rows = shop.rows("SELECT id, status, order_id FROM card_keys WHERE product_id = ?", (pid,))
    assert all(r["status"] == "sold" for r in rows)
    assert len({r["order_id"] for r in rows}) == 10  # no key in two orders, no order with two
    assert shop.value("SELECT count(*) FROM payments") == 10
    assert shop.stock(pid) == 0
