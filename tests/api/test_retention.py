"""Retention of abandoned orders: an order cancelled by the merchant (never paid) is dropped
after the same 90 days as an expired one, by the same sweep, and giving nothing back a second
time (its keys and coupon use went back at the cancel); an order that was ever paid (refunded,
delivered) stays. Orders are aged by moving created_at back while the server is stopped; the
sweep runs on the jobs thread's first tick after the start."""

import time

import pytest

from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import make_keys, start_shop, wait_until

DAY = 86400


@pytest.fixture
def shop(make_server, epay):  # noqa: F811
    return start_shop(make_server, epay=epay, shop={"pending_per_client": 1000})


def act_ok(shop, order_no, action):
    r = shop.admin.call("POST", f"/api/admin/orders/{order_no}/{action}", json={"note": "test"})
    assert r.status == 200, r


def books(shop):
    return {
        "stock": shop.rows("SELECT * FROM product_stock ORDER BY product_id"),
        "keys": shop.rows("SELECT id, status FROM card_keys ORDER BY id"),
        "coupons": shop.rows("SELECT id, used, uses_left FROM coupons ORDER BY id"),
    }


def test_cancelled_orders_follow_the_expired_retention_and_paid_ones_stay(shop):
    pid = shop.admin.product(name="Kept books", price=500, keys=make_keys(10))
    shop.admin.coupon("TENOFF", "percent", 10, uses=5)
    cancelled_old = shop.order_ok(pid, 2, coupon="TENOFF")
    cancelled_new = shop.order_ok(pid, 1)
    refunded_old = shop.order_ok(pid, 1)
    delivered_old = shop.order_ok(pid, 1)
    for o in (cancelled_old, cancelled_new):
        act_ok(shop, o["order_no"], "cancel")
    for o in (refunded_old, delivered_old):
        assert shop.pay(o) == "success"
        shop.wait_status(o["order_no"], "delivered")
    act_ok(shop, refunded_old["order_no"], "refund")
    # The cancel gave the keys and the coupon use back: 8 free, 2 sold, 5 uses left.
    assert shop.stock(pid) == 8
    assert shop.value("SELECT uses_left FROM coupons WHERE code = 'TENOFF'") == 5
    before = books(shop)

    shop.srv.stop()
    now = int(time.time())
    c = shop.srv.db()
    try:
        for o, age in ((cancelled_old, 91), (cancelled_new, 89), (refunded_old, 400), (delivered_old, 400)):
            c.execute("UPDATE orders SET created_at = ? WHERE order_no = ?", (now - age * DAY, o["order_no"]))
        c.commit()
    finally:
        c.close()
    shop.srv.start()

    wait_until(lambda: shop.value("SELECT count(*) FROM orders WHERE order_no = ?",
                                  (cancelled_old["order_no"],)) == 0, 10, message="old cancelled order pruned")
    left = {r["order_no"]: r["status"] for r in shop.rows("SELECT order_no, status FROM orders")}
    assert left == {cancelled_new["order_no"]: "cancelled", refunded_old["order_no"]: "refunded",
                    delivered_old["order_no"]: "delivered"}
    # Nothing was released twice: keys, stock counters and coupon uses are as they were.
    assert books(shop) == before
    assert shop.stock(pid) == 8
    # The buyer's link of the pruned order is an unknown order now; the kept ones still show.
    assert shop.view(cancelled_old["order_no"], cancelled_old["token"]).status == 404
    assert shop.view_ok(refunded_old)["status"] == "refunded"
    assert len(shop.view_ok(delivered_old)["keys"]) == 1
    line = shop.srv.wait_for_log(lambda e: e.get("msg") == "retention prune")
    assert line["abandoned_orders"] == 1
