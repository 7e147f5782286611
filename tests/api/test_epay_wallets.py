"""EPay wallets: `[payment.epay] types` are offered at checkout (GET /api/config "channels"),
the order's "channel" (default: the first) goes to EPay as the signed `type`, and a channel the
gateway does not offer is refused with 400 naming it, nothing reserved."""

import urllib.parse

from fakes.fixtures import epay  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import error_of, start_shop


def _submitted_type(epay, order):  # noqa: F811
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(order["pay_url"]).query, keep_blank_values=True))
    return params.get("type")


def test_wallets_are_offered_and_sent_as_type(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sandbox=True,
                      extra={"payment.epay": {"types": " alipay, wxpay ,qqpay"}})
    cfg = shop.srv.get("/api/config").json()
    assert cfg["channels"] == {"epay": ["alipay", "wxpay", "qqpay"]}
    assert cfg["gateways"] == ["epay", "sandbox"]
    pid = shop.admin.product(price=990, keys=5)

    first = shop.order_ok(pid)  # no channel: the first wallet
    assert _submitted_type(epay, first) == "alipay"
    shop.open_pay_url(first)  # the fake checks the signature, type included
    assert epay.submissions[-1].ok and epay.submissions[-1].get("type") == "alipay"

    wx = shop.order_ok(pid, channel="wxpay")
    assert _submitted_type(epay, wx) == "wxpay"
    assert shop.pay(wx) == "success"
    shop.wait_status(wx["order_no"], "delivered")
    assert epay.order(wx["order_no"]).type == "wxpay"

    stock = shop.stock(pid)
    for bad in ("tenpay", "ALIPAY", "wxpay,alipay"):
        r = shop.order(pid, channel=bad)
        assert r.status == 400, (bad, r)
        err = error_of(r)
        assert err["code"] == "invalid_request" and err["message"].startswith("channel")
    r = shop.order(pid, gateway="sandbox", channel="alipay")  # the sandbox has no wallets
    assert r.status == 400 and error_of(r)["message"].startswith("channel")
    r = shop.order(pid, channel=7)
    assert r.status == 400 and "channel" in error_of(r)["message"]
    assert shop.stock(pid) == stock
    assert shop.order(pid, gateway="sandbox").status == 201


def test_no_types_sends_no_type(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    assert shop.srv.get("/api/config").json()["channels"] == {}
    pid = shop.admin.product(price=990, keys=2)
    o = shop.order_ok(pid)
    assert _submitted_type(epay, o) is None
    shop.open_pay_url(o)
    r = shop.order(pid, channel="alipay")
    assert r.status == 400 and error_of(r)["message"].startswith("channel")
