"""Gateway hygiene: a yuan-only gateway never charges another currency, the buyer's return
lands on his order whatever became of the gateway, and the order-rate gauge counts each order
once."""

import re
import urllib.parse

import harness

from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import error_of, start_shop


def _config(shop):
    return shop.srv.get("/api/config", use_cookies=False).json()


def _patch(shop, body):
    r = shop.admin.call("PATCH", "/api/admin/settings", json=body)
    assert r.status == 200, r
    return r


def _epay_state(shop):
    r = shop.admin.call("GET", "/api/admin/gateways")
    assert r.status == 200, r
    return {g["gateway"]: g for g in r.json()["gateways"]}["epay"]


def test_epay_takes_cny_only(make_server, epay):  # noqa: F811
    """易支付's money is yuan: in a dollar shop EPay is not offered, an order for it is refused
    up front (400 naming the gateway, nothing reserved), and the breaker is not told."""
    shop = start_shop(make_server, epay=epay, sandbox=True, shop={"currency": "USD"})
    pid = shop.admin.product(price=1288, keys=2)
    cfg = _config(shop)
    assert cfg["gateways"] == ["sandbox"] and "epay" not in cfg["channels"]
    for _ in range(4):
        r = shop.order(pid, gateway="epay")
        assert r.status == 400 and error_of(r)["code"] == "invalid_request", r
        assert "gateway" in error_of(r)["message"] and "CNY" in error_of(r)["message"]
    assert shop.value("SELECT count(*) FROM orders") == 0 and shop.stock(pid) == 2
    assert epay.submissions == []
    assert _epay_state(shop)["state"] == "up" and _epay_state(shop)["failures"] == 0
    assert shop.order(pid, gateway="sandbox").status == 201  # the shop still sells


def test_epay_refuses_a_product_priced_before_the_shop_went_cny(make_server, epay):  # noqa: F811
    """A product kept from a dollar shop is not charged as that many yuan once the shop is in
    CNY: its order is refused at create, its key back on sale, no failure for the breaker."""
    shop = start_shop(make_server, epay=epay, shop={"currency": "USD"})
    usd = shop.admin.product(price=500, keys=1)
    shop.srv.stop()
    shop.srv.extra_config["shop"]["currency"] = "CNY"
    shop.srv.start()
    assert "epay" in _config(shop)["gateways"]
    for _ in range(4):  # more than breaker_failures (3)
        r = shop.order(usd, gateway="epay")
        assert r.status == 503 and error_of(r)["code"] == "gateway_unavailable", r
    assert shop.stock(usd) == 1 and epay.submissions == []
    assert _epay_state(shop)["state"] == "up" and _epay_state(shop)["failures"] == 0
    assert "epay" in _config(shop)["gateways"]
    cny = shop.admin.product(price=500, keys=1)
    order = shop.order_ok(cny, gateway="epay")
    assert shop.pay(order) == "success"


def _return(shop, gateway, params):
    path = f"/pay/{gateway}/return?" + urllib.parse.urlencode(params)
    r = shop.srv.request("GET", path, use_cookies=False)
    assert r.status == 303, r
    return r.headers["location"]


def test_return_of_a_gateway_switched_off_meanwhile_lands_on_the_order(make_server, epay):  # noqa: F811
    """The buyer went to pay, the merchant switched EPay off: coming back he
    still lands on his order page (with the token when EPay signed the return), and the
    return's parameters never move the order."""
    shop = start_shop(make_server, extra={"payment.epay": {"api_url": epay.url, "pid": epay.pid, "key": epay.key}})
    shop.epay = epay
    _patch(shop, {"payment.epay.enabled": True})
    pid = shop.admin.product(price=700, keys=2)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    _patch(shop, {"payment.epay.enabled": False})
    assert shop.srv.get("/api/config", use_cookies=False).json()["gateways"] == []
    no = o["order_no"]
    signed = _return(shop, "epay", epay.notify_params(no))
    assert signed == f"/shop/order?order_no={no}&token={o['token']}"
    assert _return(shop, "epay", {"out_trade_no": no}) == f"/shop/order?order_no={no}"
    forged = _return(shop, "epay", epay.notify_params(no, sign_value="0" * 32))
    assert forged == f"/shop/order?order_no={no}"
    assert shop.status(no) == "pending"
    # The sandbox (off here) signs nothing a return could show: no token, but the page.
    assert _return(shop, "sandbox", {"order_no": no}) == f"/shop/order?order_no={no}"
    assert shop.srv.request("GET", "/pay/nosuch/return?x=1", use_cookies=False).status == 404
    # The money that does arrive is still applied (the notify of a switched-off gateway).
    assert shop.pay(o) == "success" and shop.status(no) == "delivered"


def _pressure_events(shop, route="orders"):
    text = shop.srv.get("/metrics", use_cookies=False).text
    m = re.search(rf'^cardshop_challenge_pressure_events_total{{route="{route}"}} (\d+)$', text, re.M)
    assert m, text
    assert re.search(rf'^cardshop_challenge_pressure{{route="{route}"}} \d+$', text, re.M), text
    return int(m.group(1))


def _challenge(r):
    assert r.status == 428, r
    return r.json()["challenge"]["token"], r.json()["challenge"]["difficulty"]


def test_order_rate_counts_a_428_and_its_solved_retry_once(make_server, epay):  # noqa: F811
    """The order rate that sets the proof-of-work counts each order once: the attempt answered
    428 counts, its solved retry does not; a flood of unsolved attempts still counts each one,
    so the difficulty rises with it."""
    shop = start_shop(make_server, epay=epay, extra={"security": {
        "challenge_orders_per_minute": 0, "challenge_difficulty": 4}})
    pid = shop.admin.product(price=100, keys=5)
    before = _pressure_events(shop)
    token, bits = _challenge(shop.order(pid))
    r = shop.order(pid, headers={"X-Challenge": harness.solve_challenge(token, bits)})
    assert r.status == 201, r
    assert _pressure_events(shop) == before + 1
    # A spent solution replayed is a new attempt: counted, and asked again.
    _challenge(shop.order(pid, headers={"X-Challenge": harness.solve_challenge(token, bits)}))
    assert _pressure_events(shop) == before + 2
    # A flood that never solves: each attempt counts and the difficulty climbs past the base.
    levels = [_challenge(shop.order(pid))[1] for _ in range(40)]
    assert _pressure_events(shop) == before + 42
    assert levels[-1] > 4 and levels[-1] >= levels[0], levels
    assert shop.value("SELECT count(*) FROM orders") == 1
