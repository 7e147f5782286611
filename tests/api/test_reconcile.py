"""Lost callbacks: an EPay order paid at the gateway whose notify never reached us is found by
asking the gateway (api.php?act=order) before the order expires, and delivered exactly once."""

import time

from fakes.fixtures import epay  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import start_shop, wait_until


def _paid_at_gateway_only(epay, order_no, trade_no):
    o = epay.order(order_no)
    o.paid = True
    o.trade_no = trade_no


def test_lost_notify_is_recovered_before_expiry(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 2})
    pid = shop.admin.product(price=450, keys=3)
    order = shop.order_ok(pid, 2)
    shop.open_pay_url(order)
    _paid_at_gateway_only(epay, order["order_no"], "T-LOST-0001")
    shop.wait_status(order["order_no"], "delivered", timeout=10)
    view = shop.view_ok(order)
    assert len(view["keys"]) == 2
    pay = shop.rows("SELECT gateway, trade_no, amount FROM payments")
    assert pay == [{"gateway": "epay", "trade_no": "T-LOST-0001", "amount": 900}]
    ev = shop.events(order["order_no"])
    assert ev[-1]["client_ip"] == "reconcile" and ev[-1]["outcome"] == "delivered"
    # The notify that finally arrives is a repeat: success, nothing more delivered.
    assert shop.pay(order, trade_no="T-LOST-0001") == "success"
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'") == 2
    assert shop.events(order["order_no"])[-1]["outcome"] == "repeat"


def test_unpaid_order_expires_after_asking(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 1})
    pid = shop.admin.product(price=450, keys=1)
    order = shop.order_ok(pid)
    shop.open_pay_url(order)
    shop.wait_status(order["order_no"], "expired", timeout=10)
    assert shop.stock(pid) == 1
    assert shop.value("SELECT count(*) FROM payments") == 0


def test_wrong_amount_from_the_query_is_not_accepted(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 1})
    pid = shop.admin.product(price=450, keys=1)
    order = shop.order_ok(pid)
    shop.open_pay_url(order)
    _paid_at_gateway_only(epay, order["order_no"], "T-CHEAP-1")
    epay.order(order["order_no"]).money = "0.01"
    shop.wait_status(order["order_no"], "expired", timeout=10)
    ev = wait_until(lambda: shop.events(order["order_no"]), 5, message="a stored event")
    assert ev[-1]["outcome"].startswith("rejected") and "amount" in ev[-1]["outcome"]


def test_unreachable_gateway_keeps_the_order_pending(make_server, epay):  # noqa: F811
    """While the gateway cannot be asked, an order it may have been paid through keeps its keys
    (for up to an hour) instead of going back on sale."""
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 1})
    pid = shop.admin.product(price=450, keys=1)
    order = shop.order_ok(pid)
    shop.open_pay_url(order)
    epay.stop()
    time.sleep(3.5)
    assert shop.status(order["order_no"]) == "pending"
    assert shop.stock(pid) == 0
    assert "gateway query failed" in shop.srv.log_text()


def test_many_lost_callbacks_are_all_recovered(make_server, epay):  # noqa: F811
    """More orders fall due at once than one pass asks about: none of them is expired unasked."""
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 2})
    pid = shop.admin.product(price=100, keys=30)
    orders = [shop.order_ok(pid) for _ in range(25)]
    for i, o in enumerate(orders):
        shop.open_pay_url(o)
        _paid_at_gateway_only(epay, o["order_no"], f"T-MANY-{i:04d}")
    wait_until(lambda: shop.value("SELECT count(*) FROM orders WHERE status = 'delivered'") == 25,
               20, message="all 25 orders delivered")
    assert shop.value("SELECT count(*) FROM payments") == 25
    assert shop.value("SELECT count(*) FROM orders WHERE status = 'expired'") == 0


def test_gateway_is_never_asked_in_the_clear_off_this_machine(make_server):
    """The order query carries the merchant key and its answer is unsigned: over plain http to
    another host it is not made, and orders expire at their time."""
    shop = start_shop(make_server, shop={"order_ttl": 1},
                      extra={"payment.epay": {"enabled": True, "api_url": "http://pay.example.invalid/",
                                              "pid": "1001", "key": "some-merchant-key"}})
    pid = shop.admin.product(price=450, keys=1)
    order = shop.order_ok(pid)
    shop.wait_status(order["order_no"], "expired", timeout=10)
    assert "gateway query failed" not in shop.srv.log_text()
    assert shop.stock(pid) == 1
