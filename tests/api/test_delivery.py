"""Orders settled without a gateway payment: free orders (a 100% coupon) and merchant delivery
of paid manual-delivery or paid-but-undelivered orders (POST /api/admin/orders/{no}/deliver)."""

import pytest

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import error_of, make_keys, start_shop, wait_until


def test_free_order_is_delivered_at_once(make_server, sink):  # noqa: F811
    shop = start_shop(make_server, sandbox=True, sink=sink)
    pid = shop.admin.product(name="Free card", price=500, keys=["FREE-ONE", "FREE-TWO"])
    shop.admin.coupon("ALLFREE", "percent", 100)
    order = shop.order_ok(pid, 1, gateway="sandbox", coupon="ALLFREE")
    assert order["amount"] == 0 and order["status"] == "delivered"
    assert order["pay_url"].startswith("/shop/order?order_no=" + order["order_no"])
    view = shop.view_ok(order)
    assert view["status"] == "delivered" and len(view["keys"]) == 1
    assert view["keys"][0] in ("FREE-ONE", "FREE-TWO")
    assert shop.stock(pid) == 1
    assert shop.value("SELECT count(*) FROM payments") == 0
    wait_until(lambda: any(view["keys"][0] in m.body for m in sink.messages), 10, message="mail")


def _paid_manual_order(shop, quantity=2):
    pid = shop.admin.product(name="Hand made", price=1000, delivery="manual")
    order = shop.order_ok(pid, quantity)
    assert shop.pay(order) == "success"
    assert shop.status(order["order_no"]) == "paid"
    return pid, order


def test_merchant_delivers_a_manual_order_with_new_keys(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid, order = _paid_manual_order(shop)
    keys = make_keys(2, "HAND")
    r = shop.admin.call("POST", f"/api/admin/orders/{order['order_no']}/deliver",
                        body="\r\n".join(keys) + "\r\n", headers={"Content-Type": "text/plain"})
    assert r.status == 200, r
    assert r.json()["status"] == "delivered"
    view = shop.view_ok(order)
    assert sorted(view["keys"]) == sorted(keys)
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'") == 2
    assert shop.value("SELECT count(*) FROM audit_log WHERE action = 'order.deliver'") == 1
    wait_until(lambda: any(keys[0] in m.body and keys[1] in m.body for m in sink.messages), 10,
               message="delivery mail with both keys")
    # A second delivery of the same order is refused and changes nothing.
    again = shop.admin.call("POST", f"/api/admin/orders/{order['order_no']}/deliver",
                            body="\n".join(make_keys(2, "MORE")), headers={"Content-Type": "text/plain"})
    assert again.status == 409 and error_of(again)["code"] == "conflict"
    assert sorted(shop.view_ok(order)["keys"]) == sorted(keys)


@pytest.mark.parametrize("body, code", [
    ("ONLY-ONE\n", "invalid_request"),           # the order needs 2
    ("A-1\nA-2\nA-3\n", "invalid_request"),      # too many
])
def test_wrong_number_of_keys_is_refused(make_server, epay, body, code):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    _, order = _paid_manual_order(shop)
    r = shop.admin.call("POST", f"/api/admin/orders/{order['order_no']}/deliver", body=body,
                        headers={"Content-Type": "text/plain"})
    assert r.status == 400 and error_of(r)["code"] == code
    assert shop.status(order["order_no"]) == "paid"
    assert shop.value("SELECT count(*) FROM card_keys") == 0


def test_key_already_stored_is_refused_atomically(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid, order = _paid_manual_order(shop)
    shop.admin.add_keys(pid, ["TAKEN-KEY"])
    r = shop.admin.call("POST", f"/api/admin/orders/{order['order_no']}/deliver",
                        body="NEW-KEY\nTAKEN-KEY\n", headers={"Content-Type": "text/plain"})
    assert r.status == 409, r
    assert shop.status(order["order_no"]) == "paid"
    assert shop.value("SELECT count(*) FROM card_keys") == 1  # NEW-KEY rolled back


def test_paid_undelivered_order_is_delivered_from_new_stock(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 1})
    pid = shop.admin.product(name="Scarce", price=700, keys=["SCARCE-1"])
    order = shop.order_ok(pid, 1)
    shop.open_pay_url(order)
    shop.wait_status(order["order_no"], "expired", timeout=10)
    # Someone else buys the key back off the shelf; then the late payment arrives.
    other = shop.order_ok(pid, 1, email="other@example.com")
    assert shop.pay(other) == "success"
    assert shop.pay(order) == "success"
    assert shop.status(order["order_no"]) == "paid_undelivered"
    empty = shop.admin.call("POST", f"/api/admin/orders/{order['order_no']}/deliver")
    assert empty.status == 409 and error_of(empty)["code"] == "out_of_stock"
    shop.admin.add_keys(pid, ["RESTOCK-1"])
    r = shop.admin.call("POST", f"/api/admin/orders/{order['order_no']}/deliver")
    assert r.status == 200, r
    assert shop.view_ok(order)["keys"] == ["RESTOCK-1"]


def test_delivery_needs_admin_and_csrf(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    _, order = _paid_manual_order(shop)
    path = f"/api/admin/orders/{order['order_no']}/deliver"
    anon = shop.srv.request("POST", path, body="K-1\nK-2\n", headers={"Content-Type": "text/plain"},
                            use_cookies=False)
    assert anon.status == 401
    no_csrf = shop.srv.request("POST", path, body="K-1\nK-2\n", use_cookies=False,
                               headers={"Content-Type": "text/plain", "Cookie": shop.admin.cookie})
    assert no_csrf.status == 403
    assert shop.status(order["order_no"]) == "paid"


def test_pending_or_unknown_orders_cannot_be_delivered(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(name="Auto", price=100, keys=3)
    order = shop.order_ok(pid, 1)
    r = shop.admin.call("POST", f"/api/admin/orders/{order['order_no']}/deliver")
    assert r.status == 409
    assert shop.status(order["order_no"]) == "pending"
    r = shop.admin.call("POST", "/api/admin/orders/nosuchorder/deliver")
    assert r.status == 404


def test_delivery_mode_is_fixed_when_the_order_is_placed(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    auto_pid = shop.admin.product(name="Was auto", price=100, keys=["WA-1", "WA-2"])
    manual_pid = shop.admin.product(name="Was manual", price=100, delivery="manual")
    shop.admin.add_keys(manual_pid, ["WM-1"])
    auto_order = shop.order_ok(auto_pid)          # reserves a key
    manual_order = shop.order_ok(manual_pid)      # reserves nothing
    shop.admin.patch_product(auto_pid, delivery="manual")
    shop.admin.patch_product(manual_pid, delivery="auto")
    assert shop.pay(auto_order) == "success"
    assert shop.pay(manual_order) == "success"
    # Each order is handled as it was placed: the first gets its reserved key, the second
    # waits for the merchant; no key is left reserved for nothing.
    assert shop.status(auto_order["order_no"]) == "delivered"
    assert shop.view_ok(auto_order)["keys"][0] in ("WA-1", "WA-2")
    assert shop.status(manual_order["order_no"]) == "paid"
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'reserved'") == 0


def test_late_manual_payment_keeps_its_coupon_used(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 1})
    pid = shop.admin.product(name="Manual coupon", price=1000, delivery="manual")
    shop.admin.coupon("ONLYONCE", "fixed", 100, uses=1)
    order = shop.order_ok(pid, coupon="ONLYONCE")
    shop.open_pay_url(order)
    shop.wait_status(order["order_no"], "expired", timeout=10)
    assert shop.pay(order) == "success"
    assert shop.status(order["order_no"]) == "paid"
    row = shop.rows("SELECT used, uses_left FROM coupons WHERE code = 'ONLYONCE'")[0]
    assert row == {"used": 1, "uses_left": 0}
    again = shop.order(pid, coupon="ONLYONCE")
    assert again.status == 422


def test_notify_with_a_flood_of_parameters_is_cheap_and_stored_short(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    body = "&".join(f"p{i}=" for i in range(50000)).encode()
    r = shop.srv.request("POST", "/pay/epay/notify", body=body, use_cookies=False,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200 and r.text == "fail"
    ev = shop.events()
    assert len(ev) == 1 and ev[0]["outcome"] == "rejected: too many parameters"
    assert len(ev[0]["raw"]) <= 4096


def test_blank_body_is_not_taken_for_from_stock(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid, order = _paid_manual_order(shop, quantity=1)
    shop.admin.add_keys(pid, ["STOCK-1"])
    r = shop.admin.call("POST", f"/api/admin/orders/{order['order_no']}/deliver", body="\n  \r\n",
                        headers={"Content-Type": "text/plain"})
    assert r.status == 400 and error_of(r)["code"] == "invalid_request"
    assert shop.status(order["order_no"]) == "paid"
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'available'") == 1
