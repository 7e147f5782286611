"""Gateway hygiene: a yuan-only gateway never charges another currency."""

from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import error_of, start_shop


def _config(shop):
    return shop.srv.get("/api/config", use_cookies=False).json()


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

