"""WeChat Pay API v3 Native against a loopback fake that signs, checks and encrypts with the
official wechatpay-axios-plugin SDK: the signed Native order → code_url as an SVG QR code →
the signed, AES-256-GCM encrypted notify delivers exactly once; forged, stale, wrong-serial,
bad-tag, wrong-merchant, wrong-amount and wrong-currency notifies are refused and change
nothing; a withheld notify is found by the out-trade-no query."""

import json
import re

import pytest

from fakes.fake_qr import FakeWeChat, node_available
from fakes.shop_setup import error_of, start_shop

pytestmark = pytest.mark.skipif(node_available() is not None, reason=str(node_available()))


@pytest.fixture
def wechat(tmp_path):
    gw = FakeWeChat(tmp_path).start()
    yield gw
    gw.stop()


def _shop(make_server, gw, shop=None, **over):
    return start_shop(make_server, shop=shop, extra={"payment.wechat": gw.shop_config(**over)})


def _sold(shop):
    return shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'")


def test_purchase_through_wechat(make_server, wechat):
    shop = _shop(make_server, wechat)
    assert "wechat" in shop.srv.get("/api/config").json()["gateways"]
    pid = shop.admin.product(name="季卡 Netflix", price=2500, keys=3)
    order = shop.order_ok(pid, 2, gateway="wechat")

    [req] = wechat.requests()
    assert req["signature_ok"] is True, req  # checked by the SDK with our public key
    assert req["method"] == "POST" and req["uri"] == "/v3/pay/transactions/native"
    assert req["auth"]["mchid"] == wechat.mchid and req["auth"]["serial_no"] == wechat.serial_no
    body = json.loads(req["body"])
    assert body["appid"] == wechat.appid and body["mchid"] == wechat.mchid
    assert body["out_trade_no"] == order["order_no"]
    assert body["amount"] == {"total": 5000, "currency": "CNY"}
    assert body["description"] == "季卡 Netflix"
    assert body["notify_url"] == shop.srv.base_url + "/pay/wechat/notify"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", body["time_expire"])

    assert order["qr"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert order["pay_url"].startswith("/shop/pay?order_no=" + order["order_no"])
    assert shop.view_ok(order)["qr"] == order["qr"]
    svg = shop.srv.get(f"/api/orders/{order['order_no']}/qr.svg?token={order['token']}", use_cookies=False)
    assert svg.status == 200 and svg.body.startswith(b"<svg")

    assert wechat.pay(order["order_no"]) == {"status": 204, "body": ""}
    assert shop.status(order["order_no"]) == "delivered"
    assert len(shop.view_ok(order)["keys"]) == 2
    # WeChat repeats a notify until it is acknowledged: a repeat is acknowledged, no more keys.
    assert wechat.pay(order["order_no"])["status"] == 204
    assert _sold(shop) == 2
    assert [e["outcome"] for e in shop.events(order["order_no"])] == ["delivered", "repeat"]
    assert shop.rows("SELECT gateway, amount FROM payments") == [{"gateway": "wechat", "amount": 5000}]


BAD_NOTIFIES = [
    ("forged signature", {"forge": True}),
    ("tampered body", {"tamper_body": True}),
    ("stale timestamp", {"ts_offset": -301}),
    ("future timestamp", {"ts_offset": 301}),
    ("wrong serial", {"serial": "PUB_KEY_ID_0000000000000000"}),
    ("bad GCM tag", {"bad_tag": True}),
    ("wrong mchid", {"overrides": {"mchid": "1900000999"}}),
    ("wrong appid", {"overrides": {"appid": "wx0000000000000000"}}),
    ("wrong amount", {"overrides": {"amount": {"total": 1}}}),
    ("wrong currency", {"overrides": {"amount": {"currency": "USD"}}}),
    ("not paid", {"overrides": {"trade_state": "NOTPAY"}}),
]


def test_bad_notifies_are_refused_and_change_nothing(make_server, wechat):
    shop = _shop(make_server, wechat)
    pid = shop.admin.product(price=800, keys=2)
    order = shop.order_ok(pid, 1, gateway="wechat")
    for what, kw in BAD_NOTIFIES:
        r = wechat.pay(order["order_no"], **kw)
        assert r["status"] == 500, (what, r)
        assert json.loads(r["body"])["code"] == "FAIL", what
        assert shop.status(order["order_no"]) == "pending", what
    assert shop.value("SELECT count(*) FROM payments") == 0 and _sold(shop) == 0
    events = shop.events()
    assert len(events) == len(BAD_NOTIFIES)
    assert all(e["outcome"].startswith("rejected") for e in events), events
    reasons = " ".join(e["outcome"] for e in events)
    for word in ("signature", "timestamp", "decrypt", "mchid", "appid", "amount", "currency",
                 "trade_state"):
        assert word in reasons, (word, reasons)
    assert wechat.pay(order["order_no"])["status"] == 204
    assert shop.status(order["order_no"]) == "delivered" and _sold(shop) == 1


def test_lost_notify_is_found_by_query(make_server, wechat):
    shop = _shop(make_server, wechat, shop={"order_ttl": 2})
    pid = shop.admin.product(price=450, keys=3)
    paid = shop.order_ok(pid, 2, gateway="wechat")
    unpaid = shop.order_ok(pid, 1, gateway="wechat")
    assert wechat.pay(paid["order_no"], send=False) == {"withheld": True}
    shop.wait_status(paid["order_no"], "delivered", timeout=15)
    shop.wait_status(unpaid["order_no"], "expired", timeout=15)
    queries = [r for r in wechat.requests() if r["method"] == "GET"]
    assert queries and all(q["signature_ok"] for q in queries)
    assert any(q["uri"] == f"/v3/pay/transactions/out-trade-no/{paid['order_no']}?mchid={wechat.mchid}"
               for q in queries)
    ev = shop.events(paid["order_no"])
    assert ev[-1]["client_ip"] == "reconcile" and ev[-1]["outcome"] == "delivered"
    assert _sold(shop) == 2 and shop.stock(pid) == 1


@pytest.mark.parametrize("mode", ["fail", "refuse", "bad_sign"])
def test_gateway_down_at_create(make_server, wechat, mode):
    shop = _shop(make_server, wechat)
    pid = shop.admin.product(price=450, keys=2)
    wechat.mode(mode)
    r = shop.order(pid, 2, gateway="wechat")
    assert r.status == 503 and error_of(r)["code"] == "gateway_unavailable", r
    assert shop.stock(pid) == 2
    wechat.mode("ok")
    assert shop.order_ok(pid, 2, gateway="wechat")["qr"].startswith("weixin://")


def test_wrong_platform_serial_in_config_takes_no_answers(make_server, wechat):
    """Answers signed by a key we were not told about are not trusted, even if valid."""
    shop = _shop(make_server, wechat, platform_serial="PUB_KEY_ID_SOMETHING_ELSE")
    pid = shop.admin.product(price=450, keys=1)
    r = shop.order(pid, gateway="wechat")
    assert r.status == 503 and shop.stock(pid) == 1
