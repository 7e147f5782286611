"""Alipay 当面付 against a loopback fake that signs and checks with the official alipay-sdk:
precreate (RSA2-signed request) → qr_code shown as an SVG QR code → the signed notify delivers
exactly once; every bad notify is refused and changes nothing; a withheld notify is found with
alipay.trade.query; a gateway that cannot create the payment gives the keys back."""

import calendar
import json
import re
import time

import pytest

from fakes.fake_qr import FakeAlipay, node_available
from fakes.shop_setup import error_of, start_shop

pytestmark = pytest.mark.skipif(node_available() is not None, reason=str(node_available()))


@pytest.fixture
def alipay(tmp_path):
    gw = FakeAlipay(tmp_path).start()
    yield gw
    gw.stop()


def _shop(make_server, gw, shop=None, **over):
    return start_shop(make_server, shop=shop, extra={"payment.alipay": gw.shop_config(**over)})


def _sold(shop):
    return shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'")


def test_purchase_through_alipay(make_server, alipay):
    shop = _shop(make_server, alipay)
    assert "alipay" in shop.srv.get("/api/config").json()["gateways"]
    pid = shop.admin.product(name="月卡 Steam", price=1990, keys=3)
    before = int(time.time())
    order = shop.order_ok(pid, 1, gateway="alipay")

    # The precreate the fake saw: signed with our key (checked by the SDK), the common params.
    [req] = alipay.requests()
    assert req["signature_ok"] is True
    p = req["params"]
    assert p["method"] == "alipay.trade.precreate" and p["app_id"] == alipay.app_id
    assert (p["charset"], p["sign_type"], p["version"]) == ("utf-8", "RSA2", "1.0")
    assert p["notify_url"] == shop.srv.base_url + "/pay/alipay/notify"
    # timestamp in Asia/Shanghai (UTC+8), "yyyy-MM-dd HH:mm:ss"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", p["timestamp"])
    sent = calendar.timegm(time.strptime(p["timestamp"], "%Y-%m-%d %H:%M:%S")) - 8 * 3600
    assert before - 2 <= sent <= time.time() + 2
    biz = json.loads(p["biz_content"])
    assert biz["out_trade_no"] == order["order_no"] and biz["total_amount"] == "19.90"
    assert biz["subject"] == "月卡 Steam"
    expire = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(order["expires_at"] + 8 * 3600))
    assert biz["time_expire"] == expire

    # The qr_code comes back with the order and the shop's own pay page is the pay_url.
    assert order["qr"].startswith("https://qr.alipay.com/")
    assert order["pay_url"] == f"/shop/pay?order_no={order['order_no']}&token={order['token']}"
    assert shop.view_ok(order)["qr"] == order["qr"]
    svg = shop.srv.get(f"/api/orders/{order['order_no']}/qr.svg?token={order['token']}", use_cookies=False)
    assert svg.status == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "no-store" in svg.headers["cache-control"]
    text = svg.body.decode()
    assert text.startswith("<svg") and text.count("<path") == 1 and "</svg>" in text
    wrong = shop.srv.get(f"/api/orders/{order['order_no']}/qr.svg?token={'0' * 32}", use_cookies=False)
    assert wrong.status == 404

    # The fake's signed notify delivers once; a repeat is answered success and changes nothing.
    assert alipay.pay(order["order_no"]) == {"status": 200, "body": "success"}
    assert shop.status(order["order_no"]) == "delivered"
    view = shop.view_ok(order)
    assert len(view["keys"]) == 1 and "qr" not in view
    assert alipay.pay(order["order_no"]) == {"status": 200, "body": "success"}
    assert _sold(shop) == 1
    assert [e["outcome"] for e in shop.events(order["order_no"])] == ["delivered", "repeat"]
    pay = shop.rows("SELECT gateway, amount FROM payments")
    assert pay == [{"gateway": "alipay", "amount": 1990}]
    # Once paid there is no QR code to show any more.
    gone = shop.srv.get(f"/api/orders/{order['order_no']}/qr.svg?token={order['token']}", use_cookies=False)
    assert gone.status == 404


BAD_NOTIFIES = [
    ("forged signature", {"forge": True}),
    ("tampered amount", {"tamper": {"total_amount": "0.01"}}),
    ("tampered status", {"tamper": {"trade_status": "TRADE_SUCCESS", "out_trade_no": "x"}}),
    ("wrong app_id", {"overrides": {"app_id": "2021999999999999", "auth_app_id": "2021999999999999"}}),
    ("wrong amount", {"overrides": {"total_amount": "0.01"}}),
    ("waiting buyer", {"overrides": {"trade_status": "WAIT_BUYER_PAY"}}),
    ("closed", {"overrides": {"trade_status": "TRADE_CLOSED"}}),
    ("no signature", {"tamper": {"sign": ""}}),
    ("other sign_type", {"tamper": {"sign_type": "RSA"}}),
]


def test_bad_notifies_are_refused_and_change_nothing(make_server, alipay):
    shop = _shop(make_server, alipay)
    pid = shop.admin.product(price=500, keys=2)
    order = shop.order_ok(pid, 1, gateway="alipay")
    for what, kw in BAD_NOTIFIES:
        r = alipay.pay(order["order_no"], **kw)
        assert r == {"status": 200, "body": "fail"}, what
        assert shop.status(order["order_no"]) == "pending", what
    assert shop.value("SELECT count(*) FROM payments") == 0 and _sold(shop) == 0
    events = shop.events(order["order_no"]) + shop.events("x")
    assert len(events) == len(BAD_NOTIFIES)
    assert all(e["outcome"].startswith("rejected") for e in events), events
    # Only the wrong amount carried a good signature (it is refused against the order).
    assert sum(e["verified"] for e in events) == 1
    reasons = " ".join(e["outcome"] for e in events)
    assert "signature" in reasons and "app_id" in reasons and "amount" in reasons
    assert "trade_status" in reasons
    # An EPay-style GET of the same parameters is no better than a forged POST.
    r = shop.srv.get("/pay/alipay/notify?out_trade_no=" + order["order_no"], use_cookies=False)
    assert r.body == b"fail"
    # The genuine notify still works afterwards.
    assert alipay.pay(order["order_no"])["body"] == "success"
    assert shop.status(order["order_no"]) == "delivered" and _sold(shop) == 1


def test_lost_notify_is_found_by_trade_query(make_server, alipay):
    """PKCS#8 merchant key and a PEM Alipay key work as well as PKCS#1 and bare base64."""
    shop = _shop(make_server, alipay, shop={"order_ttl": 2}, private_key_file=alipay.merchant_private_pkcs8,
                 alipay_public_key_file=alipay.alipay_public_pem)
    pid = shop.admin.product(price=450, keys=3)
    paid = shop.order_ok(pid, 2, gateway="alipay")
    unpaid = shop.order_ok(pid, 1, gateway="alipay")
    assert alipay.pay(paid["order_no"], send=False) == {"withheld": True}
    shop.wait_status(paid["order_no"], "delivered", timeout=15)
    shop.wait_status(unpaid["order_no"], "expired", timeout=15)
    queries = [r for r in alipay.requests() if r["method"] == "alipay.trade.query"]
    assert queries and all(q["signature_ok"] for q in queries)
    ev = shop.events(paid["order_no"])
    assert ev[-1]["client_ip"] == "reconcile" and ev[-1]["outcome"] == "delivered"
    assert _sold(shop) == 2 and shop.stock(pid) == 1
    # The notify that arrives after all is a repeat.
    assert alipay.pay(paid["order_no"])["body"] == "success"
    assert _sold(shop) == 2


@pytest.mark.parametrize("mode", ["fail", "refuse", "bad_sign"])
def test_gateway_down_at_create(make_server, alipay, mode):
    shop = _shop(make_server, alipay)
    pid = shop.admin.product(price=450, keys=2)
    alipay.mode(mode)
    r = shop.order(pid, 2, gateway="alipay")
    assert r.status == 503 and error_of(r)["code"] == "gateway_unavailable", r
    assert "retry-after" in r.headers
    assert shop.stock(pid) == 2
    assert shop.value("SELECT status FROM orders") == "expired"
    alipay.mode("ok")
    assert shop.order_ok(pid, 2, gateway="alipay")["qr"]


def test_alipay_without_keys_takes_no_orders(make_server, alipay, tmp_path):
    missing = str(tmp_path / "nope.pem")
    shop = _shop(make_server, alipay, private_key_file=missing)
    pid = shop.admin.product(price=450, keys=1)
    r = shop.order(pid, gateway="alipay")
    assert r.status == 400 and "gateway" in error_of(r)["message"]
    assert alipay.requests() == [] and shop.stock(pid) == 1


def test_slow_gateway_is_waited_for_within_the_timeout(make_server, alipay):
    shop = _shop(make_server, alipay)
    pid = shop.admin.product(price=450, keys=1)
    alipay.mode("slow", delay_ms=1500)
    order = shop.order_ok(pid, gateway="alipay")
    assert order["qr"].startswith("https://qr.alipay.com/")


def test_alipay_takes_cny_only(make_server, alipay):
    """An amount in another currency is never sent as yuan: Alipay is not offered in a dollar
    shop and its order is refused up front (400 naming the gateway)."""
    shop = _shop(make_server, alipay, shop={"currency": "USD"})
    pid = shop.admin.product(price=450, keys=1)
    assert "alipay" not in shop.srv.get("/api/config", use_cookies=False).json()["gateways"]
    r = shop.order(pid, gateway="alipay")
    assert r.status == 400 and error_of(r)["code"] == "invalid_request"
    assert alipay.requests() == [] and shop.stock(pid) == 1
