"""Small hostile inputs and operator slips: a base URL ending in '/', long Chinese product
names in the EPay pay_url, forged notifies with invalid UTF-8 in the admin's events list.

Black-box against the real binary and the fake EPay gateway."""

import urllib.parse

import harness
from fakes.fake_epay import parse_url_params
from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import ShopAdmin, Shop, ADMIN_PASSWORD, ADMIN_USER, shop_config, start_shop


def test_base_url_with_a_trailing_slash_gives_notify_urls_that_work(make_server, epay):  # noqa: F811
    srv = make_server(shop_config(epay=epay), start=False)
    port = harness.free_port()
    srv.extra_config["server"]["base_url"] = f"http://127.0.0.1:{port}//"
    srv.add_admin(ADMIN_USER, ADMIN_PASSWORD)
    srv.start(port=port)
    shop = Shop(srv=srv, admin=ShopAdmin(srv, create=False), epay=epay)
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    p = parse_url_params(o["pay_url"])
    assert p["notify_url"] == f"http://127.0.0.1:{port}/pay/epay/notify", p
    assert p["return_url"] == f"http://127.0.0.1:{port}/pay/epay/return", p
    assert shop.pay(o) == "success"
    assert shop.status(o["order_no"]) == "delivered"


def test_a_long_chinese_product_name_is_cut_between_characters(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    name = "充值卡" * 40  # 120 characters, 360 bytes: past the 200 bytes a pay_url name gets
    pid = shop.admin.product(name=name, price=990, keys=1)
    o = shop.order_ok(pid)
    query = urllib.parse.urlsplit(o["pay_url"]).query
    raw = [urllib.parse.unquote_to_bytes(v) for k, v in (kv.split("=", 1) for kv in query.split("&"))
           if k == "name"]
    assert len(raw) == 1
    text = raw[0].decode("utf-8")  # strict: a cut character raises here
    assert name.startswith(text) and 0 < len(raw[0]) <= 200, text
    shop.open_pay_url(o)
    assert shop.pay(o) == "success"


def test_a_forged_notify_with_invalid_utf8_is_listed_for_the_admin(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    url = shop.epay.order(o["order_no"]).notify_url
    raw = "out_trade_no=%ff%feX1&trade_no=T%c3%28&money=9.90&pid=1&sign=" + "0" * 32
    assert shop.epay.send_notify(url, [], method="POST", raw=raw) == (200, "fail")
    assert shop.value("SELECT count(*) FROM payment_events") == 1
    r = shop.admin.call("GET", "/api/admin/payment-events")
    assert r.status == 200, r
    events = r.json()["events"]
    assert len(events) == 1, events
    e = events[0]
    assert e["verified"] is False
    assert e["order_no"] == "\ufffd\ufffdX1" and e["trade_no"] == "T\ufffd(", e
    assert "out_trade_no" in e["raw"], e
