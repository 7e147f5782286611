"""Integration checks from the review of the merged branches: a payment that arrives after the
merchant switched its gateway off is still applied (the money is real), exactly once."""

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import start_shop


def _patch(shop, body):
    r = shop.admin.call("PATCH", "/api/admin/settings", json=body)
    assert r.status == 200, r
    return r


def test_notify_of_a_gateway_switched_off_meanwhile_is_applied_once(make_server, epay):  # noqa: F811
    # EPay's keys in the file, its switch in the settings (so the merchant can turn it off live).
    shop = start_shop(make_server, extra={"payment.epay": {"api_url": epay.url, "pid": epay.pid,
                                                           "key": epay.key}})
    shop.epay = epay
    _patch(shop, {"payment.epay.enabled": True})
    pid = shop.admin.product(price=700, keys=2)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    _patch(shop, {"payment.epay.enabled": False})
    assert "epay" not in shop.srv.get("/api/config").json()["gateways"]
    assert shop.order(pid).status == 400  # no new order through it
    # The buyer paid before the switch: EPay's notify is verified and applied, once.
    assert shop.pay(o) == "success"
    assert shop.status(o["order_no"]) == "delivered"
    assert shop.pay(o) == "success"
    assert [e["outcome"] for e in shop.events(o["order_no"])] == ["delivered", "repeat"]
    # A forged one for another order is still refused.
    o2_no = "0" * 20
    r = shop.srv.request("GET", f"/pay/epay/notify?out_trade_no={o2_no}&trade_no=X&money=7.00"
                         f"&pid={epay.pid}&trade_status=TRADE_SUCCESS&sign=bad", use_cookies=False)
    assert r.status == 200 and r.text != "success"


def test_admin_detail_of_a_loop_order_shows_its_key_masked(make_server, epay):  # noqa: F811
    """The order detail's "keys" are what the buyer got: a loop order's linked key too, masked
    (the one shown in clear on demand is the same)."""
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(name="Shared", price=300, loop=True, keys=["LOOPKEY-AAAA-BBBB-CCCC"])
    o = shop.order_ok(pid)
    assert shop.pay(o) == "success" and shop.status(o["order_no"]) == "delivered"
    d = shop.admin.call("GET", f"/api/admin/orders/{o['order_no']}").json()
    assert [k["masked"] for k in d["keys"]] == ["LOOP****CCCC"], d["keys"]
    assert "LOOPKEY-AAAA-BBBB-CCCC" not in str(d)
    shown = shop.admin.call("GET", f"/api/admin/orders/{o['order_no']}/keys").json()["keys"]
    assert shown == ["LOOPKEY-AAAA-BBBB-CCCC"]


def test_orders_a_gateway_refuses_do_not_take_it_out_of_the_checkout(make_server):
    """The breaker counts a gateway that cannot be reached, not one order it (or our check)
    refuses: a buyer whose order cannot be charged (a fraction of a yen after a coupon) must not
    take Stripe away from every other buyer."""
    from fakes.fake_stripe import FakeStripe, SECRET_KEY, WEBHOOK_SECRET
    st = FakeStripe().start()
    try:
        shop = start_shop(make_server, shop={"currency": "JPY"},
                          extra={"payment": {"breaker_failures": 2},
                                 "payment.stripe": {"enabled": True, "api_url": st.url,
                                                    "secret_key": SECRET_KEY,
                                                    "webhook_secret": WEBHOOK_SECRET}})
        pid = shop.admin.product(price=1000, keys=5)  # ¥10
        shop.admin.coupon("ODD15", "percent", 15)  # ¥8.5: not chargeable in yen
        for i in range(3):
            r = shop.order(pid, gateway="stripe", coupon="ODD15", email=f"odd{i}@example.com")
            assert r.status == 503, r
        assert "stripe" in shop.srv.get("/api/config").json()["gateways"]
        ok = shop.order(pid, gateway="stripe", email="plain@example.com")
        assert ok.status == 201, ok
        assert shop.stock(pid) == 4
    finally:
        st.stop()
