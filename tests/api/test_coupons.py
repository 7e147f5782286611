"""Coupons at checkout: percent and fixed discounts in the amount (and in the gateway's money),
used-up, expired, unknown and foreign codes refused with no order written, uses taken
atomically under concurrency and given back when an order expires or cannot be created."""

import threading
import time

import pytest

from fakes.fake_epay import parse_url_params
from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import error_of, start_shop


@pytest.fixture
def shop(make_server, epay):  # noqa: F811
    return start_shop(make_server, epay=epay, server={"per_ip_connections": 1000}, threads=4)


def coupon_row(shop, code):
    rows = shop.rows("SELECT * FROM coupons WHERE code = ?", (code,))
    assert len(rows) == 1, rows
    return rows[0]


def assert_refused(shop, r, pid, stock, orders):
    assert r.status == 422, r
    err = error_of(r)
    assert err["code"] == "unprocessable" and "coupon" in err["message"], err
    assert shop.value("SELECT count(*) FROM orders") == orders
    assert shop.stock(pid) == stock


def test_percent_coupon(shop):
    pid = shop.admin.product(price=990, keys=5)
    shop.admin.coupon("SPRING20", "percent", 20)
    o = shop.order_ok(pid, 3, coupon="SPRING20")  # 2970 - 20 % = 2376
    assert o["amount"] == 2376
    assert parse_url_params(o["pay_url"])["money"] == "23.76"
    row = shop.order_row(o["order_no"])
    assert row["amount"] == 2376 and row["discount"] == 594 and row["unit_price"] == 990
    assert row["coupon_id"] == coupon_row(shop, "SPRING20")["id"]
    assert coupon_row(shop, "SPRING20")["used"] == 3  # one use per unit at the discount
    assert shop.view_ok(o)["amount"] == 2376
    # The gateway is paid the discounted amount, and that is what the shop accepts.
    assert shop.pay(o) == "success"
    assert shop.status(o["order_no"]) == "delivered"
    full = shop.order_ok(pid, 1)
    assert full["amount"] == 990  # no coupon, no discount


def test_percent_coupon_of_1(shop):
    pid = shop.admin.product(price=2000, keys=2)
    shop.admin.coupon("ONE", "percent", 1)
    assert shop.order_ok(pid, 1, coupon="ONE")["amount"] == 1980


def assert_settled_free(shop, o, pid, stock):
    """An order that costs nothing is delivered at once: no gateway, keys shown."""
    assert o["amount"] == 0 and o["status"] == "delivered", o
    assert "/submit.php" not in o["pay_url"] and o["order_no"] in o["pay_url"], o
    v = shop.view_ok(o)
    assert v["status"] == "delivered" and len(v["keys"]) == v["quantity"], v
    assert shop.stock(pid) == stock
    assert shop.value("SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id"
                      " WHERE o.order_no = ?", (o["order_no"],)) == 0
    assert o["order_no"] not in shop.epay.orders


def test_percent_coupon_of_100_settles_the_order_at_once(shop):
    pid = shop.admin.product(price=2000, keys=3)
    shop.admin.coupon("ALL", "percent", 100)
    o = shop.order_ok(pid, 2, coupon="ALL")
    assert_settled_free(shop, o, pid, stock=1)
    assert coupon_row(shop, "ALL")["used"] == 2


def test_fixed_coupon(shop):
    """A use is one unit at the discount: a fixed coupon takes its value off each unit."""
    pid = shop.admin.product(price=990, keys=5)
    shop.admin.coupon("MINUS5", "fixed", 500)
    o = shop.order_ok(pid, 2, coupon="MINUS5")  # 1980 - 2 x 500
    assert o["amount"] == 980
    assert parse_url_params(o["pay_url"])["money"] == "9.80"
    row = shop.order_row(o["order_no"])
    assert row["discount"] == 1000 and row["amount"] == 980 and row["coupon_uses"] == 2
    assert shop.pay(o) == "success"
    assert shop.status(o["order_no"]) == "delivered"
    # A fixed discount never takes the amount below zero.
    shop.admin.coupon("HUGE", "fixed", 100000)
    assert_settled_free(shop, shop.order_ok(pid, 1, coupon="HUGE"), pid, stock=2)


def test_used_up_coupon_is_422_and_writes_nothing(shop):
    pid = shop.admin.product(price=990, keys=5)
    shop.admin.coupon("ONCE", "fixed", 100, uses=1)
    first = shop.order_ok(pid, 1, coupon="ONCE")
    assert first["amount"] == 890
    c = coupon_row(shop, "ONCE")
    assert c["uses_left"] == 0 and c["used"] == 1
    r = shop.order(pid, 1, coupon="ONCE")
    assert_refused(shop, r, pid, stock=4, orders=1)
    assert "cs_orders" not in str(r.headers.get_all("set-cookie"))
    c = coupon_row(shop, "ONCE")
    assert c["uses_left"] == 0 and c["used"] == 1
    # Without the coupon the buyer can still order.
    assert shop.order_ok(pid, 1)["amount"] == 990


def test_expired_coupon_is_422(shop):
    pid = shop.admin.product(price=990, keys=5)
    now = int(time.time())
    shop.admin.coupon("OLD", "percent", 10, expires_at=now - 60)
    shop.admin.coupon("FRESH", "percent", 10, expires_at=now + 3600)
    assert_refused(shop, shop.order(pid, 1, coupon="OLD"), pid, stock=5, orders=0)
    assert coupon_row(shop, "OLD")["used"] == 0
    assert shop.order_ok(pid, 1, coupon="FRESH")["amount"] == 891


def test_unknown_coupon_is_422(shop):
    pid = shop.admin.product(price=990, keys=5)
    shop.admin.coupon("REAL", "percent", 10)
    for code in ["NOPE", "REAL2", "REA", "REAL "]:
        assert_refused(shop, shop.order(pid, 1, coupon=code), pid, stock=5, orders=0)
    assert coupon_row(shop, "REAL")["used"] == 0


def test_coupon_for_another_product_is_422(shop):
    a = shop.admin.product(name="A", price=990, keys=2)
    b = shop.admin.product(name="B", price=990, keys=2)
    shop.admin.coupon("ONLYA", "fixed", 100, product_id=a)
    assert_refused(shop, shop.order(b, 1, coupon="ONLYA"), b, stock=2, orders=0)
    assert coupon_row(shop, "ONLYA")["used"] == 0
    assert shop.order_ok(a, 1, coupon="ONLYA")["amount"] == 890


def test_out_of_stock_order_keeps_the_coupon_use(shop):
    pid = shop.admin.product(price=990, keys=2)
    shop.admin.coupon("ONCE", "fixed", 100, uses=1)
    r = shop.order(pid, 3, coupon="ONCE")
    assert r.status == 409 and error_of(r)["code"] == "out_of_stock", r
    c = coupon_row(shop, "ONCE")
    assert c["uses_left"] == 1 and c["used"] == 0  # taken and rolled back with the order
    assert shop.value("SELECT count(*) FROM orders") == 0
    assert shop.order_ok(pid, 2, coupon="ONCE")["amount"] == 1880


def test_concurrent_buyers_share_a_limited_coupon_exactly(shop):
    pid = shop.admin.product(price=990, keys=30)
    shop.admin.coupon("FIVE", "percent", 50, uses=5)
    n = 20
    barrier = threading.Barrier(n)
    results = [None] * n

    def buy(i):
        barrier.wait()
        results[i] = shop.order(pid, 1, email=f"b{i}@example.com", coupon="FIVE")

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(r.status for r in results)
    assert statuses == [201] * 5 + [422] * 15, statuses
    assert all(r.json()["amount"] == 495 for r in results if r.status == 201)
    c = coupon_row(shop, "FIVE")
    assert c["uses_left"] == 0 and c["used"] == 5
    assert shop.value("SELECT count(*) FROM orders WHERE coupon_id IS NOT NULL") == 5
    assert shop.stock(pid) == 25


def test_expired_order_gives_its_coupon_use_back(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 2})
    pid = shop.admin.product(price=990, keys=5)
    shop.admin.coupon("ONCE", "fixed", 200, uses=1)
    first = shop.order_ok(pid, 1, coupon="ONCE")
    assert shop.order(pid, 1, coupon="ONCE").status == 422
    shop.wait_status(first["order_no"], "expired", timeout=8)
    c = coupon_row(shop, "ONCE")
    assert c["uses_left"] == 1 and c["used"] == 0, c
    second = shop.order_ok(pid, 1, coupon="ONCE")
    assert second["amount"] == 790
    assert shop.order(pid, 1, coupon="ONCE").status == 422


def test_late_payment_of_an_expired_order_keeps_its_coupon_used(make_server, epay):  # noqa: F811
    """Expiry gives the use back; a payment arriving later sells at the discount, so the use is
    taken again (regression: a single-use coupon used to sell twice)."""
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 2})
    pid = shop.admin.product(price=990, keys=5)
    shop.admin.coupon("ONCE", "fixed", 200, uses=1)
    first = shop.order_ok(pid, 1, coupon="ONCE")
    shop.open_pay_url(first)
    shop.wait_status(first["order_no"], "expired", timeout=8)
    assert shop.epay.pay(first["order_no"]) == "success"
    assert shop.status(first["order_no"]) == "delivered"  # sold with the discount after all
    c = coupon_row(shop, "ONCE")
    assert (c["uses_left"], c["used"]) == (0, 1), c
    r = shop.order(pid, 1, coupon="ONCE")
    assert r.status == 422, r


def test_expiry_and_late_payment_move_every_use_an_order_took(make_server, epay):  # noqa: F811
    """An order of 3 covered by a coupon takes 3 uses; expiry gives the 3 back, and a payment
    arriving after that takes them again (never below zero)."""
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 2})
    pid = shop.admin.product(price=1000, keys=10)
    shop.admin.coupon("FIVE", "fixed", 100, uses=5)
    o = shop.order_ok(pid, 3, coupon="FIVE")
    assert o["amount"] == 2700
    c = coupon_row(shop, "FIVE")
    assert (c["used"], c["uses_left"]) == (3, 2), c
    shop.open_pay_url(o)
    shop.wait_status(o["order_no"], "expired", timeout=8)
    c = coupon_row(shop, "FIVE")
    assert (c["used"], c["uses_left"]) == (0, 5), c
    assert shop.epay.pay(o["order_no"]) == "success"
    assert shop.status(o["order_no"]) == "delivered"
    c = coupon_row(shop, "FIVE")
    assert (c["used"], c["uses_left"]) == (3, 2), c
